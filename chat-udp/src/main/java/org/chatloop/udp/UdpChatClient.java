package org.chatloop.udp;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.chatloop.core.Frame;
import org.chatloop.loop.EventLoop;
import org.chatloop.loop.LoopTimer;

/**
 * A UDP chat client on a loop thread of its own: it registers with the server by sending
 * {@code #ping#} at once, keeps the registration alive with a {@code #ping#} every heartbeat
 * interval, sends lines, and hands every datagram it receives, as one line without its
 * terminator, to a callback or to a {@link BlockingQueue}.
 *
 * <p><b>Address validation.</b> A server that validates addresses answers the first datagram
 * with {@code * verify TOKEN}; the client answers {@code #ping# TOKEN} by itself and does not
 * pass the challenge on. Lines sent before the server first answered are kept and, if the answer
 * was a challenge, sent again once the server has registered the client (the server dropped
 * them); lines sent while a challenge is being answered wait for the registration. A line sent
 * just as a registration lapsed (the server restarted, or the client was silent past its
 * timeout) can still be lost, as any datagram can.
 *
 * <p><b>Threading.</b> The client's loop thread owns the socket and runs the callback. Any thread
 * may call {@link #send} (it hands the line to the loop with {@code execute}) and {@link #close}.
 */
public final class UdpChatClient implements AutoCloseable {
    /** Lines kept by the queue of {@link #connect(InetSocketAddress, Duration)}; more are dropped. */
    static final int MAX_BUFFERED_LINES = 65_536;
    static final int MAX_QUEUED_DATAGRAMS = 1024;
    static final long MAX_QUEUED_BYTES = 1L << 20;
    static final int MAX_READS_PER_PASS = 256;
    static final long CLOSE_FLUSH_MILLIS = 250;
    static final long CLOSE_TIMEOUT_MILLIS = 5_000;

    private static final Logger LOG = System.getLogger(UdpChatClient.class.getName());
    private static final Frame PING = Frame.line("#ping#");

    private final EventLoop loop = new EventLoop();
    private final InetSocketAddress server;
    private final Consumer<String> onLine;
    private final BlockingQueue<String> lines;
    private final DatagramChannel channel;
    private final InetSocketAddress localAddress;
    private final SelectionKey key;
    private final DatagramSender sender;
    private final ByteBuffer in = ByteBuffer.allocateDirect(UdpServerOptions.MAX_DATAGRAM_BYTES + 1);
    private final byte[] inBytes = new byte[UdpServerOptions.MAX_DATAGRAM_BYTES + 1];
    private final LoopTimer heartbeat;
    private final Thread thread;
    private final CountDownLatch answeredOrUnreachable = new CountDownLatch(1);
    /** Whether the server has sent anything at all (a challenge too): read by other threads. */
    private volatile boolean heard;
    private volatile boolean unreachable;
    /** Lines the server may not have taken: sent before its first answer, or held meanwhile. */
    private final ArrayDeque<Frame> unconfirmed = new ArrayDeque<>();
    /** Whether the server has sent anything but a challenge yet. */
    private boolean answered;
    /** Whether a challenge was answered and the registration it makes is awaited. */
    private boolean verifying;

    private UdpChatClient(InetSocketAddress server, Duration heartbeatInterval,
                          Consumer<String> onLine, BlockingQueue<String> lines) throws IOException {
        this.server = server;
        this.onLine = onLine;
        this.lines = lines;
        DatagramChannel ch = DatagramChannel.open();
        try {
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.SO_RCVBUF, UdpChatServer.SOCKET_BUFFER_BYTES);
            ch.connect(server);
            this.channel = ch;
            this.localAddress = (InetSocketAddress) ch.getLocalAddress();
            this.key = loop.register(ch, SelectionKey.OP_READ, new DatagramEndpoint(
                    this::onWritable, this::onReadable, this::toString));
            this.sender = new DatagramSender(new ChannelWire(), MAX_QUEUED_DATAGRAMS,
                    MAX_QUEUED_BYTES);
            sender.send(PING, server);
            this.heartbeat = loop.scheduleRepeating(heartbeatInterval.toNanos(),
                    TimeUnit.NANOSECONDS, () -> sender.send(PING, server));
            loop.onClose(this::shutdown);
        } catch (IOException | RuntimeException e) {
            ch.close();
            loop.close();
            throw e;
        }
        this.thread = loop.start("chat-udp-client-" + localAddress.getPort());
    }

    /**
     * Registers with a server and delivers what it sends to a callback.
     *
     * @param server the server's address
     * @param heartbeatInterval how often to send {@code #ping#}; keep it well under the server's
     *                          heartbeat timeout
     * @param onLine gets every datagram received, as text without its trailing newline; runs on
     *               the client's loop thread, so it must return quickly
     * @return the client, registering already
     * @throws IOException if the socket cannot be opened
     */
    public static UdpChatClient connect(InetSocketAddress server, Duration heartbeatInterval,
                                        Consumer<String> onLine) throws IOException {
        return new UdpChatClient(checkServer(server), checkInterval(heartbeatInterval),
                Objects.requireNonNull(onLine, "onLine"), null);
    }

    /**
     * Registers with a server and keeps what it sends in {@link #lines()}.
     *
     * @param server the server's address
     * @param heartbeatInterval how often to send {@code #ping#}
     * @return the client, registering already
     * @throws IOException if the socket cannot be opened
     */
    public static UdpChatClient connect(InetSocketAddress server, Duration heartbeatInterval)
            throws IOException {
        BlockingQueue<String> queue = new LinkedBlockingQueue<>(MAX_BUFFERED_LINES);
        return new UdpChatClient(checkServer(server), checkInterval(heartbeatInterval),
                queue::offer, queue);
    }

    private static InetSocketAddress checkServer(InetSocketAddress server) {
        Objects.requireNonNull(server, "server");
        if (server.isUnresolved()) {
            throw new IllegalArgumentException("unresolved server address: " + server);
        }
        return server;
    }

    private static Duration checkInterval(Duration interval) {
        Objects.requireNonNull(interval, "heartbeatInterval");
        if (interval.toMillis() < 1) {
            throw new IllegalArgumentException("heartbeatInterval must be at least 1 ms: "
                    + interval);
        }
        return interval;
    }

    /**
     * Sends one line as one datagram (control characters removed, a newline appended). Safe from
     * any thread; ignored once the client is closed.
     *
     * @param line the line
     */
    public void send(String line) {
        Frame frame = Frame.line(Objects.requireNonNull(line, "line"));
        loop.execute(() -> sendLine(frame));
    }

    private void sendLine(Frame frame) {
        if (!verifying) {
            sender.send(frame, server);
        }
        if ((verifying || !answered) && unconfirmed.size() < MAX_QUEUED_DATAGRAMS) {
            unconfirmed.add(frame);
        }
    }

    /** Answers a challenge; the lines not yet taken wait for the registration. */
    private void onChallenge(String token) {
        sender.send(Frame.line("#ping# " + token), server);
        verifying = true;
    }

    /** The server answered something else than a challenge: it has registered the client. */
    private void onRegistered() {
        if (verifying) {
            verifying = false;
            for (Frame f : unconfirmed) {
                sender.send(f, server);
            }
        }
        unconfirmed.clear();
        answered = true;
    }

    /** @return the token of {@code * verify TOKEN}, or null if the line is not a challenge */
    static String challengeToken(String line) {
        String prefix = "* " + AddressValidator.CHALLENGE_PREFIX;
        if (!line.startsWith(prefix)) {
            return null;
        }
        String token = line.substring(prefix.length());
        byte[] ping = ("#ping# " + token).getBytes(StandardCharsets.US_ASCII);
        return Datagrams.pingTokenOffset(ping, ping.length) < 0 ? null : token;
    }

    /**
     * @return the received lines, in order, if the client was made without a callback (at most
     *         {@value #MAX_BUFFERED_LINES} kept; later ones are dropped until some are taken)
     * @throws IllegalStateException if the client delivers to a callback instead
     */
    public BlockingQueue<String> lines() {
        if (lines == null) {
            throw new IllegalStateException("this client delivers lines to a callback");
        }
        return lines;
    }

    /** @return the client's own address */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** @return the server's address */
    public InetSocketAddress serverAddress() {
        return server;
    }

    /**
     * Stops the heartbeat, sends what is still queued (briefly), closes the socket and ends the
     * loop thread, waiting for it a few seconds at most. Sends nothing itself: send
     * {@code /quit} first to leave at once rather than time out. Idempotent.
     */
    @Override
    public void close() {
        loop.stop();
        if (!loop.inLoopThread()) {
            try {
                thread.join(CLOSE_TIMEOUT_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void shutdown() {
        heartbeat.cancel();
        sender.flush(TimeUnit.MILLISECONDS.toNanos(CLOSE_FLUSH_MILLIS));
    }

    private void onReadable() {
        for (int n = 0; n < MAX_READS_PER_PASS; n++) {
            in.clear();
            int size;
            try {
                size = channel.read(in);
            } catch (PortUnreachableException e) {
                portUnreachable();
                continue;
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.log(Level.WARNING, "receive failed", e);
                return;
            }
            if (size <= 0) {
                return;
            }
            if (!heard) {
                heard = true;
                answeredOrUnreachable.countDown();
            }
            in.flip();
            in.get(inBytes, 0, size);
            String line = new String(inBytes, 0, Datagrams.stripTerminator(inBytes, size),
                    StandardCharsets.UTF_8);
            String token = challengeToken(line);
            if (token != null) {
                onChallenge(token);
                continue;
            }
            if (!answered || verifying) {
                onRegistered();
            }
            try {
                onLine.accept(line);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "line callback failed", e);
            }
        }
    }

    /**
     * The host said no process listens on the server's port (ICMP port unreachable, reported on
     * the next receive or send of the connected socket). Noted once, quietly: the caller decides
     * what to tell the user ({@link #serverUnreachable()}); the heartbeat keeps trying, in case
     * the server is starting.
     */
    private void portUnreachable() {
        if (!unreachable) {
            LOG.log(Level.DEBUG, "server {0} unreachable", server);
        }
        unreachable = true;
        answeredOrUnreachable.countDown();
    }

    /**
     * Waits until the server has sent anything (its {@code * welcome} to the first
     * {@code #ping#}), the host reports that nothing listens on its port, or the time is up.
     *
     * @param timeout how long to wait at most
     * @return whether the server has answered
     * @throws InterruptedException if interrupted while waiting
     */
    public boolean awaitAnswer(Duration timeout) throws InterruptedException {
        answeredOrUnreachable.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        return heard;
    }

    /**
     * @return whether the host reported, since the client started, that nothing listens on the
     *         server's port (ICMP port unreachable; loopback and most LANs report it)
     */
    public boolean serverUnreachable() {
        return unreachable;
    }

    private final class ChannelWire implements DatagramSender.Wire {
        @Override
        public int send(ByteBuffer datagram, SocketAddress target) throws IOException {
            try {
                return channel.write(datagram);
            } catch (PortUnreachableException e) {
                // An earlier datagram's ICMP answer, reported here: not this datagram's failure.
                portUnreachable();
                datagram.position(datagram.limit());
                return 1;
            }
        }

        @Override
        public void writeInterest(boolean on) {
            if (key.isValid()) {
                key.interestOps(on ? SelectionKey.OP_READ | SelectionKey.OP_WRITE
                        : SelectionKey.OP_READ);
            }
        }
    }

    @Override
    public String toString() {
        return "UdpChatClient[" + Datagrams.addressText(localAddress) + " -> "
                + Datagrams.addressText(server) + ", " + sender + "]";
    }

    /** The socket can take more: send what is queued. */
    private void onWritable() {
        sender.onWritable();
    }
}
