package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.chatloop.core.ChatHub;
import org.chatloop.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpChatServerTest {
    private TcpChatServer server;
    private final List<LineClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = TestServers.start(TcpServerOptions.defaults().withPort(0)
                .withMaxLineBytes(64).withShutdownFlushTimeout(Duration.ofSeconds(1)));
    }

    @AfterEach
    void stop() throws IOException {
        for (LineClient c : clients) {
            c.close();
        }
        server.stop();
    }

    private LineClient join() throws IOException {
        LineClient c = LineClient.joined(server.port());
        clients.add(c);
        return c;
    }

    private LineClient joinAs(String nick) throws IOException {
        LineClient c = join();
        c.send("/nick " + nick);
        c.expect(l -> l.endsWith(" is now known as " + nick));
        return c;
    }

    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(5); // polling interval of a deadline-bounded wait
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }

    @Test
    void shouldLetTwoClientsSeeEachOthersMessages() throws Exception {
        LineClient alice = joinAs("alice");
        LineClient bob = joinAs("bob");
        alice.expect(l -> l.endsWith(" is now known as bob"));
        alice.send("hello bob");
        bob.expectLine("<alice> hello bob");
        alice.expectLine("<alice> hello bob");
        bob.send("hi alice");
        alice.expectLine("<bob> hi alice");
    }

    @Test
    void shouldNameAClientByItsAddressUntilItSetsANick() throws Exception {
        LineClient c = new LineClient(server.port());
        clients.add(c);
        String welcome = c.next();
        String expectedName = "127.0.0.1:" + c.socket.getLocalPort();
        assertTrue(welcome.startsWith("* welcome " + expectedName + " "), welcome);
        c.send("hi");
        c.expectLine("<" + expectedName + "> hi");
    }

    @Test
    void shouldKeepRoomsApart() throws Exception {
        LineClient alice = joinAs("alice");
        LineClient bob = joinAs("bob");
        LineClient carol = joinAs("carol");
        bob.send("/join dev");
        bob.expectLine("* bob joined dev");
        alice.expectLine("* bob left (moved to dev)");
        carol.send("/join dev");
        bob.expectLine("* carol joined dev");
        alice.send("lobby only");
        alice.expectLine("<alice> lobby only");
        bob.send("dev only");
        carol.expectLine("<bob> dev only");
        alice.send("/who");
        alice.expectLine("* in lobby (1): alice");
        alice.send("/rooms");
        alice.expectLine("* rooms: dev (2), lobby (1)");
        for (String l : bob.drain()) {
            assertFalse(l.contains("lobby only"), "bob must not see the lobby: " + l);
        }
        for (String l : carol.drain()) {
            assertFalse(l.contains("lobby only"), "carol must not see the lobby: " + l);
        }
    }

    @Test
    void shouldDeliverAPrivateMessageToItsTargetOnly() throws Exception {
        LineClient alice = joinAs("alice");
        LineClient bob = joinAs("bob");
        LineClient carol = joinAs("carol");
        alice.send("/msg BOB psst");
        bob.expectLine("[private] <alice> psst");
        alice.expectLine("[private to bob] psst");
        alice.send("/msg nobody psst");
        alice.expectLine("! no such user: nobody");
        // A room message sent after the private one reaches carol; the private one never did.
        alice.send("public");
        carol.expectLine("<alice> public");
        for (String l : carol.drain()) {
            assertFalse(l.contains("psst"), l);
        }
    }

    @Test
    void shouldRejectAnOverlongLineAndKeepTheConnectionUsable() throws Exception {
        LineClient c = joinAs("alice");
        c.send("x".repeat(65));
        c.expectLine("! line too long (max 64 bytes)");
        c.send("y".repeat(64));
        c.expectLine("<alice> " + "y".repeat(64));
        c.sendRaw(("z".repeat(10_000) + "\nafter\n").getBytes(StandardCharsets.UTF_8));
        c.expectLine("! line too long (max 64 bytes)");
        assertEquals("<alice> after", c.next());
        // Lines read in one pass: the room's messages are handed over at the end of the pass, and
        // the connection's own error still comes in the order the lines were sent.
        c.sendRaw(("before\n" + "z".repeat(100) + "\nthen\n/bogus\nlast\n")
                .getBytes(StandardCharsets.UTF_8));
        assertEquals("<alice> before", c.next());
        assertEquals("! line too long (max 64 bytes)", c.next());
        assertEquals("<alice> then", c.next());
        assertEquals("! unknown command /bogus (try /help)", c.next());
        assertEquals("<alice> last", c.next());
    }

    @Test
    void shouldDecodeAUtf8CharacterSplitAcrossWrites() throws Exception {
        LineClient alice = joinAs("alice");
        byte[] line = "caf\u00e9 \u20ac \ud83d\ude00\n".getBytes(StandardCharsets.UTF_8);
        for (byte b : line) {
            alice.sendRaw(new byte[] {b}); // one segment per byte (TCP_NODELAY)
        }
        alice.expectLine("<alice> caf\u00e9 \u20ac \ud83d\ude00");
    }

    @Test
    void shouldNeverPassEscapeBytesToAnotherClient() throws Exception {
        LineClient mallory = joinAs("mallory");
        LineClient bob = joinAs("bob");
        mallory.sendRaw("\u001b[2J\u001b]0;pwned\u0007evil\u0000\r\n".getBytes(StandardCharsets.UTF_8));
        String got = bob.expect(l -> l.startsWith("<mallory>"));
        assertEquals("<mallory> [2J]0;pwnedevil", got);
        assertTrue(got.chars().noneMatch(ch -> ch < 0x20 || ch == 0x7f), got);
    }

    @Test
    void shouldAnswerQuitWithByeThenClose() throws Exception {
        LineClient alice = joinAs("alice");
        LineClient bob = joinAs("bob");
        alice.send("/quit");
        List<String> rest = alice.awaitEof();
        assertEquals("* bye", rest.get(rest.size() - 1));
        bob.expectLine("* alice left (quit)");
        await("registry empty of alice", () -> server.connectionCount() == 1);
    }

    @Test
    void shouldTakeAnUnterminatedQuitAtEndOfStream() throws Exception {
        LineClient alice = joinAs("alice");
        LineClient bob = joinAs("bob");
        alice.sendRaw("/quit".getBytes(StandardCharsets.UTF_8));
        alice.socket.shutdownOutput();
        List<String> rest = alice.awaitEof();
        assertEquals("* bye", rest.get(rest.size() - 1));
        bob.expectLine("* alice left (quit)");
    }

    @Test
    void shouldAnnounceADisconnectAndAReset() throws Exception {
        LineClient alice = joinAs("alice");
        LineClient bob = joinAs("bob");
        LineClient carol = joinAs("carol");
        bob.close();
        alice.expectLine("* bob left (disconnected)");
        carol.socket.setSoLinger(true, 0); // close with RST
        carol.close();
        alice.expect(l -> l.equals("* carol left (connection error)")
                || l.equals("* carol left (disconnected)"));
        await("both gone", () -> server.connectionCount() == 1);
    }

    @Test
    void shouldRefuseClientsBeyondTheLimit() throws Exception {
        server.stop();
        server = TestServers.start(TcpServerOptions.defaults().withPort(0).withMaxClients(2));
        join();
        join();
        try (LineClient third = new LineClient(server.port())) {
            assertEquals(List.of("! server full"), third.awaitEof());
        }
        assertEquals(2, server.connectionCount());
    }

    @Test
    void shouldDisconnectAClientThatStopsReadingWhileReadersGetEverythingInOrder()
            throws Exception {
        server.stop();
        server = TestServers.start(TcpServerOptions.defaults().withPort(0)
                .withSlowConsumerTimeout(Duration.ofSeconds(1)));
        LineClient publisher = joinAs("pub");
        LineClient reader = joinAs("reader");
        Socket stalled = new Socket();
        stalled.setReceiveBufferSize(4096);
        stalled.connect(new InetSocketAddress("127.0.0.1", server.port()));
        reader.expect(l -> l.endsWith(" joined lobby"));
        publisher.expect(l -> l.endsWith(" joined lobby"));
        // ~20 MB from the publisher; the reader keeps reading, the stalled socket never reads.
        String pad = "p".repeat(1000);
        int count = 20_000;
        Thread flood = new Thread(() -> {
            try {
                StringBuilder batch = new StringBuilder();
                for (int i = 0; i < count; i++) {
                    batch.append(i).append(' ').append(pad).append('\n');
                    if (batch.length() > 64 * 1024) {
                        publisher.sendRaw(batch.toString().getBytes(StandardCharsets.UTF_8));
                        batch.setLength(0);
                    }
                }
                publisher.sendRaw(batch.toString().getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, "flood");
        flood.start();
        long peakDirect = 0;
        int expected = 0;
        boolean stalledDropped = false;
        while (expected < count) {
            String l = reader.next();
            if (l.startsWith("<pub> ")) {
                assertEquals("<pub> " + expected + " " + pad, l, "in order, nothing lost");
                expected++;
            } else if (l.endsWith(" left (too slow)")) {
                stalledDropped = true;
            }
            if ((expected & 1023) == 0) {
                peakDirect = Math.max(peakDirect, directMemoryUsed());
            }
        }
        flood.join(10_000);
        assertTrue(stalledDropped || reader.drain().stream().anyMatch(l -> l.endsWith("(too slow)")),
                "the stalled client was dropped as too slow");
        assertTrue(peakDirect < 64L << 20,
                "server output memory stays bounded, peak direct bytes " + peakDirect);
        await("stalled connection closed", () -> server.connectionCount() == 2);
        stalled.close();
    }

    private static long directMemoryUsed() {
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                return b.getMemoryUsed();
            }
        }
        return 0;
    }

    @Test
    void stopCalledOnALoopThreadEndsTheServersOwnLoops() throws Exception {
        LineClient c = join();
        server.loop().execute(server::stop);
        c.expectLine("* server shutting down");
        c.awaitEof();
        assertTrue(server.loop().awaitTermination(10, TimeUnit.SECONDS),
                "the loop a started server owns ends after a stop from its own thread");
    }

    @Test
    void shouldCleanUpAfterThousandsOfConnectsAndResets() throws Exception {
        LineClient watcher = joinAs("watcher");
        long fdsBefore = openFileDescriptors();
        for (int i = 0; i < 2_000; i++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", server.port()));
                if (i % 2 == 0) {
                    s.setSoLinger(true, 0); // reset instead of FIN
                } else {
                    s.getOutputStream().write("bye\n".getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        int left = 0;
        // Leaves are announced one by one, or summed up while the lobby holds more than the
        // announce limit (connects can outpace the closes they are followed by).
        Pattern summary = Pattern.compile("\\* (?:[\\d,]+ joined, )?([\\d,]+) left lobby \\(.*\\)");
        while (left < 2_000) {
            String line = watcher.next();
            Matcher m = summary.matcher(line);
            if (line.matches("\\* 127\\.0\\.0\\.1:\\d+ left \\(.*\\)")) {
                left++;
            } else if (m.matches()) {
                left += Integer.parseInt(m.group(1).replace(",", ""));
            }
        }
        await("every short-lived connection closed", () -> server.connectionCount() == 1);
        watcher.send("/who");
        watcher.expectLine("* in lobby (1): watcher");
        await("descriptors released", () -> openFileDescriptors() <= fdsBefore + 5);
    }

    private static long openFileDescriptors() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void shouldDeliverABroadcastToAThousandClients() throws Exception {
        EventLoop clientLoop = new EventLoop();
        clientLoop.start("test-clients");
        int n = 1_000;
        int[] got = new int[1];
        List<TcpChatClient> many = new ArrayList<>();
        try {
            byte[] marker = "<boss> all hands".getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < n; i++) {
                many.add(TcpChatClient.open(clientLoop,
                        new InetSocketAddress("127.0.0.1", server.port()),
                        (buf, off, len) -> {
                            if (len == marker.length && java.util.Arrays.equals(buf, off,
                                    off + len, marker, 0, marker.length)) {
                                got[0]++; // only touched on the client loop thread
                            }
                        }));
            }
            for (TcpChatClient c : many) {
                c.connected().get(20, TimeUnit.SECONDS);
            }
            await("all connected", () -> server.connectionCount() == n);
            try (LineClient boss = joinAs("boss")) {
                boss.send("all hands");
                boss.expectLine("<boss> all hands");
                await("every client got the broadcast", () -> {
                    int[] seen = new int[1];
                    java.util.concurrent.CompletableFuture<Void> f =
                            new java.util.concurrent.CompletableFuture<>();
                    clientLoop.execute(() -> {
                        seen[0] = got[0];
                        f.complete(null);
                    });
                    f.join();
                    return seen[0] == n;
                });
            }
        } finally {
            clientLoop.stop();
            assertTrue(clientLoop.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void shouldTellEveryoneOnStopAndClose() throws Exception {
        LineClient alice = joinAs("alice");
        LineClient bob = joinAs("bob");
        server.stop();
        assertTrue(alice.awaitEof().contains("* server shutting down"));
        assertTrue(bob.awaitEof().contains("* server shutting down"));
        assertEquals(0, server.connectionCount());
        assertThrowsOnConnect(server.port());
    }

    private static void assertThrowsOnConnect(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            InputStream in = s.getInputStream();
            s.setSoTimeout(2_000);
            assertEquals(-1, in.read(), "a stopped server accepts nobody");
        } catch (IOException expected) {
            // connection refused: the listener is closed
        }
    }

    @Test
    void shouldServeTwoServersInTheSameRoomsOnOneLoop() throws Exception {
        EventLoop loop = new EventLoop();
        ChatHub hub = new ChatHub();
        loop.start("shared");
        TcpChatServer a = TcpChatServer.attach(loop, hub, TcpServerOptions.defaults().withPort(0));
        TcpChatServer b = TcpChatServer.attach(loop, hub, TcpServerOptions.defaults().withPort(0));
        try (LineClient x = LineClient.joined(a.port()); LineClient y = LineClient.joined(b.port())) {
            assertNotEquals(a.port(), b.port());
            x.send("/nick x");
            y.expectLine("* 127.0.0.1:" + x.socket.getLocalPort() + " is now known as x");
            y.send("from the other port");
            x.expect(l -> l.endsWith("> from the other port"));
        } finally {
            a.stop();
            b.stop();
            loop.stop();
            assertTrue(loop.awaitTermination(10, TimeUnit.SECONDS));
        }
    }
}
