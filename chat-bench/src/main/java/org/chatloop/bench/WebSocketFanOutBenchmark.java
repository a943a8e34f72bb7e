package org.chatloop.bench;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.chatloop.bench.peers.PeerServer;
import org.chatloop.bench.peers.WebSocketPeer;
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
 * WebSocket fan-out: as {@link TcpFanOutBenchmark} (one publisher, a room of {@code subscribers},
 * lines of {@code size} bytes, {@code deliveries} per second, every message checked in order), with
 * every client upgraded to WebSocket at {@code /ws} through the same client code
 * ({@link FanOutHarness#webSocket}: masked text frames out, the server's frames parsed in), against
 * our server speaking WebSocket, Netty tuned with its WebSocket codec (two ways of framing the
 * broadcast, see {@link org.chatloop.bench.peers.NettyWebSocketServer}), and our server in plain
 * TCP lines under the line harness, for what WebSocket costs.
 *
 * <p>A message's payload is the line without its newline ({@code size - 1} bytes from the
 * publisher; {@code <127.0.0.1:PORT> } and those bytes to each subscriber, with a 2-byte header at
 * 64-byte lines and a 4-byte one at 1024), so on the wire a WebSocket delivery is one byte longer
 * than the TCP line and a published message five bytes longer (header and mask key).
 *
 * <p>On a 2-core machine the server loop gets one core and the harness the other.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class WebSocketFanOutBenchmark {
    @Param({"CHATLOOP_WS", "CHATLOOP_TCP", "NETTY_WS", "NETTY_WS_PREFRAMED"})
    public WebSocketPeer peer;

    @Param({"1", "100", "1000"})
    public int subscribers;

    @Param({"64", "1024"})
    public int size;

    private PeerServer server;
    private FanOutHarness harness;
    private int batch;

    @Setup(Level.Trial)
    public void start() throws IOException {
        server = peer.start();
        harness = peer.webSocket()
                ? FanOutHarness.webSocket(server.port(), subscribers, size,
                        TcpFanOutBenchmark.WINDOW)
                : new FanOutHarness(server.port(), subscribers, size, TcpFanOutBenchmark.WINDOW);
        batch = Math.max(TcpFanOutBenchmark.WINDOW,
                TcpFanOutBenchmark.DELIVERIES_PER_BATCH / subscribers);
    }

    @Benchmark
    public long fanOut(TcpFanOutBenchmark.Deliveries counters) throws IOException {
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
