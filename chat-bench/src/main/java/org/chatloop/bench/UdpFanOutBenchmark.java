package org.chatloop.bench;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.chatloop.bench.peers.UdpPeer;
import org.chatloop.bench.peers.UdpPeerServer;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * UDP fan-out: one publisher sends datagrams of {@code size} bytes to {@code subscribers} over
 * loopback, through each {@link UdpPeer} in turn, under the same harness ({@link UdpFanOutHarness}),
 * parameters and client code. The figures are {@code datagrams}, delivered to subscribers per
 * second, and {@code lost}, the datagrams that never arrived (with {@code received}, the same
 * deliveries as a count, so that a report can state the loss as a share:
 * {@code lost / (received + lost)}). {@code serverDropped} is what the server itself says it gave
 * up on (part of {@code lost}, 0 where the server cannot know).
 *
 * <p>UDP may lose datagrams, so a loss does not fail the run; a loss of more than half of what
 * should have arrived in one batch does (something is broken, not merely lossy). Out-of-order
 * arrivals are counted by the harness, not reported here.
 *
 * <p>Each server runs in the benchmark JVM on its own thread; the load generator is the benchmark
 * thread. On a 2-core machine the server gets one core and the clients the other.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class UdpFanOutBenchmark {
    /** Sequence numbers in flight at most beyond the slowest subscriber. */
    static final int WINDOW = UdpFanOutHarness.DEFAULT_WINDOW;
    /** Deliveries per benchmark invocation, roughly. */
    static final int DELIVERIES_PER_BATCH = 200_000;
    /** Above this share of a batch lost, the run fails. */
    static final double MAX_LOSS = 0.5;

    @Param({"CHATLOOP", "CHATLOOP_VALIDATING", "NETTY_NIO", "BLOCKING_THREAD"})
    public UdpPeer peer;

    @Param({"1", "10", "100"})
    public int subscribers;

    @Param({"64"})
    public int size;

    private UdpPeerServer server;
    private UdpFanOutHarness harness;
    private int batch;

    /** Delivered datagrams, reported by JMH as a rate next to the invocation rate. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Delivered {
        /** Data datagrams subscribers received in this iteration. */
        public long datagrams;

        /** Zeroes the counter. */
        @Setup(Level.Iteration)
        public void reset() {
            datagrams = 0;
        }
    }

    /** Loss, reported by JMH as totals per iteration. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Loss {
        /** Datagrams that should have reached a subscriber in this iteration but did not. */
        public long lost;
        /** Datagrams that did (the same as {@code datagrams}, as a count). */
        public long received;
        /** Datagrams the server reports it gave up on in this iteration. */
        public long serverDropped;

        /** Zeroes the counters. */
        @Setup(Level.Iteration)
        public void reset() {
            lost = 0;
            received = 0;
            serverDropped = 0;
        }
    }

    /** Starts the server and registers the clients. */
    @Setup(Level.Trial)
    public void start() throws IOException {
        server = peer.start();
        harness = new UdpFanOutHarness(server.port(), subscribers, size, WINDOW);
        batch = Math.max(WINDOW, DELIVERIES_PER_BATCH / subscribers);
    }

    /**
     * Publishes one batch.
     *
     * @return datagrams delivered
     */
    @Benchmark
    public long fanOut(Delivered delivered, Loss loss) throws IOException {
        long droppedBefore = server.dropped();
        UdpFanOutHarness.Batch b = harness.publish(batch, TimeUnit.SECONDS.toNanos(60));
        delivered.datagrams += b.delivered();
        loss.lost += b.lost();
        loss.received += b.delivered();
        loss.serverDropped += server.dropped() - droppedBefore;
        if (b.lost() > MAX_LOSS * b.expected()) {
            throw new IOException(peer + " lost " + b.lost() + " of " + b.expected()
                    + " datagrams in one batch: something is broken; " + harness + ", " + server);
        }
        return b.delivered();
    }

    /** Closes the clients, then the server. */
    @TearDown(Level.Trial)
    public void stop() throws IOException {
        try {
            if (harness != null) {
                harness.close();
            }
        } finally {
            if (server != null) {
                server.close();
            }
        }
    }
}
