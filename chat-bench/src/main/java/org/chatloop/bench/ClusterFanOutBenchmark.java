package org.chatloop.bench;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.chatloop.redis.RedisServerProcess;
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
 * TCP fan-out across a cluster of chat servers over Redis, side by side with a single server: one
 * publisher sends lines of {@code size} bytes to the lobby, whose {@code subscribers} are split
 * across the {@link ClusterPeer}'s servers (subscriber {@code i} on server {@code i % n}, the
 * publisher on the first); the figure is {@code deliveries} per second, the harness and closed-loop
 * window those of {@link TcpFanOutBenchmark} ({@link FanOutHarness}). A run with a loss, gap or
 * reordering at any subscriber fails instead of reporting, and so does a cluster node that counted
 * a lost or dropped frame ({@code ClusterStats}).
 *
 * <p>Everything runs on this machine: the servers (one loop each) and the Redis clients (Lettuce)
 * in the benchmark JVM, Redis as a child process ({@link RedisServerProcess}: the redis-server of
 * {@code -Dchatloop.redis.server}, else the embedded-redis binary), the load generator on the
 * benchmark thread. A fresh Redis is started per trial; before measuring, Redis must report one
 * subscriber of the lobby's channel per node ({@code PUBSUB NUMSUB}).
 *
 * <p>Further figures, per iteration (JMH divides every {@code OPERATIONS} counter by the
 * iteration's time, so the ratios are stored multiplied by it, as in
 * {@link TcpFanOutBenchmark.Deliveries#loopCpuNanosPerDelivery}; the printed unit {@code ops/s}
 * is JMH's):
 * <ul>
 *   <li>{@code loopCpuNanosPerDelivery}: the servers' loop threads' CPU time
 *       ({@code chat-tcp-PORT}, every node's) per delivery;</li>
 *   <li>{@code redisClientCpuNanosPerDelivery}: the Redis client threads' CPU time (Lettuce's
 *       {@code lettuce-*} and the nodes' {@code chatloop-cluster}) per delivery; NaN without
 *       Redis;</li>
 *   <li>{@code redisCpuNanosPerMessage}: the redis-server process's CPU time ({@code INFO cpu})
 *       per published message; NaN without Redis;</li>
 *   <li>{@code redisPublishesPerMessage}: {@code PUBLISH} calls ({@code INFO commandstats}, reset
 *       by {@code CONFIG RESETSTAT} at the iteration's start) per published message, and
 *       {@code redisCommandsPerMessage} the same for every command but {@code CONFIG} and
 *       {@code INFO} (the nodes' heartbeats included); NaN without Redis;</li>
 *   <li>{@code lostOrReordered}: frames the cluster nodes counted lost or dropped in the iteration;
 *       the iteration fails if it is not 0 (a subscriber's loss or reordering fails it before).</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class ClusterFanOutBenchmark {
    /** How long the nodes may take to subscribe to the lobby's channel. */
    private static final long SUBSCRIBE_TIMEOUT_MILLIS = 30_000;

    @Param({"SINGLE_NODE", "ONE_NODE_REDIS", "TWO_NODES"})
    public ClusterPeer peer;

    @Param({"1000"})
    public int subscribers;

    @Param({"64"})
    public int size;

    private RedisServerProcess redis;
    private ClusterPeer.Nodes nodes;
    private FanOutHarness harness;
    private int batch;
    /** The servers' loop threads. */
    private ThreadCpu loopCpu;
    /** The Redis client threads (Lettuce's, the nodes' timers). */
    private ThreadCpu clientCpu;
    private RedisCounters redisAtStart;
    private long lossAtStart;

    /** What one iteration measured, beside its deliveries. */
    record IterationEnd(long loopCpuNanos, long clientCpuNanos, RedisCounters redis,
                        long redisCpuNanos, long lostOrDropped) {
    }

    /**
     * Delivered messages, reported by JMH as a rate next to the invocation rate, and the figures
     * of the class comment.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Deliveries {
        /** Messages delivered to subscribers in this iteration. */
        public long deliveries;
        /** The servers' loop threads' CPU nanoseconds per delivery. */
        public double loopCpuNanosPerDelivery;
        /** The Redis client threads' CPU nanoseconds per delivery (NaN without Redis). */
        public double redisClientCpuNanosPerDelivery;
        /** The redis-server process's CPU nanoseconds per published message (NaN without Redis). */
        public double redisCpuNanosPerMessage;
        /** Redis {@code PUBLISH} calls per published message (NaN without Redis). */
        public double redisPublishesPerMessage;
        /** Redis commands (but {@code CONFIG}, {@code INFO}) per published message (NaN without Redis). */
        public double redisCommandsPerMessage;
        /** Frames the cluster nodes lost or dropped in this iteration (must be 0). */
        public double lostOrReordered;

        private ClusterFanOutBenchmark bench;
        private long messages;
        private long firstStart;
        private long lastEnd;
        private boolean started;

        @Setup(Level.Iteration)
        public void reset() {
            deliveries = 0;
            loopCpuNanosPerDelivery = 0;
            redisClientCpuNanosPerDelivery = 0;
            redisCpuNanosPerMessage = 0;
            redisPublishesPerMessage = 0;
            redisCommandsPerMessage = 0;
            lostOrReordered = 0;
            messages = 0;
            started = false;
            bench = null;
        }

        /** Counts one invocation's deliveries and messages, made between two nanoTimes. */
        void add(long delivered, long published, long startNanos, long endNanos,
                 ClusterFanOutBenchmark benchmark) {
            if (!started) {
                started = true;
                firstStart = startNanos;
                bench = benchmark;
            }
            lastEnd = endNanos;
            deliveries += delivered;
            messages += published;
        }

        @TearDown(Level.Iteration)
        public void measure(BenchmarkParams params) {
            if (!started || deliveries == 0) {
                loopCpuNanosPerDelivery = Double.NaN;
                redisClientCpuNanosPerDelivery = Double.NaN;
                redisCpuNanosPerMessage = Double.NaN;
                redisPublishesPerMessage = Double.NaN;
                redisCommandsPerMessage = Double.NaN;
                return;
            }
            IterationEnd end = bench.endIteration();
            double units = (double) (lastEnd - firstStart) / params.getTimeUnit().toNanos(1);
            loopCpuNanosPerDelivery = perIteration(end.loopCpuNanos(), deliveries, units);
            redisClientCpuNanosPerDelivery = perIteration(end.clientCpuNanos(), deliveries, units);
            if (end.redis() == null) {
                redisCpuNanosPerMessage = Double.NaN;
                redisPublishesPerMessage = Double.NaN;
                redisCommandsPerMessage = Double.NaN;
            } else {
                redisCpuNanosPerMessage = perIteration(end.redisCpuNanos(), messages, units);
                redisPublishesPerMessage = perIteration(end.redis().publishCalls(), messages,
                        units);
                redisCommandsPerMessage = perIteration(end.redis().commandCalls(), messages,
                        units);
            }
            lostOrReordered = end.lostOrDropped() * units;
            if (end.lostOrDropped() != 0) {
                throw new IllegalStateException(end.lostOrDropped() + " room frames lost or "
                        + "dropped by the cluster nodes in this iteration");
            }
        }

        /** @return {@code count / per}, times the measured time (NaN if count is negative) */
        private static double perIteration(long count, long per, double units) {
            return count < 0 ? Double.NaN : (double) count / per * units;
        }
    }

    @Setup(Level.Trial)
    public void start() throws IOException {
        if (peer.usesRedis()) {
            redis = RedisServerProcess.start();
            System.out.println("# " + redis + ", Redis " + redis.version());
        }
        nodes = peer.start(redis);
        harness = FanOutHarness.spread(nodes.ports(), subscribers, size, TcpFanOutBenchmark.WINDOW);
        nodes.awaitSubscribed(SUBSCRIBE_TIMEOUT_MILLIS);
        batch = Math.max(TcpFanOutBenchmark.WINDOW,
                TcpFanOutBenchmark.DELIVERIES_PER_BATCH / subscribers);
        loopCpu = new ThreadCpu(nodes::isLoopThread);
        clientCpu = new ThreadCpu(nodes::isRedisClientThread);
    }

    @Benchmark
    public long fanOut(Deliveries counters) throws IOException {
        long start = System.nanoTime();
        long d = harness.publish(batch, TimeUnit.SECONDS.toNanos(60));
        counters.add(d, batch, start, System.nanoTime(), this);
        return d;
    }

    /**
     * Starts the CPU clocks, zeroes Redis's command counts and notes its CPU time and the nodes'
     * loss counts (the same state as the benchmark: a {@link Deliveries} fixture taking this state
     * would get an instance, and servers, of its own).
     */
    @Setup(Level.Iteration)
    public void startIteration() {
        loopCpu.start();
        clientCpu.start();
        if (redis != null) {
            RedisCounters.reset(redis);
            redisAtStart = RedisCounters.read(redis);
        }
        lossAtStart = nodes.lostOrDropped();
    }

    /** @return what the iteration measured, from {@link #startIteration()} to now */
    IterationEnd endIteration() {
        RedisCounters r = null;
        long redisCpu = -1;
        if (redis != null) {
            r = RedisCounters.read(redis);
            redisCpu = r.cpuNanos() - redisAtStart.cpuNanos();
        }
        return new IterationEnd(loopCpu.elapsedNanos(), clientCpu.elapsedNanos(), r, redisCpu,
                nodes.lostOrDropped() - lossAtStart);
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException {
        IllegalStateException loss = null;
        try {
            if (nodes != null) {
                try {
                    nodes.checkNoLoss();
                } catch (IllegalStateException e) {
                    loss = e;
                }
            }
            if (harness != null) {
                harness.close();
            }
        } finally {
            try {
                if (nodes != null) {
                    nodes.close();
                }
            } finally {
                if (redis != null) {
                    redis.close();
                }
            }
        }
        if (loss != null) {
            throw loss;
        }
    }
}
