package org.chatloop.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.chatloop.bench.peers.Peer;
import org.chatloop.bench.peers.PeerServer;

/**
 * Delivery latency at a fixed publish rate: one publisher sends 64-byte lines at {@code RATE}
 * messages per second to {@code N} subscribers, and every delivery's latency (publisher's write to
 * the subscriber's read, same clock, same process) goes into an HdrHistogram. Prints a Markdown
 * table of p50, p99, p99.9 and max per peer.
 *
 * <pre>
 * java -cp chat-bench/target/benchmarks.jar org.chatloop.bench.LatencyProbe \
 *     [--rate 10000] [--subscribers 100] [--seconds 10] [--warmup 3] [PEER ...]
 * </pre>
 * Default peers: CHATLOOP, NETTY_TUNED_NIO, NETTY_IDIOMATIC.
 */
public final class LatencyProbe {
    private LatencyProbe() {
    }

    /** @param args flags and peers, as in the class comment */
    public static void main(String[] args) throws IOException {
        int rate = 10_000;
        int subscribers = 100;
        int seconds = 10;
        int warmup = 3;
        List<Peer> peers = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rate" -> rate = Integer.parseInt(args[++i]);
                case "--subscribers" -> subscribers = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                default -> peers.add(Peer.valueOf(args[i]));
            }
        }
        if (peers.isEmpty()) {
            peers = List.of(Peer.CHATLOOP, Peer.NETTY_TUNED_NIO, Peer.NETTY_IDIOMATIC);
        }
        System.out.printf(Locale.ROOT, "%nDelivery latency, %d msg/s of 64-byte lines to %d "
                + "subscribers, %d s measured after %d s warm-up (microseconds)%n%n"
                + "| peer | deliveries | p50 | p99 | p99.9 | max |%n|---|---:|---:|---:|---:|---:|%n",
                rate, subscribers, seconds, warmup);
        for (Peer peer : peers) {
            Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
            long delivered;
            try (PeerServer server = peer.start();
                 FanOutHarness harness = new FanOutHarness(server.port(), subscribers, 64, 4096)) {
                if (warmup > 0) {
                    harness.publishAtRate(rate * warmup, rate, new Histogram(3),
                            TimeUnit.SECONDS.toNanos(warmup + 30L));
                }
                delivered = harness.publishAtRate(rate * seconds, rate, h,
                        TimeUnit.SECONDS.toNanos(seconds + 30L));
            }
            System.out.printf(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.1f | %.1f |%n", peer,
                    delivered, h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                    h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3);
        }
    }
}
