package org.chatloop.tcp;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.chatloop.loop.EventLoop;
import org.chatloop.loop.IoHandler;

/**
 * A non-blocking client of the line protocol: connect, send lines, receive lines through a
 * {@link Listener}, close. One client can run on a loop thread of its own ({@link #connect}) or
 * many on one shared {@link EventLoop} ({@link #open}), as the benchmarks' load generators do.
 * Given a {@link ClientTls}, it speaks TLS 1.3 or 1.2; it is connected once the handshake is done
 * (and the server's certificate, and name unless told otherwise, checked).
 *
 * <p><b>Threading.</b> The socket and buffers are owned by the loop thread. {@link #send},
 * {@link #close} and the futures are safe from any thread: sends are handed to the loop through
 * {@link EventLoop#execute}, and sends queued together go out in one write. The listener is called
 * on the loop thread.
 */
public final class TcpChatClient implements AutoCloseable {
    /** The longest line the client accepts from a server; longer lines are skipped. */
    static final int MAX_RECEIVED_LINE = 1 << 20;

    /** Receives what the server sends; called on the loop thread. */
    public interface Listener {
        /**
         * One line from the server, without its terminator. The bytes are valid only during the
         * call.
         */
        void onLine(byte[] buf, int off, int len);

        /**
         * The connection ended.
         *
         * @param cause null when it was closed in order (by either side), else the failure
         */
        default void onClosed(IOException cause) {
        }

        /**
         * @param lines receives each line as a string (UTF-8)
         * @return a listener that decodes lines to strings
         */
        static Listener ofStrings(Consumer<String> lines) {
            Objects.requireNonNull(lines, "lines");
            return (buf, off, len) -> lines.accept(new String(buf, off, len, StandardCharsets.UTF_8));
        }
    }

    private final EventLoop loop;
    private final boolean ownsLoop;
    private final Handler handler;
    private final CompletableFuture<Void> connected = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    private TcpChatClient(EventLoop loop, boolean ownsLoop, Listener listener, ClientTls tls) {
        this.loop = loop;
        this.ownsLoop = ownsLoop;
        this.handler = new Handler(Objects.requireNonNull(listener, "listener"), tls);
    }

    /**
     * Connects on a loop thread of the client's own and waits until the connection is up.
     *
     * @param server the server's address
     * @param listener receives lines
     * @return the connected client
     * @throws IOException if the connection cannot be made within 10 s
     */
    public static TcpChatClient connect(InetSocketAddress server, Listener listener)
            throws IOException {
        return connect(server, listener, null);
    }

    /**
     * Connects on a loop thread of the client's own, over TLS unless {@code tls} is null, and
     * waits until the connection is up (the handshake done).
     *
     * @param server the server's address; its host name is what the certificate must name
     * @param listener receives lines
     * @param tls how to speak TLS, or null for plain TCP
     * @return the connected client
     * @throws IOException if the connection cannot be made within 10 s, or the handshake fails
     *                     (for example {@link javax.net.ssl.SSLHandshakeException} for a server
     *                     certificate that is not trusted)
     */
    public static TcpChatClient connect(InetSocketAddress server, Listener listener,
                                        ClientTls tls) throws IOException {
        EventLoop loop = new EventLoop();
        TcpChatClient client = new TcpChatClient(loop, true, listener, tls);
        loop.start("chat-tcp-client");
        loop.execute(() -> client.handler.begin(server));
        try {
            client.connected.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            client.close();
            throw e.getCause() instanceof IOException io ? io
                    : new IOException("connect failed", e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            client.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("could not connect to " + server, e);
        }
        return client;
    }

    /**
     * Starts connecting on an existing loop and returns at once; {@link #connected()} completes
     * when the connection is up. Safe from any thread.
     *
     * @param loop the loop that will own the client
     * @param server the server's address
     * @param listener receives lines, on the loop thread
     * @return the client
     */
    public static TcpChatClient open(EventLoop loop, InetSocketAddress server, Listener listener) {
        return open(loop, server, listener, null);
    }

    /**
     * Like {@link #open(EventLoop, InetSocketAddress, Listener)}, over TLS unless {@code tls} is
     * null; {@link #connected()} completes once the handshake is done.
     *
     * @param loop the loop that will own the client
     * @param server the server's address
     * @param listener receives lines, on the loop thread
     * @param tls how to speak TLS, or null for plain TCP
     * @return the client
     */
    public static TcpChatClient open(EventLoop loop, InetSocketAddress server, Listener listener,
                                     ClientTls tls) {
        TcpChatClient client = new TcpChatClient(loop, false, listener, tls);
        loop.execute(() -> client.handler.begin(server));
        return client;
    }

    /** @return completes when the connection is up, or fails with why it could not be made */
    public CompletableFuture<Void> connected() {
        return connected;
    }

    /** @return completes when the connection has ended, for whatever reason */
    public CompletableFuture<Void> closed() {
        return closed;
    }

    /**
     * Sends one line; a {@code \n} is appended. Safe from any thread.
     *
     * @param line the text, which should not contain line breaks
     */
    public void send(String line) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        sendRaw(bytes);
    }

    /**
     * Sends bytes as they are (they should hold whole lines, each ending in {@code \n}). Safe from
     * any thread; the array must not change afterwards.
     *
     * @param bytes the bytes
     */
    public void sendRaw(byte[] bytes) {
        loop.execute(() -> handler.queue(bytes));
    }

    /**
     * Writes what is pending (for at most two seconds), then closes; for a client made by
     * {@link #connect}, also ends its loop thread. Safe from any thread; waits for the end unless
     * called on the loop thread. Idempotent.
     */
    @Override
    public void close() {
        loop.execute(handler::closeGracefully);
        if (!loop.inLoopThread()) {
            try {
                closed.get(5, TimeUnit.SECONDS);
                if (ownsLoop) {
                    loop.awaitTermination(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                // closed never fails; a timeout leaves the loop to finish on its own
            }
        }
    }

    /** The client's connection, owned by the loop thread. */
    private final class Handler implements IoHandler, StreamIo.End {
        private final Listener listener;
        private final ClientTls tls;
        private final LineDecoder decoder = new LineDecoder(MAX_RECEIVED_LINE);
        private final SlabPool pool = new SlabPool(64 * 1024, 4);
        private final OutboundQueue out = new OutboundQueue(pool);
        private final ByteBuffer readBuffer = ByteBuffer.allocate(64 * 1024);
        private final ByteBuffer[] scratch = new ByteBuffer[32];
        private SocketChannel channel;
        private Transport io;
        private SelectionKey key;
        private boolean flushQueued;
        private boolean closing;
        private boolean done;

        Handler(Listener listener, ClientTls tls) {
            this.listener = listener;
            this.tls = tls;
        }

        void begin(InetSocketAddress server) {
            try {
                channel = SocketChannel.open();
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                io = tls == null ? new PlainTransport(channel) : TlsTransport.client(channel,
                        tls.context(), server.getHostString(), server.getPort(),
                        tls.verifyHostName());
                if (channel.connect(server)) {
                    key = loop.register(channel, SelectionKey.OP_READ, this);
                    established();
                } else {
                    key = loop.register(channel, SelectionKey.OP_CONNECT, this);
                }
            } catch (IOException e) {
                connected.completeExceptionally(e);
                finish(e);
            }
        }

        @Override
        public void onReady(int readyOps) throws IOException {
            if ((readyOps & SelectionKey.OP_CONNECT) != 0) {
                channel.finishConnect();
                established();
                return;
            }
            if (!connected.isDone()) {
                established(); // the TLS handshake goes on
                return;
            }
            if ((readyOps & SelectionKey.OP_WRITE) != 0) {
                flush();
            }
            if ((readyOps & SelectionKey.OP_READ) != 0) {
                read();
            }
        }

        /** The TCP connection is up: over TLS, handshake first; then send what is queued. */
        private void established() throws IOException {
            if (!StreamIo.handshake(io, key)) {
                return;
            }
            connected.complete(null);
            flush(); // sets the interest: reading, and OP_WRITE while output waits
            if (io.buffersInput()) {
                read(); // records that arrived with the end of the handshake
            }
        }

        @Override
        public void onFailure(Exception cause) {
            connected.completeExceptionally(cause);
            finish(cause instanceof IOException io ? io : new IOException(cause));
        }

        private void read() throws IOException {
            for (int i = 0; i < StreamIo.READS_PER_EVENT && !done; i++) {
                int n = StreamIo.read(io, key, readBuffer, decoder, this);
                if (n == 0) {
                    return; // nothing more now, or the stream ended (see endOfStream)
                }
                decoder.feed(readBuffer.array(), 0, n, this);
            }
            if (!done && io.buffersInput()) {
                loop.execute(this::readBuffered); // TLS may hold records the selector cannot see
            }
        }

        private void readBuffered() {
            if (!done) {
                try {
                    read();
                } catch (IOException | RuntimeException e) {
                    onFailure(e);
                }
            }
        }

        /** The server ended the stream: the connection ended in order. */
        @Override
        public void endOfStream() {
            finish(null);
        }

        @Override
        public void onLine(byte[] buf, int off, int len) {
            listener.onLine(buf, off, len);
        }

        @Override
        public void onLineTooLong() {
            // a server line over 1 MiB: skipped
        }

        void queue(byte[] bytes) {
            if (done || closing) {
                return;
            }
            out.append(bytes, 0, bytes.length);
            if (!flushQueued) {
                flushQueued = true;
                loop.execute(this::flush); // after every send queued in this pass: one write
            }
        }

        /** Writes what is queued while the socket takes it; ends a closing client once done. */
        @Override
        public void flush() {
            flushQueued = false;
            if (done || !connected.isDone() || key == null) {
                return;
            }
            boolean drained;
            try {
                drained = StreamIo.write(out, io, io, scratch, Long.MAX_VALUE, Integer.MAX_VALUE);
            } catch (IOException e) {
                finish(e);
                return;
            }
            if (closing && drained) {
                finish(null);
                return;
            }
            StreamIo.interest(key, true, !drained);
        }

        void closeGracefully() {
            if (done || closing) {
                return;
            }
            closing = true;
            if (out.isEmpty() || !connected.isDone()) {
                finish(null);
                return;
            }
            flush();
            loop.schedule(2, TimeUnit.SECONDS, () -> finish(null));
        }

        /** The one place the client's resources are released. */
        void finish(IOException cause) {
            if (done) {
                return;
            }
            done = true;
            // Closing fails only on a socket that is going away anyway: nothing to report.
            StreamIo.release(key, io != null ? io : channel, out);
            connected.completeExceptionally(cause != null ? cause : new IOException("closed"));
            try {
                listener.onClosed(cause);
            } finally {
                closed.complete(null);
                if (ownsLoop) {
                    loop.stop();
                }
            }
        }
    }

    @Override
    public String toString() {
        return "TcpChatClient[" + (closed.isDone() ? "closed" : connected.isDone() ? "connected"
                : "connecting") + "]";
    }
}
