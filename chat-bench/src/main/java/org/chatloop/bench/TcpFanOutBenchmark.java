package org.chatloop.bench;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.chatloop.bench.peers.Peer;
import org.chatloop.bench.peers.PeerServer;
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
 * TCP fan-out: one publisher sends lines of {@code size} bytes to a room of {@code subscribers}
 * over loopback; the figure is {@code deliveries} per second (subscribers x published), measured
 * side by side for every {@link Peer} under the same harness ({@link FanOutHarness}), parameters and
 * client code. A run with a loss, gap or reordering fails instead of reporting.
 *
 * <p>Each server runs in the benchmark JVM on its own I/O thread(s); the load generator is the
 * benchmark thread. On a 2-core machine the server loop gets one core and the clients the other.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class TcpFanOutBenchmark {
    /** Messages in flight at most (closed loop). */
    static final int WINDOW = 256;
    /** Deliveries per benchmark invocation, roughly. */
    static final int DELIVERIES_PER_BATCH = 200_000;

    @Param({"CHATLOOP", "NETTY_IDIOMATIC", "NETTY_TUNED_NIO", "NETTY_TUNED_EPOLL",
        "THREAD_PER_CLIENT", "FLOOR"})
    public Peer peer;

    @Param({"1", "10", "100", "1000"})
    public int subscribers;

    @Param({"64", "1024"})
    public int size;

    private PeerServer server;
    private FanOutHarness harness;
    private int batch;

    /** Delivered messages, reported by JMH as a rate next to the invocation rate. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Deliveries {
        /** Messages delivered to subscribers in this iteration. */
        public long deliveries;

        @Setup(Level.Iteration)
        public void reset() {
            deliveries = 0;
        }
    }

    @Setup(Level.Trial)
    public void start() throws IOException {
        server = peer.start();
        harness = new FanOutHarness(server.port(), subscribers, size, WINDOW);
        batch = Math.max(WINDOW, DELIVERIES_PER_BATCH / subscribers);
    }

    @Benchmark
    public long fanOut(Deliveries counters) throws IOException {
        long d = harness.publish(batch, TimeUnit.SECONDS.toNanos(60));
        counters.deliveries += d;
        return d;
    }

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
