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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * TCP fan-out: one publisher sends lines of {@code size} bytes to a room of {@code subscribers}
 * over loopback; the figure is {@code deliveries} per second (subscribers x published), measured
 * side by side for every {@link Peer} under the same harness ({@link FanOutHarness}), parameters and
 * client code. A run with a loss, gap or reordering fails instead of reporting.
 *
 * <p>Each server runs in the benchmark JVM on its own I/O thread(s); the load generator is the
 * benchmark thread. On a 2-core machine the server loop gets one core and the clients the other
 * ({@link Peer#CHATLOOP_2_LOOPS}, left out of the default peers, puts two loops on them).
 *
 * <p>A second figure, {@code loopCpuNanosPerDelivery}, is the server's CPU per delivery: the CPU
 * time its I/O threads ({@link PeerServer#isServerThread}: chatloop's {@code chat-tcp-PORT[-i]}
 * loops, the floor's loop, Netty's event loop) used over the iteration, user and system time
 * summed over the threads, divided by the iteration's deliveries. It is in nanoseconds, whatever
 * the unit JMH prints beside it (see {@link Deliveries#loopCpuNanosPerDelivery}).
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

    /**
     * Delivered messages, reported by JMH as a rate next to the invocation rate, and the server's
     * CPU time per delivery.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Deliveries {
        /** Messages delivered to subscribers in this iteration. */
        public long deliveries;
        /**
         * The server threads' CPU nanoseconds per delivery in this iteration (NaN if the peer
         * names no threads). JMH divides every {@code OPERATIONS} counter by the iteration's
         * measured time, and averages iterations (an {@code EVENTS} counter would be summed over
         * them), so {@link #measure} stores the ratio multiplied by the time from the start of the
         * iteration's first invocation to the end of its last: what JMH divides by, to within
         * the loop's few nanoseconds around them. The printed unit ({@code ops/s}) is JMH's; the
         * figure is nanoseconds per delivery.
         */
        public double loopCpuNanosPerDelivery;

        private ThreadCpu cpu;
        private long firstStart;
        private long lastEnd;
        private boolean started;

        @Setup(Level.Iteration)
        public void reset() {
            deliveries = 0;
            loopCpuNanosPerDelivery = 0;
            started = false;
            cpu = null;
        }

        /**
         * Counts one invocation's deliveries, made between two {@link System#nanoTime()}s, and
         * keeps the server's CPU clock (started at the start of the iteration).
         */
        void add(long delivered, long startNanos, long endNanos, ThreadCpu serverCpu) {
            if (!started) {
                started = true;
                firstStart = startNanos;
                cpu = serverCpu;
            }
            lastEnd = endNanos;
            deliveries += delivered;
        }

        @TearDown(Level.Iteration)
        public void measure(BenchmarkParams params) {
            long cpuNanos = cpu == null ? -1 : cpu.elapsedNanos();
            if (cpuNanos < 0 || deliveries == 0 || !started) {
                loopCpuNanosPerDelivery = Double.NaN;
                return;
            }
            double perDelivery = (double) cpuNanos / deliveries;
            double measuredUnits = (double) (lastEnd - firstStart)
                    / params.getTimeUnit().toNanos(1);
            loopCpuNanosPerDelivery = perDelivery * measuredUnits;
        }
    }

    /** The server's I/O threads' CPU time, for {@link Deliveries#loopCpuNanosPerDelivery}. */
    private ThreadCpu serverCpu;

    @Setup(Level.Trial)
    public void start() throws IOException {
        server = peer.start();
        harness = new FanOutHarness(server.port(), subscribers, size, WINDOW);
        batch = Math.max(WINDOW, DELIVERIES_PER_BATCH / subscribers);
        serverCpu = new ThreadCpu(server::isServerThread);
    }

    @Benchmark
    public long fanOut(Deliveries counters) throws IOException {
        long start = System.nanoTime();
        long d = harness.publish(batch, TimeUnit.SECONDS.toNanos(60));
        counters.add(d, start, System.nanoTime(), serverCpu);
        return d;
    }

    /**
     * Finds the server's threads and starts their CPU clock (the same state as the benchmark: a
     * {@link Deliveries} fixture taking this state would get an instance, and a server, of its own).
     */
    @Setup(Level.Iteration)
    public void startCpuClock() {
        serverCpu.start();
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
