package org.chatloop.bench;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.chatloop.bench.peers.PeerServer;
import org.chatloop.bench.peers.TlsPeer;
import org.chatloop.tcp.PemTls;
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
 * TLS fan-out: as {@link TcpFanOutBenchmark} (one publisher, a room of {@code subscribers}, lines
 * of {@code size} bytes, {@code deliveries} per second, every line checked in order), with every
 * client on TLS 1.3 and {@value FanOutHarness#TLS_CIPHER} through the same client stack
 * ({@link FanOutHarness} on tls-channel and the JDK engine), against our server over TLS, Netty
 * tuned behind {@code SslHandler} on the JDK engine, and our server in plain TCP.
 *
 * <p>On a 2-core machine the server gets one core and the harness, which decrypts everything the
 * subscribers receive, the other: past some rate the harness, not the server, is the limit.
 * Hence the second figure, {@code loopCpuNanosPerDelivery}, as in {@link TcpFanOutBenchmark}: the
 * CPU time of the server's own I/O threads ({@link PeerServer#isServerThread}: chatloop's
 * {@code chat-tcp-PORT} loop, Netty's event loop) per delivery, in nanoseconds whatever unit JMH
 * prints beside it ({@link TcpFanOutBenchmark.Deliveries#loopCpuNanosPerDelivery}), which does
 * not depend on how fast the harness is.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class TlsFanOutBenchmark {
    @Param({"CHATLOOP_TLS", "NETTY_TUNED_TLS", "CHATLOOP_PLAIN"})
    public TlsPeer peer;

    @Param({"1", "100", "1000"})
    public int subscribers;

    @Param({"64", "1024"})
    public int size;

    private PeerServer server;
    private FanOutHarness harness;
    private int batch;
    /** The server's I/O threads' CPU time, for the per-delivery figure. */
    private ThreadCpu serverCpu;

    @Setup(Level.Trial)
    public void start() throws IOException {
        server = peer.start(BenchTls.serverContext());
        harness = new FanOutHarness(server.port(), subscribers, size, TcpFanOutBenchmark.WINDOW,
                peer.tls() ? PemTls.insecureClientContext() : null);
        batch = Math.max(TcpFanOutBenchmark.WINDOW,
                TcpFanOutBenchmark.DELIVERIES_PER_BATCH / subscribers);
        serverCpu = new ThreadCpu(server::isServerThread);
    }

    @Benchmark
    public long fanOut(TcpFanOutBenchmark.Deliveries counters) throws IOException {
        long start = System.nanoTime();
        long d = harness.publish(batch, TimeUnit.SECONDS.toNanos(60));
        counters.add(d, start, System.nanoTime(), serverCpu);
        return d;
    }

    /** Finds the server's threads and starts their CPU clock, as {@link TcpFanOutBenchmark} does. */
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
