package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import jdk.net.ExtendedSocketOptions;
import org.chatloop.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Flood control, per-address limits, keepalive and the idle timeout, over loopback. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpFloodControlTest {
    private TcpChatServer server;
    private final List<LineClient> clients = new ArrayList<>();

    @AfterEach
    void stop() throws IOException {
        for (LineClient c : clients) {
            c.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    private void start(TcpServerOptions options) throws IOException {
        server = TestServers.start(options.withPort(0)
                .withShutdownFlushTimeout(Duration.ofSeconds(1)));
    }

    private LineClient joinAs(String nick) throws IOException {
        LineClient c = LineClient.joined(server.port());
        clients.add(c);
        c.send("/nick " + nick);
        c.expect(l -> l.endsWith(" is now known as " + nick));
        return c;
    }

    private static <T> T onLoop(EventLoop loop, Supplier<T> what) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        loop.execute(() -> f.complete(what.get()));
        return f.get(10, TimeUnit.SECONDS);
    }

    @Test
    void shouldDelayAFloodPastTheRateInOrderWithoutLossWhileOthersAreServedAtOnce()
            throws Exception {
        start(TcpServerOptions.defaults().withMaxLinesPerSecond(100));
        LineClient reader = joinAs("reader");
        LineClient other = joinAs("other");
        LineClient flooder = joinAs("flooder");
        StringBuilder flood = new StringBuilder();
        for (int i = 0; i < 500; i++) {
            flood.append("flood ").append(i).append('\n');
        }
        long start = System.nanoTime();
        flooder.sendRaw(flood.toString().getBytes(StandardCharsets.US_ASCII));

        // Well into the throttled part of the flood, another member speaks: it is not queued
        // behind the flood.
        reader.expectLine("<flooder> flood 150");
        long said = System.nanoTime();
        other.send("not behind the flood");
        // Flood lines keep coming meanwhile (100 a second): they must still be in order.
        int next = 151;
        for (String l = reader.next(); !l.equals("<other> not behind the flood");
                l = reader.next()) {
            if (l.startsWith("<flooder> ")) {
                assertEquals("<flooder> flood " + next, l);
                next++;
            }
        }
        long otherMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - said);
        assertTrue(otherMillis < 200, "another client's line took " + otherMillis + " ms");

        // Every flood line arrives, in order (the burst, then 100 a second).
        while (next < 500) {
            String l = reader.next();
            if (l.startsWith("<flooder> ")) {
                assertEquals("<flooder> flood " + next, l);
                next++;
            }
        }
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        // 1 token went to /nick; 99 more lines in the burst, then 401 at 100 a second: ~4 s.
        assertTrue(tookMillis >= 3_500 && tookMillis < 10_000, "the flood took " + tookMillis
                + " ms");
        flooder.send("/who");
        flooder.expect(l -> l.startsWith("* in lobby (3): "));
    }

    @Test
    void shouldRefuseTheConnectionPastTheLimitPerAddressAndAdmitOneAgainWhenASlotFrees()
            throws Exception {
        start(TcpServerOptions.defaults().withMaxClientsPerIp(2));
        LineClient first = joinAs("first");
        joinAs("second");
        LineClient third = new LineClient(server.port());
        clients.add(third);
        assertEquals("! too many connections from your address", third.next());
        assertTrue(third.awaitEof().isEmpty(), "closed after the error");
        first.send("/quit");
        first.expectLine("* bye");
        TcpChatServerTest.await("slot freed", () -> server.connectionCount() == 1);
        joinAs("fourth");
        assertEquals(2, server.connectionCount());
    }

    @Test
    void shouldSetKeepaliveOnAcceptedSockets() throws Exception {
        start(TcpServerOptions.defaults().withKeepAlive(Duration.ofSeconds(30),
                Duration.ofSeconds(5), 4));
        joinAs("alive");
        List<SocketChannel> accepted = onLoop(server.loop(), server::channels);
        assertEquals(1, accepted.size());
        SocketChannel ch = accepted.get(0);
        assertTrue(onLoop(server.loop(), () -> get(ch, StandardSocketOptions.SO_KEEPALIVE)));
        assumeTrue(ch.supportedOptions().contains(ExtendedSocketOptions.TCP_KEEPIDLE),
                "TCP_KEEPIDLE not supported on this platform");
        assertEquals(30, onLoop(server.loop(), () -> get(ch, ExtendedSocketOptions.TCP_KEEPIDLE)));
        assertEquals(5, onLoop(server.loop(),
                () -> get(ch, ExtendedSocketOptions.TCP_KEEPINTERVAL)));
        assertEquals(4, onLoop(server.loop(), () -> get(ch, ExtendedSocketOptions.TCP_KEEPCOUNT)));
    }

    @Test
    void shouldLeaveKeepaliveOffWhenItsIdleTimeIsZero() throws Exception {
        start(TcpServerOptions.defaults().withKeepAlive(Duration.ZERO, Duration.ofSeconds(5), 4));
        joinAs("plain");
        List<SocketChannel> accepted = onLoop(server.loop(), server::channels);
        assertEquals(false, onLoop(server.loop(),
                () -> get(accepted.get(0), StandardSocketOptions.SO_KEEPALIVE)));
    }

    private static <T> T get(SocketChannel ch, java.net.SocketOption<T> option) {
        try {
            return ch.getOption(option);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void shouldCloseAConnectionThatSendsNothingForTheIdleTimeoutButKeepOneThatSpoke()
            throws Exception {
        start(TcpServerOptions.defaults().withIdleTimeout(Duration.ofSeconds(1)));
        LineClient talker = joinAs("talker");
        LineClient silent = LineClient.joined(server.port());
        clients.add(silent);
        long connected = System.nanoTime();
        List<String> rest = silent.awaitEof();
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connected);
        assertTrue(rest.contains("! nothing received for 1 s; closing"), rest.toString());
        assertTrue(waited >= 900, "closed after " + waited + " ms");
        talker.expect(l -> l.endsWith(" left (timed out)"));
        // The talker's own deadline passed too: it spoke, so it stays.
        talker.send("/who");
        talker.expectLine("* in lobby (1): talker");
    }
}
