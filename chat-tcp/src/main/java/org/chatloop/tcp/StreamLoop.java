package org.chatloop.tcp;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.chatloop.core.Addresses;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Frame;
import org.chatloop.core.LeaveReason;
import org.chatloop.loop.EventLoop;
import org.chatloop.loop.LoopTimer;

/**
 * One loop's share of a {@link TcpChatServer}: the connections the acceptor handed to this loop,
 * the hub shard they join, and everything they use on the loop thread (slab pool, read buffer,
 * gathering scratch, TLS buffers, the lists of dirty, too slow, congested and paused connections)
 * and the once-per-pass flush. A server has one per loop of its group; they share nothing but the
 * server's settings, so every loop runs without locks.
 *
 * <p>Not thread safe: owned by its loop thread, but for {@link #connectionCount()} (volatile) and
 * {@link #adopt}, which hands the work to the loop.
 */
final class StreamLoop {
    private static final Logger LOG = System.getLogger(TcpChatServer.class.getName());
    private static final Frame SHUTTING_DOWN = Frame.notice("server shutting down");
    /** Slabs of pending output in use at most (64 MiB) before the furthest-behind are dropped. */
    static final int MAX_LIVE_SLABS = 256;
    private static final int SLAB_BYTES = 256 * 1024;

    private final TcpChatServer server;
    private final EventLoop loop;
    private final ChatHub hub;
    private final TcpServerOptions options;
    private final WebSite webSite;
    private final SlabPool pool;
    private final ByteBuffer readBuffer = ByteBuffer.allocate(64 * 1024);
    private final ByteBuffer[] gatherScratch = new ByteBuffer[1024];
    private final TlsBuffers tlsBuffers = new TlsBuffers();
    private final Frame lineTooLong;
    /**
     * Pending bytes past which a connection counts as congested: a quarter of its bound. Each
     * recipient of a broadcast compares against it (see {@link Connection#send}).
     */
    final long congestedAbove;
    /** Open connections; each knows its slot, so removal is O(1) without a hash node apiece. */
    private final List<Connection> connections = new ArrayList<>();
    private final List<Connection> dirty = new ArrayList<>();
    private final List<Connection> tooSlow = new ArrayList<>();
    private final List<Connection> congested = new ArrayList<>();
    private final List<Connection> paused = new ArrayList<>();
    final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private volatile int connectionCount;
    private boolean shuttingDown;
    /** Looks for drained rooms while connections here are paused, or null. */
    private LoopTimer resumeTimer;
    private static final long RESUME_POLL_MILLIS = 5;

    StreamLoop(TcpChatServer server, EventLoop loop, ChatHub hub, TcpServerOptions options,
               WebSite webSite) {
        this.server = server;
        this.loop = loop;
        this.hub = hub;
        this.options = options;
        this.congestedAbove = options.maxPendingBytes() / 4;
        this.webSite = webSite;
        this.pool = new SlabPool(SLAB_BYTES, 64, webSite != null);
        this.lineTooLong = Frame.error("line too long (max " + options.maxLineBytes() + " bytes)");
    }

    /** Hooks the flush and the close into the loop; on the loop thread. */
    void install() {
        loop.beforeSelect(this::flushPass);
        loop.onClose(this::closeNow);
    }

    // ---- used by Connection, on the loop thread ----

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

    WebSite webSite() {
        return webSite;
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
        if (c.client() != null) {
            hub.congestion(c.client(), true);
        }
    }

    void decongested(Connection c) {
        congested.remove(c);
        if (c.client() != null) {
            hub.congestion(c.client(), false);
        }
    }

    void paused(Connection c) {
        paused.add(c);
        if (resumeTimer == null) {
            // The room may drain on another loop, which cannot wake this one: look again every
            // few milliseconds while anyone here is paused.
            resumeTimer = loop.scheduleRepeating(RESUME_POLL_MILLIS, TimeUnit.MILLISECONDS,
                    this::resumeDrainedRooms);
        }
    }

    /**
     * @return whether a member of the connection's room, on any loop (itself included), has more
     *         output pending than it can take: then lines read from this connection would only add
     *         to it (the hub counts congestion per room, across shards)
     */
    boolean roomIsCongested(Connection c) {
        // Not in the hub yet (TLS handshake, WebSocket request): not in a room either.
        return c.client() != null && hub.isRoomCongested(c.client());
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
            server.released(c.channel());
        }
        connectionCount = connections.size();
    }

    /** @return the connections open on this loop now; safe from any thread */
    int connectionCount() {
        return connectionCount;
    }

    // ---- accepting ----

    /**
     * Takes over a socket the acceptor admitted: makes its connection, registers it and joins it
     * to this loop's hub (at once, or after its TLS handshake or WebSocket upgrade). Loop thread.
     */
    void adopt(SocketChannel ch, InetSocketAddress remote) {
        SelectionKey key = null;
        try {
            if (shuttingDown) {
                server.released(ch);
                ch.close();
                return;
            }
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            KeepAlive.apply(ch, options);
            // Plain connections hold no Transport object (see Connection); TLS ones a lazy one
            // (tls-channel makes its engine and buffers on the first read).
            Connection c = new Connection(this, options.tls() == null ? null
                    : TlsTransport.server(ch, options.tls(), tlsBuffers));
            key = loop.register(ch, SelectionKey.OP_READ, c);
            String name = Addresses.format(remote);
            c.start(key, () -> hub.connect(name, c));
            c.slot(connections.size());
            connections.add(c);
            connectionCount = connections.size();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "dropping a connection that failed at accept", e);
            server.released(ch);
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

    // ---- the pass ----

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
        if (paused.isEmpty() && resumeTimer != null) {
            resumeTimer.cancel();
            resumeTimer = null;
        }
    }

    // ---- stopping ----

    /**
     * Tells every connection of this loop {@code * server shutting down}, closes each once its
     * output is flushed or the flush timeout passes, then completes {@link #stopped}. Loop thread.
     */
    void beginShutdown() {
        if (shuttingDown) {
            return;
        }
        shuttingDown = true;
        for (Connection c : List.copyOf(connections)) {
            c.sendInOrder(SHUTTING_DOWN);
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
    }

    /** The loop is ending: release every connection now. */
    private void closeNow() {
        shuttingDown = true;
        for (Connection c : List.copyOf(connections)) {
            c.abort(LeaveReason.SHUTDOWN);
        }
        stopped.complete(null);
    }

    // ---- diagnostics ----

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
        return "connections=" + connections.size() + " pending=" + pending + " withOutput="
                + withOutput + " opWrite=" + writeWaiting + " congested=" + congested.size()
                + " paused=" + paused.size() + " dirty=" + dirty.size() + " pool=" + pool;
    }

    @Override
    public String toString() {
        return "StreamLoop[shard " + hub.shard() + ", connections=" + connectionCount + "]";
    }
}
