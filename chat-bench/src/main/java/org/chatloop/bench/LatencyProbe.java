package org.chatloop.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.chatloop.bench.peers.Peer;
import org.chatloop.bench.peers.PeerServer;
import org.chatloop.redis.RedisServerProcess;

/**
 * Delivery latency at a fixed publish rate: one publisher sends 64-byte lines at {@code RATE}
 * messages per second to {@code N} subscribers, and every delivery's latency (publisher's write to
 * the subscriber's read, same clock, same process) goes into an HdrHistogram. Prints a Markdown
 * table of p50, p99, p99.9 and max per peer, and the rate achieved (below {@code RATE} when the
 * server cannot keep up: the publisher then waits on its window of 4096 messages in flight).
 *
 * <pre>
 * java -cp chat-bench/target/benchmarks.jar org.chatloop.bench.LatencyProbe \
 *     [--rate 10000] [--subscribers 100] [--seconds 10] [--warmup 3] [--peer PEER ...] [PEER ...]
 * </pre>
 * A peer is a {@link Peer} (a single server) or a {@link ClusterPeer}: {@code SINGLE_NODE},
 * {@code ONE_NODE_REDIS}, {@code TWO_NODES} (servers joined over a Redis that the probe starts
 * for the peer, the subscribers split across them, the publisher on the first; measured once
 * Redis reports every node subscribed, and failed if a node lost or dropped a frame).
 * Default peers: CHATLOOP, NETTY_TUNED_NIO, NETTY_IDIOMATIC.
 */
public final class LatencyProbe {
    private static final int WINDOW = 4096;

    private LatencyProbe() {
    }

    /** @param args flags and peers, as in the class comment */
    public static void main(String[] args) throws IOException {
        int rate = 10_000;
        int subscribers = 100;
        int seconds = 10;
        int warmup = 3;
        List<String> peers = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rate" -> rate = Integer.parseInt(args[++i]);
                case "--subscribers" -> subscribers = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--peer" -> peers.add(peerName(args[++i]));
                default -> peers.add(peerName(args[i]));
            }
        }
        if (peers.isEmpty()) {
            peers = List.of(Peer.CHATLOOP.name(), Peer.NETTY_TUNED_NIO.name(),
                    Peer.NETTY_IDIOMATIC.name());
        }
        System.out.printf(Locale.ROOT, "%nDelivery latency, %d msg/s of 64-byte lines to %d "
                + "subscribers, %d s measured after %d s warm-up (microseconds)%n%n"
                + "| peer | deliveries | msg/s achieved | p50 | p99 | p99.9 | max |%n"
                + "|---|---:|---:|---:|---:|---:|---:|%n",
                rate, subscribers, seconds, warmup);
        for (String peer : peers) {
            if (isClusterPeer(peer)) {
                ClusterPeer cluster = ClusterPeer.valueOf(peer);
                try (RedisServerProcess redis = cluster.usesRedis() ? RedisServerProcess.start()
                        : null;
                     ClusterPeer.Nodes nodes = cluster.start(redis)) {
                    measure(peer, nodes.ports(), subscribers, rate, seconds, warmup,
                            () -> nodes.awaitSubscribed(30_000));
                    nodes.checkNoLoss();
                }
            } else {
                try (PeerServer server = Peer.valueOf(peer).start()) {
                    measure(peer, new int[] {server.port()}, subscribers, rate, seconds, warmup,
                            () -> { });
                }
            }
        }
    }

    private static boolean isClusterPeer(String name) {
        for (ClusterPeer c : ClusterPeer.values()) {
            if (c.name().equals(name)) {
                return true;
            }
        }
        return false;
    }

    /** @return {@code name} if it names a {@link Peer} or a {@link ClusterPeer} */
    private static String peerName(String name) {
        if (!isClusterPeer(name)) {
            Peer.valueOf(name); // IllegalArgumentException for a name of neither
        }
        return name;
    }

    /**
     * Connects the harness (the subscribers over {@code ports}), runs {@code ready}, warms up,
     * measures and prints the peer's row.
     */
    private static void measure(String label, int[] ports, int subscribers, int rate, int seconds,
                                int warmup, Runnable ready) throws IOException {
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        long delivered;
        double achieved;
        try (FanOutHarness harness = FanOutHarness.spread(ports, subscribers, 64, WINDOW)) {
            ready.run();
            if (warmup > 0) {
                harness.publishAtRate(rate * warmup, rate, new Histogram(3),
                        TimeUnit.SECONDS.toNanos(warmup + 30L));
            }
            long start = System.nanoTime();
            delivered = harness.publishAtRate(rate * seconds, rate, h,
                    TimeUnit.SECONDS.toNanos(seconds + 30L));
            achieved = (double) rate * seconds * 1e9 / (System.nanoTime() - start);
        }
        System.out.printf(Locale.ROOT, "| %s | %d | %.0f | %.1f | %.1f | %.1f | %.1f |%n", label,
                delivered, achieved, h.getValueAtPercentile(50) / 1e3,
                h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3,
                h.getMaxValue() / 1e3);
    }
}
