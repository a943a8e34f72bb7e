package org.chatloop.core;

import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;

/**
 * The in-process {@link RoomBus}: the loops of one process hand each other frames through their
 * executors. During a pass, what a shard publishes is appended to one batch per other shard
 * subscribed to the room (an array store: the frame is shared, never copied); at the end of the
 * pass ({@link Port#flush()}) each non-empty batch is handed over with one
 * {@link Executor#execute}, so one queue offer and at most one wakeup per target shard per pass,
 * however many messages and recipients it carries. The target delivers the batch in order.
 *
 * <p>Subscriptions are a concurrent map from room key to a copy-on-write array of shard numbers:
 * a publish reads it without a lock; a subscribe or unsubscribe (a room's first member arrives, its
 * last leaves) copies it. A shard with the only members of a room pays one map lookup per
 * message.
 *
 * <p>Thread safe: ports may be connected from any thread; each port is used by its own loop.
 */
public final class LocalRoomBus implements RoomBus {
    private static final int[] NONE = new int[0];
    /**
     * Bytes of frames a port may have published and not yet seen delivered, over every other
     * shard, before {@link Port#isBackedUp()}: a quarter of a connection's default pending-output
     * bound, so that a reader on another shard is congested, and its room paused, well before it
     * is dropped as too slow.
     */
    static final long MAX_IN_FLIGHT_BYTES = 256 * 1024;

    private final CopyOnWriteArrayList<LocalPort> ports = new CopyOnWriteArrayList<>();
    private final ConcurrentHashMap<String, int[]> subscribers = new ConcurrentHashMap<>();

    @Override
    public synchronized Port connect(Receiver receiver, Executor loop) {
        LocalPort p = new LocalPort(ports.size(), Objects.requireNonNull(receiver, "receiver"),
                Objects.requireNonNull(loop, "loop"));
        ports.add(p);
        return p;
    }

    /** @return the shards subscribed to a room now (a copy), for tests and diagnostics */
    public int[] subscribers(String roomKey) {
        return subscribers.getOrDefault(roomKey, NONE).clone();
    }

    /** Frames for one target shard, in publish order: room frames and client frames. */
    private static final class Batch implements Runnable {
        private final Receiver target;
        /** Bytes of the frames, added to {@link #inFlight} at hand-off, removed once delivered. */
        long bytes;
        java.util.concurrent.atomic.AtomicLong inFlight;
        private String[] rooms = new String[8];
        private long[] clients = new long[8];
        private Frame[] frames = new Frame[8];
        private int size;

        Batch(Receiver target) {
            this.target = target;
        }

        void add(String room, long client, Frame frame) {
            if (size == frames.length) {
                rooms = Arrays.copyOf(rooms, size * 2);
                clients = Arrays.copyOf(clients, size * 2);
                frames = Arrays.copyOf(frames, size * 2);
            }
            rooms[size] = room;
            clients[size] = client;
            frames[size] = frame;
            size++;
            if (frame != null) {
                bytes += frame.length();
            }
        }

        @Override
        public void run() {
            for (int i = 0; i < size; i++) {
                if (rooms[i] != null) {
                    target.onRoomFrame(rooms[i], frames[i]);
                } else {
                    target.onClientFrame(clients[i], frames[i]);
                }
            }
            if (inFlight != null) {
                inFlight.addAndGet(-bytes);
            }
        }
    }

    private final class LocalPort implements Port {
        private final int shard;
        private final Receiver receiver;
        private final Executor loop;
        /** The batch being filled for each other shard (by number), or null. */
        private Batch[] outbox = new Batch[0];
        private final java.util.Set<String> subscribed = new java.util.HashSet<>();
        /** Bytes handed to other shards and not yet delivered there (they subtract them). */
        private final java.util.concurrent.atomic.AtomicLong inFlight =
                new java.util.concurrent.atomic.AtomicLong();
        /** Bytes batched this pass, not handed over yet. */
        private long unflushed;

        LocalPort(int shard, Receiver receiver, Executor loop) {
            this.shard = shard;
            this.receiver = receiver;
            this.loop = loop;
        }

        @Override
        public int shard() {
            return shard;
        }

        @Override
        public void subscribe(String roomKey) {
            if (subscribed.add(roomKey)) {
                subscribers.compute(roomKey, (k, s) -> {
                    int[] now = s == null ? NONE : s;
                    int[] more = Arrays.copyOf(now, now.length + 1);
                    more[now.length] = shard;
                    return more;
                });
            }
        }

        @Override
        public void unsubscribe(String roomKey) {
            if (subscribed.remove(roomKey)) {
                subscribers.computeIfPresent(roomKey, (k, s) -> {
                    int[] fewer = new int[s.length - 1];
                    int n = 0;
                    for (int x : s) {
                        if (x != shard && n < fewer.length) {
                            fewer[n++] = x;
                        }
                    }
                    return n == 0 ? null : fewer;
                });
            }
        }

        @Override
        public void publish(String roomKey, Frame frame) {
            int[] subs = subscribers.get(roomKey);
            if (subs == null) {
                return;
            }
            for (int s : subs) {
                if (s != shard) {
                    batchFor(s).add(roomKey, 0, frame);
                    unflushed += frame.length();
                }
            }
        }

        @Override
        public void send(int target, long clientId, Frame frame) {
            if (target == shard) {
                receiver.onClientFrame(clientId, frame);
                return;
            }
            batchFor(target).add(null, clientId, frame);
        }

        private Batch batchFor(int target) {
            if (target >= outbox.length) {
                outbox = Arrays.copyOf(outbox, ports.size());
            }
            Batch b = outbox[target];
            if (b == null) {
                b = new Batch(ports.get(target).receiver);
                outbox[target] = b;
            }
            return b;
        }

        @Override
        public void flush() {
            for (int i = 0; i < outbox.length; i++) {
                Batch b = outbox[i];
                if (b != null) {
                    outbox[i] = null;
                    b.inFlight = inFlight;
                    inFlight.addAndGet(b.bytes);
                    ports.get(i).loop.execute(b);
                }
            }
            unflushed = 0;
        }

        @Override
        public boolean isBackedUp() {
            return unflushed + inFlight.get() > MAX_IN_FLIGHT_BYTES;
        }

        @Override
        public void close() {
            for (String room : java.util.List.copyOf(subscribed)) {
                unsubscribe(room);
            }
            flush();
        }

        @Override
        public String toString() {
            return "LocalRoomBus.Port[shard " + shard + ", rooms=" + subscribed.size() + "]";
        }
    }

    @Override
    public String toString() {
        return "LocalRoomBus[shards=" + ports.size() + ", rooms=" + subscribers.size() + "]";
    }
}
