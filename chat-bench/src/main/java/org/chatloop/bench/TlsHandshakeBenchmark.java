package org.chatloop.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
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
import tlschannel.ClientTlsChannel;

/**
 * Full TLS handshakes per second: each operation connects, completes a TLS 1.3 handshake with
 * {@value FanOutHarness#TLS_CIPHER} and an EC P-256 certificate (no session resumption: the client
 * engine has no peer name to cache a session under) and resets the connection. One client thread
 * runs them back to back, so the figure is the inverse of a handshake's latency with client and
 * server on separate cores, not the server's saturation rate.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class TlsHandshakeBenchmark {
    @Param({"CHATLOOP_TLS", "NETTY_TUNED_TLS"})
    public TlsPeer peer;

    private PeerServer server;
    private SSLContext client;
    private InetSocketAddress address;

    @Setup(Level.Trial)
    public void start() throws IOException {
        server = peer.start(BenchTls.serverContext());
        client = PemTls.insecureClientContext();
        address = new InetSocketAddress("127.0.0.1", server.port());
    }

    @Benchmark
    public String handshake() throws IOException {
        try (SocketChannel ch = SocketChannel.open()) {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.setOption(StandardSocketOptions.SO_LINGER, 0); // no TIME_WAIT pile-up
            ch.connect(address);
            SSLEngine engine = client.createSSLEngine();
            engine.setUseClientMode(true);
            engine.setEnabledProtocols(new String[] {"TLSv1.3"});
            engine.setEnabledCipherSuites(new String[] {FanOutHarness.TLS_CIPHER});
            ClientTlsChannel tls = ClientTlsChannel.newBuilder(ch, engine).build();
            tls.handshake();
            return engine.getSession().getCipherSuite();
        }
    }

    @TearDown(Level.Trial)
    public void stop() {
        if (server != null) {
            server.close();
        }
    }
}
