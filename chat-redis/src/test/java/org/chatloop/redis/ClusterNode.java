package org.chatloop.redis;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Client;
import org.chatloop.core.ClientOutput;
import org.chatloop.core.Frame;
import org.chatloop.core.HubGroup;
import org.chatloop.core.HubOptions;

/**
 * One node of a test cluster in this JVM: a {@link RedisCluster} and the hub group of its loops,
 * with clients that record what they are sent. A test talks to the hubs as a transport would, on
 * their loop threads.
 */
final class ClusterNode implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(15);

    final RedisCluster cluster;
    final HubGroup group;
    private final List<Member> members = new ArrayList<>();
    private static final java.util.concurrent.atomic.AtomicInteger PORTS =
            new java.util.concurrent.atomic.AtomicInteger(40000);

    ClusterNode(RedisCluster cluster, HubGroup group) {
        this.cluster = cluster;
        this.group = group;
    }

    static ClusterNode start(RedisServerProcess redis, String name, int loops) {
        return start(ClusterOptions.of(URI.create(redis.uri())).withNodeName(name), loops);
    }

    static ClusterNode start(ClusterOptions options, int loops) {
        RedisCluster c = RedisCluster.connect(options);
        return new ClusterNode(c, c.startGroup(loops, HubOptions.defaults(), options.nodeName()));
    }

    /** A client that records its frames; its lines are handled on its hub's loop. */
    final class Member implements ClientOutput {
        final int loop;
        final CopyOnWriteArrayList<String> lines = new CopyOnWriteArrayList<>();
        volatile boolean closed;
        Client client;

        Member(int loop) {
            this.loop = loop;
        }

        @Override
        public void send(Frame frame) {
            lines.add(frame.text());
        }

        @Override
        public void close() {
            closed = true;
        }

        ChatHub hub() {
            return group.hub(loop);
        }

        /** Sends a line as the client, on its loop, and waits until the hub has handled it. */
        void say(String line) {
            onLoop(() -> hub().onLine(client, line));
        }

        /** Waits until a line matching {@code p} arrives; returns it. */
        String await(Predicate<String> p, String what) {
            return awaitAfter(0, p, what);
        }

        /** @return how many lines the client has received so far */
        int lineCount() {
            return lines.size();
        }

        /** Waits until a line matching {@code p} arrives after the first {@code from}; returns it. */
        String awaitAfter(int from, Predicate<String> p, String what) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                List<String> now = List.copyOf(lines);
                for (int i = from; i < now.size(); i++) {
                    if (p.test(now.get(i))) {
                        return now.get(i);
                    }
                }
                pause();
            }
            List<String> all = List.copyOf(lines);
            throw new AssertionError("no line " + what + " within " + WAIT + "; got " + all.size()
                    + " lines, the last: " + all.subList(Math.max(0, all.size() - 12), all.size()));
        }

        String awaitLine(String exact) {
            return await(exact::equals, "'" + exact + "'");
        }

        String awaitContaining(String part) {
            return await(l -> l.contains(part), "containing '" + part + "'");
        }

        /** Renames the client and waits for the hub's answer. */
        void nick(String name) {
            say("/nick " + name);
            awaitContaining("is now known as " + name);
        }

        void onLoop(Runnable r) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            group.loop(loop).execute(() -> {
                try {
                    r.run();
                    done.complete(null);
                } catch (RuntimeException e) {
                    done.completeExceptionally(e);
                }
            });
            try {
                done.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                throw new AssertionError("loop " + loop + " did not run the task", e);
            }
        }
    }

    /** Connects a client on loop {@code loop}, as a transport would, and waits for its welcome. */
    Member connect(int loop) {
        Member m = new Member(loop);
        int port = PORTS.getAndIncrement();
        m.onLoop(() -> m.client = m.hub().connect("127.0.0.1:" + port, m));
        m.awaitContaining("welcome");
        members.add(m);
        return m;
    }

    Member connect() {
        return connect(0);
    }

    /** Connects a client on loop {@code loop} and gives it the nick {@code nick}. */
    Member named(int loop, String nick) {
        Member m = connect(loop);
        m.nick(nick);
        return m;
    }

    Member named(String nick) {
        return named(0, nick);
    }

    static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        try {
            cluster.close();
        } finally {
            group.stop();
        }
    }
}
