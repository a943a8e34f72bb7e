package org.chatloop.tcp;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.chatloop.core.Addresses;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Frame;
import org.chatloop.core.HubOptions;
import org.chatloop.core.LeaveReason;
import org.chatloop.loop.EventLoop;
import org.chatloop.loop.IoHandler;
import org.chatloop.loop.LoopTimer;

/**
 * The TCP line-chat server: one {@link EventLoop} thread serves the listening socket and every
 * connection, and a {@link ChatHub} holds the rooms. Lines end in {@code \n} ({@code \r\n} is
 * accepted), so {@code nc} and {@code telnet} work as clients.
 *
 * <pre>{@code
 * try (TcpChatServer server = TcpChatServer.start(TcpServerOptions.defaults().withPort(0))) {
 *     System.out.println("port " + server.port());
 *     ...
 * } // close() = stop(): tells everyone, flushes, closes
 * }</pre>
 *
 * <p><b>Output.</b> A broadcast only copies the shared, already-encoded frame into each
 * recipient's pending output (pooled direct buffers) and marks it dirty; once per loop pass, after
 * all reads, each dirty connection is flushed with one (gathering) write, capped at 128 KiB per pass.
 * {@code OP_WRITE} is set only while output remains. A connection whose pending output passes
 * {@link TcpServerOptions#maxPendingBytes()} is disconnected after the pass ("too slow"), so memory
 * stays bounded and everyone who keeps up gets every message in order.
 *
 * <p><b>TLS.</b> With {@link TcpServerOptions#tls()} set, every connection speaks TLS 1.3 or 1.2
 * on the same loop thread (tls-channel drives the {@code SSLEngine}; handshake tasks run inline).
 * Everything above holds unchanged: pending output is counted in plaintext before encryption, and
 * a flush hands all of a connection's queued lines to the engine in one gathering write, which it
 * seals into records of up to 16 KiB each. A client joins the lobby once its handshake is done;
 * one that fails it (a plaintext client, garbage) or takes longer than
 * {@link TcpServerOptions#handshakeTimeout()} is closed.
 *
 * <p><b>WebSocket.</b> A server made by {@link #startWebSocket} or {@link #attachWebSocket} speaks
 * HTTP/1.1 and WebSocket (RFC 6455) instead of lines, over the same connections, buffers, bounds
 * and close path: {@code GET /} serves the chat page, {@code GET /ws} upgrades, and each text
 * message is one chat line each way. A room message is framed once, as a WebSocket text frame
 * placed in a slab of its own pool, and the same bytes go to every WebSocket recipient. A request
 * head must arrive within {@link TcpServerOptions#handshakeTimeout()} (after the TLS handshake,
 * if any: then it is WSS and HTTPS).
 *
 * <p><b>Threading.</b> Everything the server touches (sockets, hub, buffers) is owned by the loop
 * thread, without locks. {@link #port()}, {@link #localAddress()}, {@link #connectionCount()} and
 * {@link #stop()} may be called from any thread: they hand work to the loop through
 * {@link EventLoop#execute} (one queue, one wakeup) or read values fixed at start.
 */
public final class TcpChatServer implements AutoCloseable {
    private static final Logger LOG = System.getLogger(TcpChatServer.class.getName());
    private static final Frame SERVER_FULL = Frame.error("server full");
    private static final Frame SHUTTING_DOWN = Frame.notice("server shutting down");
    private static final Frame TOO_MANY_FROM_ADDRESS =
            Frame.error("too many connections from your address");
    private static final byte[] HTTP_SERVER_FULL = HttpResponses.error(503, "server full");
    private static final byte[] HTTP_TOO_MANY_FROM_ADDRESS =
            HttpResponses.error(503, "too many connections from your address");
    private static final int MAX_ACCEPTS_PER_PASS = 256;
    /** Slabs of pending output in use at most (64 MiB) before the furthest-behind are dropped. */
    static final int MAX_LIVE_SLABS = 256;
    private static final int SLAB_BYTES = 256 * 1024;
    private static final long MIN_ACCEPT_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long MAX_ACCEPT_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);

    static {
        // java.util.logging's SimpleFormatter resolves the default time zone on the first record
        // it formats, reading lib/tzdb.dat. If that first record is the accept failure logged when
        // descriptors have run out, the read fails with an Error that ends the event loop (and
        // breaks time zones for good). Resolve it now, while a file can still be opened.
        ZoneId.systemDefault().getRules();
    }

    private final EventLoop loop;
    private final ChatHub hub;
    private final TcpServerOptions options;
    private final boolean ownsLoop;
    private final SlabPool pool;
    /** The chat page and the upgrade's routing, or null for the line protocol. */
    private final WebSite webSite;
    private final ByteBuffer readBuffer = ByteBuffer.allocate(64 * 1024);
    private final ByteBuffer[] gatherScratch = new ByteBuffer[1024];
    private final TlsBuffers tlsBuffers = new TlsBuffers();
    private final Frame lineTooLong;
    /** Open connections; each knows its slot, so removal is O(1) without a hash node apiece. */
    private final List<Connection> connections = new ArrayList<>();
    private final List<Connection> dirty = new ArrayList<>();
    private final List<Connection> tooSlow = new ArrayList<>();
    private final List<Connection> congested = new ArrayList<>();
    private final List<Connection> paused = new ArrayList<>();
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private final ServerSocketChannel listener;
    private final InetSocketAddress localAddress;
    private final SelectionKey acceptKey;
    private final PerAddressLimit perAddress;
    private volatile int connectionCount;
    private long acceptBackoffNanos;
    private boolean acceptBackingOff;
    private boolean shuttingDown;

    private TcpChatServer(EventLoop loop, ChatHub hub, TcpServerOptions options, boolean ownsLoop,
                          WebSocketOptions webSocket) throws IOException {
        this.webSite = webSocket == null ? null : new WebSite(webSocket);
        this.pool = new SlabPool(SLAB_BYTES, 64, webSocket != null);
        this.loop = loop;
        this.hub = hub;
        this.options = options;
        this.ownsLoop = ownsLoop;
        this.perAddress = new PerAddressLimit(options.maxClientsPerIp());
        this.lineTooLong = Frame.error("line too long (max " + options.maxLineBytes() + " bytes)");
        ServerSocketChannel ch = ServerSocketChannel.open();
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.bind(new InetSocketAddress(options.host(), options.port()), options.backlog());
            ch.configureBlocking(false);
            this.localAddress = (InetSocketAddress) ch.getLocalAddress();
            this.acceptKey = loop.register(ch, SelectionKey.OP_ACCEPT, new Acceptor());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        this.listener = ch;
        loop.beforeSelect(this::flushPass);
        loop.onClose(this::closeNow);
    }

    /**
     * Binds a server with its own loop thread and its own hub, and starts serving.
     *
     * @param options the settings
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static TcpChatServer start(TcpServerOptions options) throws IOException {
        return start(options, HubOptions.defaults());
    }

    /**
     * Binds a server with its own loop thread and its own hub, made with {@code hubOptions} (its
     * reply bound lowered to {@link TcpServerOptions#maxLineBytes()}, so that no reply line is
     * longer than the lines the server accepts), and starts serving.
     *
     * @param options the settings
     * @param hubOptions the hub's settings (announce limit, list bounds)
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static TcpChatServer start(TcpServerOptions options, HubOptions hubOptions)
            throws IOException {
        return start(options, hubOptions, null);
    }

    /**
     * Binds a WebSocket server (HTTP/1.1 with the chat page, upgrades at
     * {@link WebSocketOptions#path()}) with its own loop thread and its own hub, and starts
     * serving. Everything in {@code options} applies as to a line server: a WebSocket message is
     * a line ({@link TcpServerOptions#maxLineBytes()} bounds it), and {@link TcpServerOptions#tls()}
     * makes it HTTPS and WSS.
     *
     * @param options the socket settings
     * @param hubOptions the hub's settings
     * @param webSocket the HTTP settings
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static TcpChatServer startWebSocket(TcpServerOptions options, HubOptions hubOptions,
                                               WebSocketOptions webSocket) throws IOException {
        return start(options, hubOptions, Objects.requireNonNull(webSocket, "webSocket"));
    }

    private static TcpChatServer start(TcpServerOptions options, HubOptions hubOptions,
                                       WebSocketOptions webSocket) throws IOException {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(hubOptions, "hubOptions");
        EventLoop loop = new EventLoop();
        TcpChatServer server;
        try {
            HubOptions bounded = hubOptions.withMaxReplyBytes(
                    Math.min(hubOptions.maxReplyBytes(), options.maxLineBytes()));
            server = new TcpChatServer(loop, new ChatHub(loop, bounded), options, true,
                    webSocket);
        } catch (IOException | RuntimeException e) {
            loop.close();
            throw e;
        }
        loop.start((webSocket == null ? "chat-tcp-" : "chat-ws-") + server.port());
        return server;
    }

    /**
     * Binds a server on an existing loop and hub, so that one loop thread can serve several
     * transports in the same rooms. Safe from any thread: off the loop thread it runs on the loop
     * and waits. Stopping an attached server closes its own socket and clients only; the loop
     * goes on.
     *
     * @param loop the loop that will own the server
     * @param hub the hub, owned by the same loop
     * @param options the settings
     * @return the server, serving once the loop runs
     * @throws IOException if the address cannot be bound
     */
    public static TcpChatServer attach(EventLoop loop, ChatHub hub, TcpServerOptions options)
            throws IOException {
        return attach(loop, hub, options, null);
    }

    /**
     * Binds a WebSocket server (as {@link #startWebSocket} makes) on an existing loop and hub, so
     * that browsers chat in the same rooms as the loop's other transports. Safe from any thread,
     * as {@link #attach(EventLoop, ChatHub, TcpServerOptions)}.
     *
     * @param loop the loop that will own the server
     * @param hub the hub, owned by the same loop
     * @param options the socket settings
     * @param webSocket the HTTP settings
     * @return the server, serving once the loop runs
     * @throws IOException if the address cannot be bound
     */
    public static TcpChatServer attachWebSocket(EventLoop loop, ChatHub hub,
                                                TcpServerOptions options,
                                                WebSocketOptions webSocket) throws IOException {
        return attach(loop, hub, options, Objects.requireNonNull(webSocket, "webSocket"));
    }

    private static TcpChatServer attach(EventLoop loop, ChatHub hub, TcpServerOptions options,
                                        WebSocketOptions webSocket) throws IOException {
        Objects.requireNonNull(loop, "loop");
        Objects.requireNonNull(hub, "hub");
        Objects.requireNonNull(options, "options");
        if (loop.inLoopThread()) {
            return new TcpChatServer(loop, hub, options, false, webSocket);
        }
        CompletableFuture<TcpChatServer> made = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                made.complete(new TcpChatServer(loop, hub, options, false, webSocket));
            } catch (IOException | RuntimeException e) {
                made.completeExceptionally(e);
            }
        });
        try {
            return made.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IllegalStateException("attach failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while attaching", e);
        } catch (TimeoutException e) {
            throw new IOException("the loop did not run the attach within 10 s", e);
        }
    }

    /** @return the address the server is bound to */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** @return the port the server is bound to (useful after binding port 0) */
    public int port() {
        return localAddress.getPort();
    }

    /** @return the connections open now; safe from any thread */
    public int connectionCount() {
        return connectionCount;
    }

    /**
     * Stops the server: stops accepting, sends {@code * server shutting down} to every client,
     * waits at most the flush timeout for pending output to go out, closes every connection and,
     * for a server made by {@link #start}, ends its loop thread. Safe from any thread; on the loop
     * thread it starts the shutdown and returns at once. Idempotent.
     */
    public void stop() {
        if (loop.inLoopThread()) {
            beginShutdown();
            return;
        }
        loop.execute(this::beginShutdown);
        long waitMillis = options.shutdownFlushTimeout().toMillis() + 5_000;
        try {
            stopped.get(waitMillis, TimeUnit.MILLISECONDS);
            if (ownsLoop) {
                loop.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(Level.WARNING, "server did not stop cleanly", e);
        }
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    // ---- loop-thread internals, used by Connection ----

    TcpServerOptions options() {
        return options;
    }

    ChatHub hub() {
        return hub;
    }

    EventLoop loop() {
        return loop;
    }

    SlabPool pool() {
        return pool;
    }

    /** @return the pool of WebSocket connections: the server's pool, which places WebSocket frames */
    SlabPool webSocketPool() {
        return pool;
    }

    /** @return the HTTP routing and page of a WebSocket server, or null for the line protocol */
    WebSite webSite() {
        return webSite;
    }

    /** @return whether this server speaks HTTP and WebSocket rather than lines */
    public boolean isWebSocket() {
        return webSite != null;
    }

    ByteBuffer readBuffer() {
        return readBuffer;
    }

    ByteBuffer[] gatherScratch() {
        return gatherScratch;
    }

    Frame lineTooLongFrame() {
        return lineTooLong;
    }

    Logger log() {
        return LOG;
    }

    void markDirty(Connection c) {
        dirty.add(c);
    }

    void closeTooSlowLater(Connection c) {
        tooSlow.add(c);
    }

    void congested(Connection c) {
        congested.add(c);
    }

    void decongested(Connection c) {
        congested.remove(c);
    }

    void paused(Connection c) {
        paused.add(c);
    }

    /**
     * @return whether a member of the connection's room (itself included) has more output pending
     *         than it can take: then lines read from this connection would only add to it
     */
    boolean roomIsCongested(Connection c) {
        if (congested.isEmpty()) {
            return false;
        }
        if (c.client() == null) {
            return false; // not in the hub yet (TLS handshake, WebSocket request)
        }
        String room = c.client().roomName();
        for (int i = 0; i < congested.size(); i++) {
            org.chatloop.core.Client other = congested.get(i).client();
            if (other != null && Objects.equals(room, other.roomName())) {
                return true;
            }
        }
        return false;
    }

    void removed(Connection c) {
        int slot = c.slot();
        if (slot >= 0) {
            Connection last = connections.remove(connections.size() - 1);
            if (last != c) {
                connections.set(slot, last);
                last.slot(slot);
            }
            c.slot(-1);
        }
        perAddress.release(c);
        connectionCount = connections.size();
    }

    /**
     * Once per loop pass, after all reads: drop the connections found too slow during the pass
     * (their departure is announced, which may add output elsewhere), then flush every dirty
     * connection once.
     */
    private void flushPass() {
        if (pool.liveCount() > MAX_LIVE_SLABS) {
            dropFurthestBehind();
        }
        if (!congested.isEmpty()) {
            long now = loop.nanoTime();
            long timeout = options.slowConsumerTimeout().toNanos();
            for (int i = 0; i < congested.size(); i++) {
                Connection c = congested.get(i);
                if (c.congestedLongerThan(now, timeout)) {
                    c.markTooSlow();
                }
            }
        }
        do {
            for (int i = 0; i < tooSlow.size(); i++) {
                Connection c = tooSlow.get(i);
                LOG.log(Level.INFO, "disconnecting {0}: too slow ({1} bytes pending)",
                        c.client(), c.pendingBytes());
                c.abort(LeaveReason.TOO_SLOW);
            }
            tooSlow.clear();
            for (int i = 0; i < dirty.size(); i++) {
                dirty.get(i).flushFromPass();
            }
            dirty.clear();
        } while (!tooSlow.isEmpty());
        resumeDrainedRooms();
    }

    /**
     * Pending output is shared: a client's unwritten bytes keep the slab they lie in alive, whatever
     * their number, so the per-connection bound alone does not bound the slabs. When more than
     * {@link #MAX_LIVE_SLABS} are in use, the clients still holding bytes from the older half of
     * them (those furthest behind the traffic) are disconnected as too slow. A client that keeps
     * reading never holds an old slab.
     */
    private void dropFurthestBehind() {
        long cutoff = pool.currentSequence() - MAX_LIVE_SLABS / 2;
        for (Connection c : connections) {
            if (c.oldestSlabSequence() < cutoff) {
                c.markTooSlow();
            }
        }
    }

    /** Reads again from paused connections whose rooms are no longer congested. */
    private void resumeDrainedRooms() {
        int kept = 0;
        for (int i = 0; i < paused.size(); i++) {
            Connection c = paused.get(i);
            if (c.isClosed()) {
                continue;
            }
            if (roomIsCongested(c)) {
                paused.set(kept++, c);
            } else {
                c.resumeReading();
            }
        }
        paused.subList(kept, paused.size()).clear();
    }

    private final class Acceptor implements IoHandler {
        @Override
        public void onReady(int readyOps) {
            // Accept until nothing is pending, but at most MAX_ACCEPTS_PER_PASS per pass: every
            // arrival is announced to the lobby, and the announcements must get written (at the
            // end of the pass) before a storm of arrivals multiplies them further. Accepting is
            // never paused for congestion: past the listen backlog the kernel drops the final ACK
            // of a handshake and leaves clients that believe they are connected but never were.
            for (int accepted = 0; accepted < MAX_ACCEPTS_PER_PASS; accepted++) {
                SocketChannel ch;
                try {
                    ch = listener.accept();
                } catch (IOException e) {
                    backOff(e);
                    return;
                }
                if (ch == null) {
                    acceptBackoffNanos = 0;
                    return;
                }
                accepted(ch);
            }
        }

        @Override
        public void onFailure(Exception cause) {
            LOG.log(Level.ERROR, "accepting failed", cause);
        }
    }

    /**
     * Accept failed, most likely for want of file descriptors: stop listening for a while instead
     * of spinning on a socket that stays ready, and keep serving the open connections.
     */
    private void backOff(IOException e) {
        acceptBackoffNanos = acceptBackoffNanos == 0 ? MIN_ACCEPT_BACKOFF_NANOS
                : Math.min(MAX_ACCEPT_BACKOFF_NANOS, acceptBackoffNanos * 2);
        LOG.log(Level.WARNING, "accept failed ({0}); pausing accepts for {1} ms", e.getMessage(),
                TimeUnit.NANOSECONDS.toMillis(acceptBackoffNanos));
        acceptBackingOff = true;
        updateAcceptInterest();
        loop.schedule(acceptBackoffNanos, TimeUnit.NANOSECONDS, () -> {
            acceptBackingOff = false;
            updateAcceptInterest();
        });
    }

    private void updateAcceptInterest() {
        if (acceptKey.isValid()) {
            acceptKey.interestOps(acceptBackingOff ? 0 : SelectionKey.OP_ACCEPT);
        }
    }


    private void accepted(SocketChannel ch) {
        SelectionKey key = null;
        Connection made = null;
        try {
            ch.configureBlocking(false);
            if (shuttingDown || connections.size() >= options.maxClients()) {
                if (options.tls() == null) {
                    ch.write(webSite == null ? SERVER_FULL.asReadOnlyBuffer()
                            : ByteBuffer.wrap(HTTP_SERVER_FULL));
                }
                ch.close();
                return;
            }
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            KeepAlive.apply(ch, options);
            InetSocketAddress remote = (InetSocketAddress) ch.getRemoteAddress();
            // Plain connections hold no Transport object (see Connection); TLS ones a lazy one
            // (tls-channel makes its engine and buffers on the first read).
            Connection c = new Connection(this, options.tls() == null ? null
                    : TlsTransport.server(ch, options.tls(), tlsBuffers));
            if (!perAddress.admit(c, remote.getAddress())) {
                if (options.tls() == null) {
                    ch.write(webSite == null ? TOO_MANY_FROM_ADDRESS.asReadOnlyBuffer()
                            : ByteBuffer.wrap(HTTP_TOO_MANY_FROM_ADDRESS));
                }
                ch.close();
                return;
            }
            made = c;
            key = loop.register(ch, SelectionKey.OP_READ, c);
            String name = address(remote);
            c.start(key, () -> hub.connect(name, c));
            c.slot(connections.size());
            connections.add(c);
            connectionCount = connections.size();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "dropping a connection that failed at accept", e);
            perAddress.release(made);
            if (key != null) {
                key.cancel();
            }
            try {
                ch.close();
            } catch (IOException ignored) {
                // already failing; nothing more to release
            }
        }
    }


    private static String address(InetSocketAddress a) {
        return Addresses.format(a);
    }

    private void beginShutdown() {
        if (shuttingDown) {
            return;
        }
        shuttingDown = true;
        acceptKey.cancel();
        try {
            listener.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing the listener", e);
        }
        for (Connection c : List.copyOf(connections)) {
            c.send(SHUTTING_DOWN);
            c.closeGracefully(LeaveReason.SHUTDOWN);
        }
        long deadline = loop.nanoTime() + options.shutdownFlushTimeout().toNanos();
        LoopTimer[] poll = new LoopTimer[1];
        poll[0] = loop.scheduleRepeating(10, TimeUnit.MILLISECONDS, () -> {
            if (connections.isEmpty() || loop.nanoTime() - deadline >= 0) {
                poll[0].cancel();
                finishShutdown();
            }
        });
        if (connections.isEmpty()) {
            poll[0].cancel();
            finishShutdown();
        }
    }

    private void finishShutdown() {
        for (Connection c : List.copyOf(connections)) {
            c.abort(LeaveReason.SHUTDOWN);
        }
        stopped.complete(null);
        if (ownsLoop) {
            loop.stop();
        }
    }

    /** The loop is ending: release every connection now. */
    private void closeNow() {
        shuttingDown = true;
        for (Connection c : List.copyOf(connections)) {
            c.abort(LeaveReason.SHUTDOWN);
        }
        try {
            listener.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing the listener", e);
        }
        stopped.complete(null);
    }

    @Override
    public String toString() {
        return "TcpChatServer[" + localAddress + (webSite != null ? ", websocket" : "")
                + ", connections=" + connectionCount
                + (shuttingDown ? ", shutting down" : "") + "]";
    }

    /** @return the accepted sockets open now, for tests (call on the loop thread) */
    List<SocketChannel> channels() {
        List<SocketChannel> all = new ArrayList<>();
        for (Connection c : connections) {
            all.add(c.channel());
        }
        return all;
    }

    /** @return loop-thread state for diagnostics (call on the loop thread) */
    String describe() {
        long pending = 0;
        int withOutput = 0;
        int writeWaiting = 0;
        for (Connection c : connections) {
            pending += c.pendingBytes();
            if (c.pendingBytes() > 0) {
                withOutput++;
            }
            if (c.waitsForWritable()) {
                writeWaiting++;
            }
        }
        return toString() + " pending=" + pending + " withOutput=" + withOutput
                + " opWrite=" + writeWaiting + " congested=" + congested.size() + " paused="
                + paused.size() + " dirty=" + dirty.size()
                + " pool=" + pool;
    }
}
