package org.chatloop.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Directory;
import org.chatloop.core.Frame;
import org.chatloop.core.HubGroup;
import org.chatloop.core.HubOptions;
import org.chatloop.core.RoomBus;

/**
 * One node of a chat that spans processes and machines over Redis: a {@link Directory} (names,
 * rooms and members, shared in Redis) and a {@link RoomBus} (room messages over Redis pub/sub)
 * for the {@link HubGroup} of this process. Several servers with the same Redis are one chat:
 * the same rooms, one set of names, {@code /who}, {@code /rooms} and {@code /msg} across all.
 *
 * <pre>{@code
 * RedisCluster cluster = RedisCluster.connect(ClusterOptions.of(URI.create("redis://127.0.0.1:6379")));
 * HubGroup group = cluster.startGroup(2, HubOptions.defaults(), "chat");
 * TcpChatServer tcp = TcpChatServer.attach(group, TcpServerOptions.defaults());
 * ...
 * cluster.close(); // the other nodes see this node's members leave
 * tcp.stop();
 * group.stop();
 * }</pre>
 *
 * <p><b>How a message travels.</b> A room message is encoded once by its sender's hub, handed to
 * this process's other loops in memory, and published to Redis once, on the channel of its room:
 * one {@code PUBLISH} per message, never one per recipient or per node. A node subscribes to a
 * room's channel only while it has members there. Each loop publishes on its own connection with
 * Lettuce's auto-flush off, and flushes once per loop pass. No Redis call blocks a loop thread:
 * answers (a nick claim, {@code /who}) come back as futures and the hub resumes on its loop.
 *
 * <p><b>What is guaranteed.</b> A room message reaches every member on every node in the order
 * its sender's node handled it. Pub/sub is at-most-once: every message is numbered per (origin
 * loop, room), so a node that misses some (its subscription dropped, Redis restarted, the node
 * fell behind) tells the room's members how many did not arrive, instead of losing them
 * silently; a message sent again after a reconnect is recognised and delivered once. Names are
 * unique across the cluster (an atomic claim in Redis). A node that dies has its members leave
 * every other node's rooms, and its names freed, within the TTL. While Redis cannot be reached,
 * every node keeps serving its own members (names are then granted locally), its members are told
 * once that the link is down and once that it is back; on reconnect the node restores its members
 * and names in Redis, and a name two nodes granted meanwhile goes to the earlier claim (then the
 * lower loop number): the other client is renamed and told.
 *
 * <p><b>What is not.</b> Messages from senders on different nodes are not ordered with each
 * other. Messages sent while a node cannot reach Redis do not reach the other nodes (the others
 * are told how many they missed once traffic resumes). Congestion pauses a room only on the node
 * that sees it. A standalone Redis is expected (not Redis Cluster, whose scripts may not touch
 * keys they compute).
 *
 * <p><b>Threading.</b> Safe from any thread. The directory and bus are called by the hubs on their
 * loops; Redis replies and pub/sub messages arrive on Lettuce's threads and are handed to each
 * loop through its executor (one hand-off per batch); heartbeats, reaping and restores run on one
 * thread of the cluster's own.
 */
public final class RedisCluster implements AutoCloseable {
    private static final Logger LOG = System.getLogger(RedisCluster.class.getName());
    static final String LOBBY_KEY = Directory.key(ChatHub.LOBBY);
    /** How long startup and shutdown wait for Redis. */
    private static final Duration SETUP_TIMEOUT = Duration.ofSeconds(5);

    final ClusterOptions options;
    final String prefix;
    /** What this node's liveness key holds: its name and a random instance id. */
    final String instance;
    final int slot;
    final RedisClient client;
    private final ClientResources resources;
    final StatefulRedisConnection<String, String> commands;
    final StatefulRedisPubSubConnection<byte[], byte[]> pubsub;
    /** For the cluster thread's own publishes (notices, names taken back). */
    final StatefulRedisConnection<byte[], byte[]> control;
    private final ScheduledExecutorService timer;
    /** Heartbeats only, so that a long restore or reap can never starve them. */
    private final ScheduledExecutorService heartbeat;
    private final AtomicBoolean tickQueued = new AtomicBoolean();
    private volatile boolean evicted;
    private final RedisDirectory directory;
    private final RedisRoomBus bus;
    private volatile boolean linkUp = true;
    private volatile boolean commandsUp = true;
    private final AtomicBoolean restoreWanted = new AtomicBoolean();
    private volatile boolean closed;

    private RedisCluster(ClusterOptions options) {
        this.options = options;
        this.prefix = options.keyPrefix();
        this.instance = options.nodeName() + "/" + UUID.randomUUID().toString().substring(0, 8);
        this.resources = DefaultClientResources.builder()
                .ioThreadPoolSize(2)
                .computationThreadPoolSize(2)
                .reconnectDelay(Delay.constant(options.reconnectDelay()))
                .build();
        RedisURI uri = RedisURI.create(options.redis());
        uri.setTimeout(SETUP_TIMEOUT);
        this.client = RedisClient.create(resources, uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                // While Redis is unreachable commands fail at once (the hubs fall back to what
                // this node knows) instead of piling up in memory.
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(2)))
                .build());
        StatefulRedisConnection<String, String> cmd = null;
        StatefulRedisPubSubConnection<byte[], byte[]> ps = null;
        StatefulRedisConnection<byte[], byte[]> ctl = null;
        try {
            cmd = client.connect();
            ctl = client.connect(ByteArrayCodec.INSTANCE);
            ps = client.connectPubSub(ByteArrayCodec.INSTANCE);
            Long n = cmd.sync().eval(Scripts.ALLOCATE, ScriptOutputType.INTEGER,
                    new String[0], prefix, instance, Long.toString(livenessMillis()),
                    Integer.toString(java.util.concurrent.ThreadLocalRandom.current().nextInt(127)));
            if (n == null || n < 0) {
                throw new IllegalStateException("no free node number in Redis (127 nodes at most)");
            }
            this.slot = n.intValue();
            cmd.sync().zadd(prefix + "rooms", io.lettuce.core.ZAddArgs.Builder.nx(), 0, LOBBY_KEY);
            cmd.sync().hsetnx(prefix + "roomnames", LOBBY_KEY, ChatHub.LOBBY);
        } catch (RuntimeException e) {
            for (AutoCloseable c : new AutoCloseable[] {ps, ctl, cmd}) {
                closeQuietly(c);
            }
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            resources.shutdown(0, 1, TimeUnit.SECONDS);
            throw new IllegalStateException("cannot join the cluster at " + options.redis() + ": "
                    + e.getMessage(), e);
        }
        this.commands = cmd;
        this.control = ctl;
        this.pubsub = ps;
        this.directory = new RedisDirectory(this);
        this.bus = new RedisRoomBus(this);
        pubsub.addListener(bus.listener());
        pubsub.sync().subscribe(bytes(nodeChannel(slot)));
        client.addListener(new LinkWatch());
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "chatloop-cluster");
            t.setDaemon(true);
            return t;
        });
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "chatloop-cluster-heartbeat");
            t.setDaemon(true);
            return t;
        });
        long period = Math.max(100, options.ttl().toMillis() / 4);
        timer.scheduleWithFixedDelay(this::tick, period, period, TimeUnit.MILLISECONDS);
        heartbeat.scheduleWithFixedDelay(this::beat, period, period, TimeUnit.MILLISECONDS);
        LOG.log(Level.INFO, "joined the cluster at {0} as node {1} ({2})", options.redis(), slot,
                instance);
    }

    /**
     * Joins the cluster: connects to Redis and takes a node number. Blocks (at most a few
     * seconds): call it at startup, not on a loop thread.
     *
     * @param options where Redis is, and how this node behaves
     * @return the node
     * @throws IllegalStateException if Redis cannot be reached or has no free node number
     */
    public static RedisCluster connect(ClusterOptions options) {
        return new RedisCluster(Objects.requireNonNull(options, "options"));
    }

    /** @return the directory every hub of this node shares */
    public Directory directory() {
        return directory;
    }

    /** @return the bus every hub of this node shares */
    public RoomBus bus() {
        return bus;
    }

    /**
     * Starts this node's loops over the cluster's directory and bus.
     *
     * @param loops how many loops, at least 1 (at most 255)
     * @param hubOptions every hub's settings
     * @param name the loop threads' name prefix
     * @return the running group
     */
    public HubGroup startGroup(int loops, HubOptions hubOptions, String name) {
        if (loops > 255) {
            throw new IllegalArgumentException("at most 255 loops per node: " + loops);
        }
        return HubGroup.start(loops, hubOptions, name, directory, bus);
    }

    RedisRoomBus roomBus() {
        return bus;
    }

    /** @return this node's number in the cluster, 1..127 (its loops' shards are {@code N * 256 + i}) */
    public int nodeNumber() {
        return slot;
    }

    /** @return this node's name */
    public String nodeName() {
        return options.nodeName();
    }

    /** @return the Redis this node uses */
    public URI redis() {
        return options.redis();
    }

    /** @return whether this node's pub/sub link to Redis is up now */
    public boolean isLinkUp() {
        return linkUp && commandsUp;
    }

    /**
     * @return what the cluster link has counted so far; safe from any thread
     */
    public ClusterStats stats() {
        return bus.stats();
    }

    boolean commandsUp() {
        return commandsUp && !closed;
    }

    boolean isClosed() {
        return closed;
    }

    long livenessMillis() {
        return Math.max(500, options.ttl().toMillis() * 2 / 3);
    }

    String roomChannel(String roomKey) {
        return prefix + "r:" + roomKey;
    }

    String nodeChannel(int node) {
        return prefix + "n:" + node;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The heartbeat thread's pass: refreshes this node's liveness key. */
    private void beat() {
        if (closed) {
            return;
        }
        try {
            Long beat = commands.sync().eval(Scripts.HEARTBEAT, ScriptOutputType.INTEGER,
                    new String[0], prefix, Integer.toString(slot), instance,
                    Long.toString(livenessMillis()));
            if (beat != null && beat == 0 && !evicted) {
                evicted = true;
                LOG.log(Level.ERROR, "node number {0} was taken by another node while this one "
                        + "could not reach Redis; this node's rooms and names are no longer "
                        + "shared correctly: restart it", slot);
                bus.noticeAll(Frame.notice("this server lost its place in the cluster while it "
                        + "could not reach Redis; chat with other servers is unreliable until it "
                        + "is restarted"));
            } else if (beat != null && beat == 2) {
                LOG.log(Level.WARNING, "Redis had forgotten node {0} (restarted, or this node was "
                        + "silent too long): restoring its members and names", slot);
                wantRestore();
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "heartbeat failed (Redis unreachable?): {0}", e.toString());
        }
    }

    /** The cluster thread's pass: restore if wanted, reap dead nodes, refresh the cache. */
    private void tick() {
        tickQueued.set(false);
        if (closed) {
            return;
        }
        try {
            if (restoreWanted.getAndSet(false)) {
                directory.restore();
            }
            reap();
            directory.refreshCache();
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "cluster pass failed (Redis unreachable?): {0}", e.toString());
            restoreWanted.set(true);
        }
    }

    /** Removes every node whose liveness key is gone, telling the rooms its members left. */
    private void reap() {
        for (String n : commands.sync().smembers(prefix + "slots")) {
            if (n.equals(Integer.toString(slot))) {
                continue;
            }
            List<String> left = commands.sync().eval(Scripts.REAP, ScriptOutputType.MULTI,
                    new String[0], n, prefix, LOBBY_KEY, "0",
                    Long.toString(3 * options.ttl().toMillis()));
            if (left != null && !left.isEmpty()) {
                LOG.log(Level.INFO, "node {0} stopped answering: {1} members removed", n,
                        left.size() / 2);
                announce(left, -1, "server lost");
            }
        }
    }

    /** Rooms with more leavers than this at once hear one count, not a line per member. */
    static final int NAMED_DEPARTURES = 20;

    /**
     * Tells each room that its members in {@code left} ({@code ROOMKEY, NAME} pairs) left: one
     * {@code * NAME left (WHY)} each, or {@code * N members left (WHY)} for a room with many.
     */
    void announce(List<String> left, int origin, String why) {
        java.util.Map<String, List<String>> byRoom = new java.util.LinkedHashMap<>();
        for (int i = 0; i + 1 < left.size(); i += 2) {
            byRoom.computeIfAbsent(left.get(i), k -> new java.util.ArrayList<>())
                    .add(left.get(i + 1));
        }
        for (java.util.Map.Entry<String, List<String>> r : byRoom.entrySet()) {
            List<String> names = r.getValue();
            if (names.size() > NAMED_DEPARTURES) {
                bus.publishNotice(r.getKey(), origin,
                        Frame.notice(names.size() + " members left (" + why + ")"));
            } else {
                for (String name : names) {
                    bus.publishNotice(r.getKey(), origin,
                            Frame.notice(name + " left (" + why + ")"));
                }
            }
        }
    }

    /**
     * Leaves the cluster: the other nodes' rooms are told that this node's members left, its
     * names are freed, and the connections to Redis are closed. The hubs keep running, on their
     * own: close the cluster before stopping the servers, so that their members' departures are
     * announced (a hub does not announce departures at shutdown). Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            if (!client.getResources().eventExecutorGroup().isShutdown()) {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
                resources.shutdown(0, 2, TimeUnit.SECONDS);
            }
            return;
        }
        try {
            directory.announceDepartures();
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "could not announce departures: {0}", e.toString());
        }
        closed = true;
        timer.shutdownNow();
        heartbeat.shutdownNow();
        try {
            // No pass may write after the node's removal below.
            timer.awaitTermination(3, TimeUnit.SECONDS);
            heartbeat.awaitTermination(3, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            commands.sync().eval(Scripts.REAP, ScriptOutputType.MULTI, new String[0],
                    Integer.toString(slot), prefix, LOBBY_KEY, "1", "1");
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "could not remove node {0} from Redis: {1}", slot, e.toString());
        }
        bus.closeAll();
        for (AutoCloseable c : new AutoCloseable[] {pubsub, control, commands}) {
            closeQuietly(c);
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
        LOG.log(Level.INFO, "left the cluster (node {0})", slot);
    }

    /**
     * Tests: drops every connection to Redis at once, as a process killed by SIGKILL does, without
     * telling anyone or removing anything: the others must find out through the TTL.
     */
    void crashForTest() {
        closed = true;
        timer.shutdownNow();
        heartbeat.shutdownNow();
        bus.closeAll();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.log(Level.DEBUG, "close failed: {0}", e.toString());
        }
    }

    /** Tells the members once when the link goes down and once when it is back. */
    private final class LinkWatch implements RedisConnectionStateListener {
        @Override
        public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress address) {
            if (closed) {
                return;
            }
            if (connection == pubsub && !linkUp) {
                linkUp = true;
                LOG.log(Level.INFO, "cluster link back ({0})", address);
                bus.noticeAll(Frame.notice("cluster link back: rooms span every server again"));
                wantRestore();
            } else if (connection == commands && !commandsUp) {
                commandsUp = true;
                wantRestore();
            }
        }

        @Override
        public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
            if (closed) {
                return;
            }
            if (connection == pubsub && linkUp) {
                linkUp = false;
                LOG.log(Level.WARNING, "cluster link down: {0} unreachable", options.redis());
                bus.noticeAll(Frame.notice("cluster link down: messages reach this server's "
                        + "members only until it is back"));
            } else if (connection == commands) {
                commandsUp = false;
            }
        }
    }

    /** Asks the cluster thread for a restore soon (a change did not reach Redis). */
    void wantRestore() {
        restoreWanted.set(true);
        if (tickQueued.compareAndSet(false, true)) {
            try {
                timer.execute(this::tick);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing
            }
        }
    }

    @Override
    public String toString() {
        return "RedisCluster[node " + slot + " " + instance + " at " + options.redis() + "]";
    }
}
