package org.chatloop.bench.peers;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Models the least a Java server can do to fan bytes out: a bare {@code java.nio} selector loop on
 * one thread with no chat logic and no prefix. Each loop pass reads whatever is readable from every
 * ready socket into one direct buffer (at most 256 KiB; a socket not drained stays ready for the
 * next pass), then writes that batch once to every connected socket, all sharing the same bytes
 * through {@link ByteBuffer#duplicate()}: one {@code write} syscall per socket per pass. A short
 * write leaves the rest in the socket's own pending buffer, drained on {@code OP_WRITE} ahead of
 * later batches, so every client receives the exact same byte stream, in order. Lines stay whole
 * for a reader that splits on {@code \n} as long as one client sends at a time.
 */
public final class FloorServer implements PeerServer {
    static final int BATCH_BYTES = 256 * 1024;
    private static final int MIN_PENDING_BYTES = 64 * 1024;

    private final Selector selector;
    private final ServerSocketChannel listener;
    private final int port;
    private final Thread thread;
    private volatile boolean running = true;

    // Owned by the loop thread.
    private final ByteBuffer batch = ByteBuffer.allocateDirect(BATCH_BYTES);
    private final List<Conn> conns = new ArrayList<>();
    private final List<Conn> writable = new ArrayList<>();
    private boolean anyClosed;

    private FloorServer(Selector selector, ServerSocketChannel listener) throws IOException {
        this.selector = selector;
        this.listener = listener;
        this.port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
        this.thread = new Thread(this::run, "peer-floor-" + port);
        thread.setDaemon(true);
    }

    /**
     * Binds 127.0.0.1 on a free port (backlog 1024) and returns once listening.
     *
     * @return the running server
     * @throws IOException if binding fails
     */
    public static FloorServer start() throws IOException {
        Selector selector = Selector.open();
        ServerSocketChannel ch = null;
        try {
            ch = ServerSocketChannel.open();
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.bind(new InetSocketAddress(PeerSupport.loopback(), 0), PeerSupport.BACKLOG);
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_ACCEPT); // no attachment marks the listener
            FloorServer server = new FloorServer(selector, ch);
            server.thread.start();
            return server;
        } catch (IOException | RuntimeException e) {
            if (ch != null) {
                ch.close();
            }
            selector.close();
            throw e;
        }
    }

    @Override
    public int port() {
        return port;
    }

    /** @return whether {@code threadName} is the loop's thread ({@code peer-floor-PORT}) */
    @Override
    public boolean isServerThread(String threadName) {
        return thread.getName().equals(threadName);
    }

    /** Stops the loop, which closes every socket, and waits up to 2 s for its thread. */
    @Override
    public void close() {
        running = false;
        selector.wakeup();
        if (Thread.currentThread() != thread) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "FloorServer[port=" + port + "]";
    }

    private void run() {
        try {
            while (running) {
                batch.clear();
                selector.select(this::onReady);
                if (!running) {
                    break;
                }
                batch.flip();
                relay();
                if (anyClosed) {
                    anyClosed = false;
                    conns.removeIf(c -> c.closed);
                }
            }
        } catch (IOException | RuntimeException e) {
            System.getLogger(FloorServer.class.getName())
                    .log(System.Logger.Level.WARNING, "floor loop failed", e);
        } finally {
            for (Conn c : conns) {
                c.close();
            }
            conns.clear();
            closeQuietly(listener);
            closeQuietly(selector);
        }
    }

    private void onReady(SelectionKey key) {
        if (!key.isValid()) {
            return;
        }
        Conn c = (Conn) key.attachment();
        if (c == null) {
            accept();
            return;
        }
        try {
            if (key.isWritable()) {
                c.writableNow = true;
                writable.add(c); // drained once, after the reads of this pass
            }
            if (key.isReadable() && batch.hasRemaining() && !c.readInto(batch)) {
                kill(c); // EOF
            }
        } catch (IOException e) {
            kill(c);
        }
    }

    private void accept() {
        while (true) {
            SocketChannel ch = null;
            try {
                ch = listener.accept();
                if (ch == null) {
                    return;
                }
                ch.configureBlocking(false);
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                Conn c = new Conn(ch);
                c.key = ch.register(selector, SelectionKey.OP_READ, c);
                conns.add(c);
            } catch (IOException e) {
                if (ch != null) {
                    closeQuietly(ch);
                }
                return; // e.g. too many open files; retried when the listener is ready again
            }
        }
    }

    /** Sends this pass's batch to everyone (or only drains pending output if nothing was read). */
    private void relay() {
        if (batch.hasRemaining()) {
            for (Conn c : conns) {
                if (!c.closed) {
                    try {
                        c.send(batch);
                    } catch (IOException e) {
                        kill(c);
                    }
                }
            }
        } else {
            for (Conn c : writable) {
                if (!c.closed) {
                    try {
                        c.writePending();
                    } catch (IOException e) {
                        kill(c);
                    }
                }
            }
        }
        for (Conn c : writable) {
            c.writableNow = false;
        }
        writable.clear();
    }

    private void kill(Conn c) {
        c.close();
        anyClosed = true;
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // nothing to do
        }
    }

    /** One client: its channel and the bytes it still has to receive, in order. */
    static final class Conn {
        final SocketChannel ch;
        SelectionKey key;
        /** Unsent bytes between position and limit; null or empty when caught up. */
        ByteBuffer pending;
        boolean writableNow;
        boolean closed;

        Conn(SocketChannel ch) {
            this.ch = ch;
        }

        /** @return false on EOF */
        boolean readInto(ByteBuffer batch) throws IOException {
            while (batch.hasRemaining()) {
                int room = batch.remaining();
                int n = ch.read(batch);
                if (n < 0) {
                    return false;
                }
                if (n < room) {
                    break; // drained (or nothing there): no extra read just to see 0
                }
            }
            return true;
        }

        /** Exactly one write: the batch itself if caught up, else pending output with it appended. */
        void send(ByteBuffer batch) throws IOException {
            if (pending == null || !pending.hasRemaining()) {
                ByteBuffer view = batch.duplicate();
                ch.write(view);
                if (view.hasRemaining()) {
                    append(view);
                    key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
                }
            } else {
                append(batch.duplicate());
                if (writableNow) {
                    writePending();
                }
            }
        }

        void writePending() throws IOException {
            if (pending == null || !pending.hasRemaining()) {
                key.interestOps(SelectionKey.OP_READ);
                return;
            }
            ch.write(pending);
            if (!pending.hasRemaining()) {
                key.interestOps(SelectionKey.OP_READ);
                if (pending.capacity() > BATCH_BYTES) {
                    pending = null; // give a big backlog buffer back
                } else {
                    pending.clear().limit(0);
                }
            }
        }

        private void append(ByteBuffer src) {
            int n = src.remaining();
            if (pending == null) {
                pending = ByteBuffer.allocateDirect(Math.max(MIN_PENDING_BYTES, n));
                pending.limit(0);
            }
            if (pending.capacity() - pending.limit() < n) {
                int unsent = pending.remaining();
                if (pending.capacity() - unsent >= n) {
                    pending.compact().flip();
                } else {
                    ByteBuffer bigger = ByteBuffer.allocateDirect(
                            Math.max(pending.capacity() * 2, unsent + n));
                    bigger.put(pending).flip();
                    pending = bigger;
                }
            }
            int start = pending.position();
            pending.position(pending.limit()).limit(pending.capacity());
            pending.put(src);
            pending.limit(pending.position()).position(start);
        }

        void close() {
            if (!closed) {
                closed = true;
                if (key != null) {
                    key.cancel();
                }
                closeQuietly(ch);
            }
        }
    }
}
