package org.chatloop.redis;

import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.RedisPubSubListener;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.chatloop.core.Directory;
import org.chatloop.core.Frame;
import org.chatloop.core.LocalRoomBus;
import org.chatloop.core.RoomBus;

/**
 * The {@link RoomBus} over Redis pub/sub. The loops of this node hand each other frames in memory
 * ({@link LocalRoomBus}); every room frame is also published once to Redis on its room's channel,
 * which the nodes with members in the room subscribe to, one subscription per node. A loop
 * publishes on a connection of its own with auto-flush off, and flushes once per pass.
 *
 * <p>On the wire (binary, big-endian): a room frame is {@code 1, ORIGIN_SHARD:int, EPOCH:long,
 * SEQ:long, BYTES}; a notice to a room {@code 2, ORIGIN_SHARD:int, BYTES}; a frame for one client
 * {@code 3, SHARD:int, CLIENT:long, BYTES} on the node's own channel; a name taken back
 * {@code 4, SHARD:int, CLIENT:long, NAME \n REASON}. {@code SEQ} counts one loop's frames for one
 * room from 1 within an {@code EPOCH} (a new epoch when the loop starts publishing to the room
 * again), so a receiver finds gaps and repeats per origin and room.
 *
 * <p>Frames from Redis arrive on a Lettuce thread; they are checked there (numbering, the inbound
 * bound) and queued for each loop with members in the room, one {@code execute} per batch.
 */
final class RedisRoomBus implements RoomBus {
    private static final Logger LOG = System.getLogger(RedisRoomBus.class.getName());
    static final byte ROOM = 1;
    static final byte NOTICE = 2;
    static final byte CLIENT = 3;
    static final byte NAME_LOST = 4;
    private static final int ROOM_HEADER = 1 + 4 + 8 + 8;
    private static final int NOTICE_HEADER = 1 + 4;
    private static final int CLIENT_HEADER = 1 + 4 + 8;
    /**
     * Bytes a loop may have published to Redis and not yet seen acknowledged before
     * {@link Port#isBackedUp()}: then its transport stops reading the room's members until Redis
     * catches up.
     */
    static final long MAX_UNACKNOWLEDGED_BYTES = 1024 * 1024;

    private final RedisCluster node;
    private final LocalRoomBus local = new LocalRoomBus();
    private final CopyOnWriteArrayList<ClusterPort> ports = new CopyOnWriteArrayList<>();
    /** How many of this node's loops have members in each room: the node subscribes while > 0. */
    private final ConcurrentHashMap<String, Integer> subscriptions = new ConcurrentHashMap<>();
    /** Per subscribed room: the numbering seen from each origin (Lettuce's thread only). */
    private final ConcurrentHashMap<String, RoomIn> inbound = new ConcurrentHashMap<>();
    /** Rooms whose UNSUBSCRIBE did not reach Redis (the link was down): retried on restore. */
    private final Set<String> unsubscribeFailed = ConcurrentHashMap.newKeySet();
    private final byte[] roomChannelPrefix;
    private final LongAdder published = new LongAdder();
    private final LongAdder received = new LongAdder();
    private final LongAdder lost = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder duplicates = new LongAdder();

    RedisRoomBus(RedisCluster node) {
        this.node = node;
        this.roomChannelPrefix = RedisCluster.bytes(node.roomChannel(""));
    }

    ClusterStats stats() {
        return new ClusterStats(published.sum(), received.sum(), lost.sum(), dropped.sum(),
                duplicates.sum());
    }

    @Override
    public synchronized Port connect(Receiver receiver, Executor loop) {
        Objects.requireNonNull(receiver, "receiver");
        Objects.requireNonNull(loop, "loop");
        if (ports.size() == 255) {
            throw new IllegalStateException("at most 255 loops per node");
        }
        Port lp = local.connect(receiver, loop);
        StatefulRedisConnection<byte[], byte[]> conn = node.client.connect(ByteArrayCodec.INSTANCE);
        conn.setAutoFlushCommands(false);
        ClusterPort p = new ClusterPort(lp, new Inbox(receiver, loop), conn);
        ports.add(p);
        return p;
    }

    /**
     * The numbering seen in one room from each origin loop, and frames found missing for each of
     * this node's loops. Lettuce's thread only (made on a loop thread, published through the
     * concurrent map).
     */
    static final class RoomIn {
        /** Per origin: current epoch, last number in it, previous epoch, last number in that. */
        final Map<Integer, long[]> byOrigin = new HashMap<>();
        /** Frames missing, per local loop, not told yet. */
        long[] missing = new long[0];
        /**
         * Set once Redis confirms the subscription: frames before it are left over from an
         * earlier subscription to the room (this node left and came back), delivered but not
         * counted, so that what was published while this node was away is not reported lost.
         */
        volatile boolean armed;

        /** @return frames missing before this one, or -1 if it was seen already */
        long track(int origin, long epoch, long seq) {
            if (!armed) {
                return 0;
            }
            long[] st = byOrigin.get(origin);
            if (st == null) {
                byOrigin.put(origin, new long[] {epoch, seq, -1, -1});
                return 0;
            }
            if (epoch == st[0]) {
                if (seq <= st[1]) {
                    return -1;
                }
                long gap = seq - st[1] - 1;
                st[1] = seq;
                return gap;
            }
            if (epoch < st[0]) {
                // An older epoch than the current one: a frame sent again after a reconnect.
                return -1;
            }
            // The origin started numbering this room again (it had left it and came back):
            // frames 1..seq-1 of the new epoch were sent while this node was subscribed.
            st[2] = st[0];
            st[3] = st[1];
            st[0] = epoch;
            st[1] = seq;
            return seq - 1;
        }

        void miss(int loop, long n) {
            if (loop >= missing.length) {
                missing = java.util.Arrays.copyOf(missing, loop + 1);
            }
            missing[loop] += n;
        }

        long takeMissing(int loop) {
            if (loop >= missing.length || missing[loop] == 0) {
                return 0;
            }
            long n = missing[loop];
            missing[loop] = 0;
            return n;
        }
    }

    private record RoomItem(String roomKey, Frame frame) {
    }

    private record ClientItem(long clientId, Frame frame) {
    }

    private record NoticeItem(Frame frame) {
    }

    private record NameLostItem(long clientId, String name, String reason) {
    }

    /**
     * What waits for one loop: filled on Lettuce's threads, drained on the loop, bounded by
     * {@link ClusterOptions#maxInboundBytes()} (room frames past it are dropped, and counted as
     * missing for that loop's members). One task drains at most what was queued when it started,
     * then queues itself again, so that a steady stream cannot keep a loop from its own work.
     */
    private final class Inbox implements Runnable {
        private final Receiver receiver;
        private final Executor loop;
        private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
        private final java.util.concurrent.atomic.AtomicInteger size =
                new java.util.concurrent.atomic.AtomicInteger();
        private final AtomicLong bytes = new AtomicLong();
        private final AtomicBoolean scheduled = new AtomicBoolean();

        Inbox(Receiver receiver, Executor loop) {
            this.receiver = receiver;
            this.loop = loop;
        }

        boolean isFull() {
            return bytes.get() > node.options.maxInboundBytes();
        }

        void add(Object item, int itemBytes) {
            bytes.addAndGet(itemBytes);
            queue.offer(item);
            size.incrementAndGet();
            schedule();
        }

        private void schedule() {
            if (scheduled.compareAndSet(false, true)) {
                try {
                    loop.execute(this);
                } catch (RuntimeException e) {
                    scheduled.set(false);
                }
            }
        }

        @Override
        public void run() {
            scheduled.set(false);
            int budget = size.get();
            long done = 0;
            Object o;
            while (budget-- > 0 && (o = queue.poll()) != null) {
                size.decrementAndGet();
                if (o instanceof RoomItem r) {
                    done += r.frame.length();
                    receiver.onRoomFrame(r.roomKey, r.frame);
                } else if (o instanceof ClientItem c) {
                    done += c.frame.length();
                    receiver.onClientFrame(c.clientId, c.frame);
                } else if (o instanceof NoticeItem n) {
                    done += n.frame.length();
                    receiver.onNotice(n.frame);
                } else if (o instanceof NameLostItem l) {
                    receiver.onNameLost(l.clientId, l.name, l.reason);
                }
            }
            bytes.addAndGet(-done);
            if (size.get() > 0) {
                schedule();
            }
        }
    }

    private final class ClusterPort implements Port {
        private final Port lp;
        private final Inbox inbox;
        private final StatefulRedisConnection<byte[], byte[]> conn;
        private final int shard;
        private final Set<String> subscribed = new HashSet<>();
        /** Per room published to: its channel and numbering. */
        private final Map<String, RoomOut> out = new HashMap<>();
        private final List<String> forget = new ArrayList<>();
        private final AtomicLong unacknowledged = new AtomicLong();
        private long epochs = System.currentTimeMillis() << 16;
        private boolean dirty;
        private volatile boolean closed;

        ClusterPort(Port lp, Inbox inbox, StatefulRedisConnection<byte[], byte[]> conn) {
            this.lp = lp;
            this.inbox = inbox;
            this.conn = conn;
            this.shard = node.slot << 8 | lp.shard();
        }

        @Override
        public int shard() {
            return shard;
        }

        @Override
        public void subscribe(String roomKey) {
            lp.subscribe(roomKey);
            if (!closed && subscribed.add(roomKey)) {
                subscriptions.compute(roomKey, (k, n) -> {
                    if (n == null) {
                        inbound.put(k, new RoomIn());
                        unsubscribeFailed.remove(k);
                        node.pubsub.async().subscribe(RedisCluster.bytes(node.roomChannel(k)));
                        return 1;
                    }
                    return n + 1;
                });
            }
        }

        @Override
        public void unsubscribe(String roomKey) {
            lp.unsubscribe(roomKey);
            if (subscribed.remove(roomKey)) {
                forget.add(roomKey);
                subscriptions.computeIfPresent(roomKey, (k, n) -> {
                    if (n == 1) {
                        inbound.remove(k);
                        if (!node.isClosed()) {
                            unsubscribeFromRedis(k);
                        }
                        return null;
                    }
                    return n - 1;
                });
            }
        }

        @Override
        public void publish(String roomKey, Frame frame) {
            lp.publish(roomKey, frame);
            if (closed) {
                return;
            }
            RoomOut o = out.get(roomKey);
            if (o == null) {
                o = new RoomOut(RedisCluster.bytes(node.roomChannel(roomKey)), ++epochs);
                out.put(roomKey, o);
            }
            int n = frame.length();
            ByteBuffer b = ByteBuffer.allocate(ROOM_HEADER + n);
            b.put(ROOM).putInt(shard).putLong(o.epoch).putLong(++o.seq);
            frame.copyTo(b);
            unacknowledged.addAndGet(n);
            dirty = true;
            published.increment();
            conn.async().publish(o.channel, b.array())
                    .whenComplete((r, e) -> unacknowledged.addAndGet(-n));
        }

        @Override
        public void send(int target, long clientId, Frame frame) {
            if (target >> 8 == node.slot) {
                lp.send(target & 0xFF, clientId, frame);
                return;
            }
            if (closed) {
                return;
            }
            int n = frame.length();
            unacknowledged.addAndGet(n);
            conn.async().publish(RedisCluster.bytes(node.nodeChannel(target >> 8)),
                    clientMessage(CLIENT, target, clientId, frame.asReadOnlyBuffer()))
                    .whenComplete((r, e) -> unacknowledged.addAndGet(-n));
            dirty = true;
        }

        @Override
        public void flush() {
            lp.flush();
            if (dirty && !closed) {
                dirty = false;
                conn.flushCommands();
            }
            if (!forget.isEmpty()) {
                for (String room : forget) {
                    if (!subscribed.contains(room)) {
                        out.remove(room);
                    }
                }
                forget.clear();
            }
        }

        @Override
        public boolean isBackedUp() {
            return lp.isBackedUp() || unacknowledged.get() > MAX_UNACKNOWLEDGED_BYTES;
        }

        @Override
        public void close() {
            for (String room : List.copyOf(subscribed)) {
                unsubscribe(room);
            }
            lp.close();
            shut();
        }

        void shut() {
            if (!closed) {
                closed = true;
                try {
                    conn.flushCommands();
                    conn.closeAsync();
                } catch (RuntimeException e) {
                    LOG.log(Level.DEBUG, "closing a loop's Redis connection: {0}", e.toString());
                }
            }
        }

        @Override
        public String toString() {
            return "RedisRoomBus.Port[shard " + shard + ", rooms=" + subscribed.size() + "]";
        }
    }

    private static final class RoomOut {
        final byte[] channel;
        final long epoch;
        long seq;

        RoomOut(byte[] channel, long epoch) {
            this.channel = channel;
            this.epoch = epoch;
        }
    }

    private static byte[] clientMessage(byte type, int target, long clientId, ByteBuffer body) {
        ByteBuffer b = ByteBuffer.allocate(CLIENT_HEADER + body.remaining());
        b.put(type).putInt(target).putLong(clientId).put(body);
        return b.array();
    }

    /** Cluster thread: a notice to a room on every node (a departure the origin cannot send). */
    void publishNotice(String roomKey, int origin, Frame frame) {
        ByteBuffer b = ByteBuffer.allocate(NOTICE_HEADER + frame.length());
        b.put(NOTICE).putInt(origin);
        frame.copyTo(b);
        node.control.async().publish(RedisCluster.bytes(node.roomChannel(roomKey)), b.array());
    }

    /** Lettuce or cluster thread: a notice for every client of this node. */
    void noticeAll(Frame frame) {
        for (ClusterPort p : ports) {
            p.inbox.add(new NoticeItem(frame), frame.length());
        }
    }

    /** A client (here or on another node) lost its name to an earlier claim: tell its loop. */
    void nameLost(int shard, long clientId, String name, String reason) {
        if (shard >> 8 == node.slot) {
            int i = shard & 0xFF;
            if (i < ports.size()) {
                ((RedisDirectory) node.directory()).forget(Directory.key(name),
                        new Directory.Holder(shard, clientId));
                ports.get(i).inbox.add(new NameLostItem(clientId, name, reason), 0);
            }
            return;
        }
        byte[] body = (name + "\n" + reason).getBytes(StandardCharsets.UTF_8);
        node.control.async().publish(RedisCluster.bytes(node.nodeChannel(shard >> 8)),
                clientMessage(NAME_LOST, shard, clientId, ByteBuffer.wrap(body)));
    }

    /**
     * Cluster thread, after the link came back: subscribes again to every room this node has
     * members in (Lettuce resubscribes what Redis had confirmed; a subscription asked for while
     * the link was down was refused, and is made here). Subscribing twice is harmless.
     */
    void resubscribe() {
        for (String room : List.copyOf(subscriptions.keySet())) {
            // Inside the entry: a room its last member is leaving now is not subscribed again.
            subscriptions.computeIfPresent(room, (k, n) -> {
                node.pubsub.async().subscribe(RedisCluster.bytes(node.roomChannel(k)));
                return n;
            });
        }
        for (String room : List.copyOf(unsubscribeFailed)) {
            subscriptions.compute(room, (k, n) -> {
                if (n == null) {
                    unsubscribeFromRedis(k);
                }
                return n;
            });
        }
    }

    private void unsubscribeFromRedis(String roomKey) {
        unsubscribeFailed.add(roomKey);
        node.pubsub.async().unsubscribe(RedisCluster.bytes(node.roomChannel(roomKey)))
                .whenComplete((r, e) -> {
                    if (e == null) {
                        unsubscribeFailed.remove(roomKey);
                    }
                });
    }

    /** Closes every loop's connection (the node is leaving); the ports become no-ops. */
    void closeAll() {
        for (ClusterPort p : ports) {
            p.shut();
        }
    }

    RedisPubSubListener<byte[], byte[]> listener() {
        return new RedisPubSubAdapter<>() {
            @Override
            public void subscribed(byte[] channel, long count) {
                if (channel.length > roomChannelPrefix.length
                        && java.util.Arrays.equals(channel, 0, roomChannelPrefix.length,
                                roomChannelPrefix, 0, roomChannelPrefix.length)) {
                    RoomIn in = inbound.get(roomKey(channel));
                    if (in != null) {
                        in.armed = true;
                    }
                }
            }

            @Override
            public void message(byte[] channel, byte[] message) {
                try {
                    onMessage(channel, message);
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "dropped a malformed cluster message on "
                            + new String(channel, StandardCharsets.UTF_8), e);
                }
            }
        };
    }

    /** Lettuce's thread: one message from Redis. */
    private void onMessage(byte[] channel, byte[] m) {
        if (m.length < NOTICE_HEADER) {
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(m);
        byte type = b.get();
        int shard = b.getInt();
        switch (type) {
            case ROOM -> {
                if (m.length < ROOM_HEADER || shard >> 8 == node.slot) {
                    return;
                }
                String roomKey = roomKey(channel);
                RoomIn in = inbound.get(roomKey);
                if (in == null) {
                    return;
                }
                long gap = in.track(shard, b.getLong(), b.getLong());
                if (gap < 0) {
                    duplicates.increment();
                    return;
                }
                received.increment();
                if (gap > 0) {
                    lost.add(gap);
                }
                deliver(roomKey, in, gap, Frame.fromBytes(m, ROOM_HEADER, m.length - ROOM_HEADER));
            }
            case NOTICE -> {
                if (shard != -1 && shard >> 8 == node.slot) {
                    return;
                }
                String roomKey = roomKey(channel);
                RoomIn in = inbound.get(roomKey);
                if (in != null) {
                    deliver(roomKey, in, 0, Frame.fromBytes(m, NOTICE_HEADER,
                            m.length - NOTICE_HEADER));
                }
            }
            case CLIENT, NAME_LOST -> {
                if (m.length < CLIENT_HEADER || shard >> 8 != node.slot
                        || (shard & 0xFF) >= ports.size()) {
                    return;
                }
                long clientId = b.getLong();
                Inbox inbox = ports.get(shard & 0xFF).inbox;
                if (type == CLIENT) {
                    Frame f = Frame.fromBytes(m, CLIENT_HEADER, m.length - CLIENT_HEADER);
                    inbox.add(new ClientItem(clientId, f), f.length());
                } else {
                    String body = new String(m, CLIENT_HEADER, m.length - CLIENT_HEADER,
                            StandardCharsets.UTF_8);
                    int nl = body.indexOf('\n');
                    if (nl > 0) {
                        nameLost(shard, clientId, body.substring(0, nl), body.substring(nl + 1));
                    }
                }
            }
            default -> LOG.log(Level.DEBUG, "unknown cluster message type {0}", type);
        }
    }

    /**
     * Queues a room frame for each of this node's loops with members in the room; a loop too far
     * behind drops it, and its members are told how many they missed with the next frame that
     * reaches them.
     */
    private void deliver(String roomKey, RoomIn in, long gap, Frame frame) {
        for (int i : local.subscribers(roomKey)) {
            Inbox inbox = ports.get(i).inbox;
            if (gap > 0) {
                in.miss(i, gap);
            }
            if (inbox.isFull()) {
                dropped.increment();
                in.miss(i, 1);
                continue;
            }
            long n = in.takeMissing(i);
            if (n > 0) {
                Frame notice = Frame.notice(n + (n == 1 ? " message" : " messages")
                        + " in this room did not arrive from another server");
                inbox.add(new RoomItem(roomKey, notice), notice.length());
            }
            inbox.add(new RoomItem(roomKey, frame), frame.length());
        }
    }

    private String roomKey(byte[] channel) {
        int p = roomChannelPrefix.length;
        return new String(channel, p, channel.length - p, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "RedisRoomBus[node " + node.slot + ", loops=" + ports.size() + ", rooms="
                + subscriptions.size() + "]";
    }
}
