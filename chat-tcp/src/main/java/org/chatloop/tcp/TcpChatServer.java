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
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Directory;
import org.chatloop.core.Frame;
import org.chatloop.core.HubGroup;
import org.chatloop.core.HubOptions;
import org.chatloop.core.RoomBus;
import org.chatloop.loop.EventLoop;
import org.chatloop.loop.IoHandler;

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
 * <p><b>Loops.</b> A server runs on a {@link HubGroup}: one loop by default, N with
 * {@link #start(TcpServerOptions, HubOptions, int)} or {@link #attach(HubGroup, TcpServerOptions)}.
 * The listening socket is served by loop 0, which hands each accepted socket to the loop with the
 * fewest connections (round-robin among equals): one {@code execute} per connection, after which
 * the connection, its buffers and its hub shard are that loop's alone. Least-loaded rather than
 * plain round-robin so that loops stay even when clients leave unevenly. Rooms span loops through
 * the group's room bus; a room message is encoded once, delivered on its sender's loop and handed
 * once to each other loop with members in the room.
 *
 * <p><b>Threading.</b> Everything a loop touches (sockets, hub shard, buffers) is owned by that
 * loop's thread, without locks. {@link #port()}, {@link #localAddress()}, {@link #connectionCount()} and
 * {@link #stop()} may be called from any thread: they hand work to the loop through
 * {@link EventLoop#execute} (one queue, one wakeup) or read values fixed at start.
 */
public final class TcpChatServer implements AutoCloseable {
    private static final Logger LOG = System.getLogger(TcpChatServer.class.getName());
    /** How long an attach from another thread waits for the loop. */
    private static final long ATTACH_TIMEOUT_MILLIS = 10_000;
    private static final Frame SERVER_FULL = Frame.error("server full");
    private static final Frame TOO_MANY_FROM_ADDRESS =
            Frame.error("too many connections from your address");
    private static final byte[] HTTP_SERVER_FULL = HttpResponses.error(503, "server full");
    private static final byte[] HTTP_TOO_MANY_FROM_ADDRESS =
            HttpResponses.error(503, "too many connections from your address");
    private static final int MAX_ACCEPTS_PER_PASS = 256;
    private static final long MIN_ACCEPT_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long MAX_ACCEPT_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);

    static {
        // java.util.logging's SimpleFormatter resolves the default time zone on the first record
        // it formats, reading lib/tzdb.dat. If that first record is the accept failure logged when
        // descriptors have run out, the read fails with an Error that ends the event loop (and
        // breaks time zones for good). Resolve it now, while a file can still be opened.
        ZoneId.systemDefault().getRules();
    }

    private final HubGroup group;
    private final TcpServerOptions options;
    private final boolean ownsGroup;
    /** The chat page and the upgrade's routing, or null for the line protocol. */
    private final WebSite webSite;
    private final StreamLoop[] loops;
    /** The acceptor's loop (loop 0). */
    private final EventLoop acceptLoop;
    private final ServerSocketChannel listener;
    private final InetSocketAddress localAddress;
    private final SelectionKey acceptKey;
    /** Admissions per address; the acceptor's loop only (releases are handed to it). */
    private final PerAddressLimit perAddress;
    /** Connections admitted and not yet released, on every loop (the {@code maxClients} bound). */
    private final AtomicInteger open = new AtomicInteger();
    private int nextLoop;
    private long acceptBackoffNanos;
    private boolean acceptBackingOff;
    private boolean shuttingDown;

    private TcpChatServer(HubGroup group, TcpServerOptions options, boolean ownsGroup,
                          WebSocketOptions webSocket) throws IOException {
        this.group = group;
        this.options = options;
        this.ownsGroup = ownsGroup;
        this.webSite = webSocket == null ? null : new WebSite(webSocket);
        this.acceptLoop = group.loop(0);
        this.perAddress = new PerAddressLimit(options.maxClientsPerIp());
        this.loops = new StreamLoop[group.size()];
        for (int i = 0; i < loops.length; i++) {
            loops[i] = new StreamLoop(this, group.loop(i), group.hub(i), options, webSite);
        }
        ServerSocketChannel ch = ServerSocketChannel.open();
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            if (options.reusePort()) {
                if (!ch.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT)) {
                    throw new IOException("SO_REUSEPORT is not supported on this platform "
                            + "(reusePort is on)");
                }
                ch.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            }
            ch.bind(new InetSocketAddress(options.host(), options.port()), options.backlog());
            ch.configureBlocking(false);
            this.localAddress = (InetSocketAddress) ch.getLocalAddress();
            this.acceptKey = acceptLoop.register(ch, SelectionKey.OP_ACCEPT, new Acceptor());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        this.listener = ch;
    }

    /** Hooks every loop's flush and close; each on its own loop thread, and waits. */
    private void install() throws IOException {
        for (StreamLoop l : loops) {
            l.loop().callAndWait(() -> {
                l.install();
                return null;
            }, ATTACH_TIMEOUT_MILLIS);
        }
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
        return start(options, hubOptions, 1, null, null, null);
    }

    /**
     * Binds a server on {@code loops} loop threads of its own (a {@link HubGroup} of hub shards
     * sharing rooms and names), and starts serving.
     *
     * @param options the settings
     * @param hubOptions every hub shard's settings
     * @param loops how many loops, at least 1 (one per core is the usual choice)
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static TcpChatServer start(TcpServerOptions options, HubOptions hubOptions, int loops)
            throws IOException {
        return start(options, hubOptions, loops, null, null, null);
    }

    /**
     * Binds a server with {@code loops} loop threads of its own whose hub shards share
     * {@code directory} and {@code bus} (for a chat that spans processes, say over Redis), and
     * starts serving. Stopping the server stops its loops; the directory and bus are the
     * caller's to close.
     *
     * @param options the settings
     * @param hubOptions every hub shard's settings
     * @param loops how many loops, at least 1
     * @param directory the names and rooms the shards share
     * @param bus how frames reach the other shards
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static TcpChatServer start(TcpServerOptions options, HubOptions hubOptions, int loops,
                                      Directory directory, RoomBus bus) throws IOException {
        return start(options, hubOptions, loops, null, Objects.requireNonNull(directory,
                "directory"), Objects.requireNonNull(bus, "bus"));
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
        return start(options, hubOptions, 1, Objects.requireNonNull(webSocket, "webSocket"), null,
                null);
    }

    /**
     * Binds a WebSocket server on {@code loops} loop threads of its own, and starts serving.
     *
     * @param options the socket settings
     * @param hubOptions every hub shard's settings
     * @param webSocket the HTTP settings
     * @param loops how many loops, at least 1
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static TcpChatServer startWebSocket(TcpServerOptions options, HubOptions hubOptions,
                                               WebSocketOptions webSocket, int loops)
            throws IOException {
        return start(options, hubOptions, loops, Objects.requireNonNull(webSocket, "webSocket"),
                null, null);
    }

    private static TcpChatServer start(TcpServerOptions options, HubOptions hubOptions, int loops,
                                       WebSocketOptions webSocket, Directory directory,
                                       RoomBus bus) throws IOException {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(hubOptions, "hubOptions");
        HubOptions bounded = hubOptions.withMaxReplyBytes(
                Math.min(hubOptions.maxReplyBytes(), options.maxLineBytes()));
        HubGroup group = directory == null ? HubGroup.create(loops, bounded)
                : HubGroup.create(loops, bounded, directory, bus);
        TcpChatServer server;
        try {
            server = new TcpChatServer(group, options, true, webSocket);
            server.install();
        } catch (IOException | RuntimeException e) {
            group.closeUnstarted();
            throw e;
        }
        group.startLoops((webSocket == null ? "chat-tcp-" : "chat-ws-") + server.port());
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
        return attach(HubGroup.of(loop, hub), options, null);
    }

    /**
     * Binds a server on the loops of an existing group, so that several transports serve the same
     * rooms: the listener on loop 0, connections spread over every loop. Safe from any thread.
     * Stopping it closes its own socket and clients only; the loops go on.
     *
     * @param group the loops and hub shards
     * @param options the settings
     * @return the server
     * @throws IOException if the address cannot be bound
     */
    public static TcpChatServer attach(HubGroup group, TcpServerOptions options)
            throws IOException {
        return attach(group, options, null);
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
        return attachWebSocket(HubGroup.of(loop, hub), options, webSocket);
    }

    /**
     * Binds a WebSocket server on the loops of an existing group. Safe from any thread.
     *
     * @param group the loops and hub shards
     * @param options the socket settings
     * @param webSocket the HTTP settings
     * @return the server
     * @throws IOException if the address cannot be bound
     */
    public static TcpChatServer attachWebSocket(HubGroup group, TcpServerOptions options,
                                                WebSocketOptions webSocket) throws IOException {
        return attach(group, options, Objects.requireNonNull(webSocket, "webSocket"));
    }

    private static TcpChatServer attach(HubGroup group, TcpServerOptions options,
                                        WebSocketOptions webSocket) throws IOException {
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(options, "options");
        TcpChatServer server = group.loop(0).callAndWait(
                () -> new TcpChatServer(group, options, false, webSocket), ATTACH_TIMEOUT_MILLIS);
        server.install();
        return server;
    }

    /** @return the address the server is bound to */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** @return the port the server is bound to (useful after binding port 0) */
    public int port() {
        return localAddress.getPort();
    }

    /** @return the connections open now, on every loop; safe from any thread */
    public int connectionCount() {
        int n = 0;
        for (StreamLoop l : loops) {
            n += l.connectionCount();
        }
        return n;
    }

    /** @return how many loops serve this server's connections */
    public int loopCount() {
        return loops.length;
    }

    /** @return whether this server speaks HTTP and WebSocket rather than lines */
    public boolean isWebSocket() {
        return webSite != null;
    }

    /**
     * Stops the server: stops accepting, sends {@code * server shutting down} to every client,
     * waits at most the flush timeout for pending output to go out, closes every connection and,
     * for a server made by {@link #start}, ends its loop threads. Safe from any thread; on a loop
     * thread it starts the shutdown and returns at once. Idempotent.
     */
    public void stop() {
        acceptLoop.execute(this::closeListener);
        for (StreamLoop l : loops) {
            l.loop().execute(l::beginShutdown);
        }
        CompletableFuture<Void> allStopped = CompletableFuture.allOf(
                java.util.Arrays.stream(loops).map(l -> l.stopped)
                        .toArray(CompletableFuture[]::new));
        for (StreamLoop l : loops) {
            if (l.loop().inLoopThread()) {
                // The shutdown goes on in the loops' passes; a server made by start() then ends
                // its loops (asked, not awaited: this thread is one of them).
                if (ownsGroup) {
                    allStopped.thenRun(() -> {
                        for (int i = 0; i < group.size(); i++) {
                            group.loop(i).stop();
                        }
                    });
                }
                return;
            }
        }
        long waitMillis = options.shutdownFlushTimeout().toMillis() + 5_000;
        try {
            allStopped.get(waitMillis, TimeUnit.MILLISECONDS);
            if (ownsGroup) {
                group.stop();
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

    // ---- used by StreamLoop ----

    /**
     * A connection's socket is done with: frees its place under {@code maxClients} and its
     * address's count (on the acceptor's loop, which owns the counts). Any loop thread.
     */
    void released(java.nio.channels.SocketChannel ch) {
        open.decrementAndGet();
        if (options.maxClientsPerIp() > 0) {
            if (acceptLoop.inLoopThread()) {
                perAddress.release(ch);
            } else {
                acceptLoop.execute(() -> perAddress.release(ch));
            }
        }
    }

    // ---- accepting, on loop 0 ----

    private final class Acceptor implements IoHandler {
        @Override
        public void onReady(int readyOps) {
            // Accept until nothing is pending, but at most MAX_ACCEPTS_PER_PASS per pass: every
            // arrival is announced to the lobby, and the announcements must get written (at the
            // end of the pass) before a storm of arrivals multiplies them further. Accepting is
            // never paused for congestion: past the listen backlog the kernel drops the final ACK
            // of a handshake and leaves clients that believe they are connected but never were.
            for (int accepted = 0; accepted < MAX_ACCEPTS_PER_PASS; accepted++) {
                java.nio.channels.SocketChannel ch;
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
        acceptLoop.schedule(acceptBackoffNanos, TimeUnit.NANOSECONDS, () -> {
            acceptBackingOff = false;
            updateAcceptInterest();
        });
    }

    private void updateAcceptInterest() {
        if (acceptKey.isValid()) {
            acceptKey.interestOps(acceptBackingOff ? 0 : SelectionKey.OP_ACCEPT);
        }
    }

    /** Admits the socket (or refuses it: full, or too many from its address) and hands it over. */
    private void accepted(java.nio.channels.SocketChannel ch) {
        try {
            ch.configureBlocking(false);
            if (shuttingDown || open.get() >= options.maxClients()) {
                refuse(ch, SERVER_FULL, HTTP_SERVER_FULL);
                return;
            }
            InetSocketAddress remote = (InetSocketAddress) ch.getRemoteAddress();
            if (!perAddress.admit(ch, remote.getAddress())) {
                refuse(ch, TOO_MANY_FROM_ADDRESS, HTTP_TOO_MANY_FROM_ADDRESS);
                return;
            }
            open.incrementAndGet();
            StreamLoop target = pickLoop();
            if (target.loop() == acceptLoop) {
                target.adopt(ch, remote);
            } else {
                target.loop().execute(() -> target.adopt(ch, remote));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "dropping a connection that failed at accept", e);
            try {
                ch.close();
            } catch (IOException ignored) {
                // already failing; nothing more to release
            }
        }
    }

    private void refuse(java.nio.channels.SocketChannel ch, Frame line, byte[] http)
            throws IOException {
        if (options.tls() == null) {
            ch.write(webSite == null ? line.asReadOnlyBuffer() : ByteBuffer.wrap(http));
        }
        ch.close();
    }

    /** @return the loop with the fewest connections; among equals, the next in turn */
    private StreamLoop pickLoop() {
        if (loops.length == 1) {
            return loops[0];
        }
        int best = -1;
        int fewest = Integer.MAX_VALUE;
        for (int k = 0; k < loops.length; k++) {
            int i = (nextLoop + k) % loops.length;
            int n = loops[i].connectionCount();
            if (n < fewest) {
                fewest = n;
                best = i;
            }
        }
        nextLoop = (best + 1) % loops.length;
        return loops[best];
    }

    private void closeListener() {
        shuttingDown = true;
        acceptKey.cancel();
        closeListenerQuietly();
    }

    private void closeListenerQuietly() {
        try {
            listener.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing the listener", e);
        }
    }

    @Override
    public String toString() {
        return "TcpChatServer[" + localAddress + (webSite != null ? ", websocket" : "")
                + ", loops=" + loops.length + ", connections=" + connectionCount()
                + (shuttingDown ? ", shutting down" : "") + "]";
    }

    // ---- for tests and diagnostics ----

    /** @return loop 0, where the listener is (tests run diagnostics there) */
    EventLoop loop() {
        return acceptLoop;
    }

    /** @return the accepted sockets of loop 0 open now, for tests (call on loop 0) */
    List<java.nio.channels.SocketChannel> channels() {
        return loops[0].channels();
    }

    /** @return loop 0's state for diagnostics (call on loop 0) */
    String describe() {
        return toString() + " " + loops[0].describe();
    }
}
