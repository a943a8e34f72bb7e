package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.chatloop.core.ChatHub;
import org.chatloop.core.HubOptions;
import org.chatloop.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The WebSocket server end to end over loopback: the HTTP side (page, errors, origin, bounds,
 * timeout), the protocol rules of RFC 6455 with exact close codes, chat with TCP clients in the
 * same hub, the JDK's own WebSocket client, and the bounds shared with TCP (slow reader, line
 * limit, shutdown).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WebSocketServerTest {
    private static final int MAX_LINE = 64;
    private TcpChatServer server;
    private EventLoop loop;
    private final List<AutoCloseable> closing = new ArrayList<>();

    private TcpServerOptions options() {
        return TcpServerOptions.defaults().withPort(0).withMaxLineBytes(MAX_LINE)
                .withShutdownFlushTimeout(Duration.ofSeconds(1));
    }

    private void start(TcpServerOptions options, WebSocketOptions ws) throws IOException {
        server = TestServers.startWebSocket(options, HubOptions.defaults(), ws);
    }

    private void start() throws IOException {
        start(options(), WebSocketOptions.defaults());
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        closing.add(c);
        return c;
    }

    private WsTestClient join() throws IOException, InterruptedException {
        return closeLater(WsTestClient.joined(server.port()));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        if (server != null) {
            server.stop();
        }
        if (loop != null) {
            loop.close();
        }
    }

    @Test
    void pageIsServedWithAPolicyThatAllowsOnlyItsOwnScriptAndStyle() throws Exception {
        start();
        try (WsTestClient c = WsTestClient.connect(server.port())) {
            c.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String head = c.readHead();
            String body = c.readToEnd();
            assertTrue(head.startsWith("HTTP/1.1 200 OK\r\n"), head);
            assertTrue(head.contains("Content-Type: text/html; charset=utf-8"), head);
            assertTrue(head.contains("Content-Length: "
                    + body.getBytes(StandardCharsets.UTF_8).length + "\r\n"), head);
            assertTrue(head.contains("script-src 'sha256-"), head);
            assertTrue(head.contains("X-Content-Type-Options: nosniff"), head);
            assertTrue(body.contains("<script>") && body.contains("/ws"), "the chat page");
        }
    }

    @Test
    void unknownPathsAreNotFoundAndOtherMethodsNotAllowed() throws Exception {
        start();
        assertEquals("HTTP/1.1 404 Not Found", status("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
        assertEquals("HTTP/1.1 405 Method Not Allowed",
                status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
        assertEquals("HTTP/1.1 405 Method Not Allowed",
                status("DELETE /ws HTTP/1.1\r\nHost: x\r\n\r\n"));
    }

    @Test
    void badUpgradesGetAnErrorWithAReason() throws Exception {
        start();
        String noKey = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assertEquals("HTTP/1.1 400 Bad Request", status(noKey));
        String oldVersion = WsTestClient.upgradeRequest("/ws").replace("Version: 13", "Version: 8");
        assertEquals("HTTP/1.1 426 Upgrade Required", status(oldVersion));
        assertEquals("HTTP/1.1 400 Bad Request", status("GARBAGE\r\n\r\n"));
        assertEquals("HTTP/1.1 431 Request Header Fields Too Large",
                status("GET / HTTP/1.1\r\nX: " + "a".repeat(9000) + "\r\n\r\n"));
    }

    @Test
    void originIsCheckedWhenAllowedOriginsAreGiven() throws Exception {
        start(options(), WebSocketOptions.defaults()
                .withAllowedOrigins(Set.of("https://chat.example")));
        try (WsTestClient c = WsTestClient.connect(server.port())) {
            String head = c.upgrade("/ws", "Origin: https://evil.example");
            assertTrue(head.startsWith("HTTP/1.1 403 "), head);
        }
        try (WsTestClient c = WsTestClient.connect(server.port())) {
            String head = c.upgrade("/ws", "Origin: https://CHAT.example");
            assertTrue(head.startsWith("HTTP/1.1 101 "), head);
            c.expectText(t -> t.startsWith("* welcome "));
        }
    }

    @Test
    void aRequestHeadThatDoesNotArriveInTimeIsClosed() throws Exception {
        start(options().withHandshakeTimeout(Duration.ofMillis(300)), WebSocketOptions.defaults());
        try (WsTestClient c = WsTestClient.connect(server.port())) {
            c.sendRaw("GET /ws HTTP/1.1\r\nHost".getBytes(StandardCharsets.US_ASCII));
            long t0 = System.nanoTime();
            assertEquals("", c.readToEnd(), "closed without a response");
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(8));
        }
        // The server still serves.
        join();
    }

    @Test
    void theHeadAndFramesMayArriveOneByteAtATime() throws Exception {
        start();
        try (WsTestClient c = WsTestClient.connect(server.port())) {
            byte[] request = WsTestClient.upgradeRequest("/ws").getBytes(StandardCharsets.US_ASCII);
            for (byte b : request) {
                c.sendRaw(new byte[] {b});
            }
            assertTrue(c.readHead().startsWith("HTTP/1.1 101 "));
            c.startReader();
            c.expectText(t -> t.startsWith("* welcome "));
            for (byte b : new ClientFrames().text("/nick slow").build()) {
                c.sendRaw(new byte[] {b});
            }
            c.expectText(t -> t.contains("is now known as slow"));
        }
    }

    @Test
    void browsersAndTcpClientsChatInTheSameRoom() throws Exception {
        loop = new EventLoop();
        ChatHub hub = new ChatHub(loop, HubOptions.defaults());
        TcpChatServer tcp = TcpChatServer.attach(loop, hub, options());
        server = TcpChatServer.attachWebSocket(loop, hub, options(), WebSocketOptions.defaults());
        loop.start("ws-test");
        closing.add(tcp::stop);
        LineClient bob = closeLater(LineClient.joined(tcp.port()));
        bob.send("/nick bob");
        bob.expect(l -> l.endsWith(" is now known as bob"));
        WsTestClient alice = join();
        alice.sendText("/nick alice");
        alice.expectText(t -> t.contains("alice"));
        alice.sendText("hello from a browser");
        bob.expectLine("<alice> hello from a browser");
        bob.send("hello from nc");
        alice.expectText("<bob> hello from nc");
        alice.sendText("/msg bob psst");
        bob.expectLine("[private] <alice> psst");
    }

    @Test
    void aFragmentedMessageIsOneLine() throws Exception {
        start();
        WsTestClient a = join();
        WsTestClient b = join();
        a.sendRaw(new ClientFrames()
                .frame(false, WebSocketDecoder.OP_TEXT, ClientFrames.utf8("hel"))
                .ping("between fragments")
                .frame(false, WebSocketDecoder.OP_CONTINUATION, ClientFrames.utf8("lo wo"))
                .frame(true, WebSocketDecoder.OP_CONTINUATION, ClientFrames.utf8("rld"))
                .build());
        b.expectText(t -> t.endsWith("> hello world"));
    }

    @Test
    void aPingIsAnsweredWithAPongOfTheSamePayload() throws Exception {
        start();
        WsTestClient a = join();
        a.sendRaw(new ClientFrames().ping("are you there").build());
        WsTestClient.Event e;
        do {
            e = a.next();
        } while (e.opcode() == WebSocketDecoder.OP_TEXT);
        assertEquals(WebSocketDecoder.OP_PONG, e.opcode());
        assertEquals("are you there", e.text());
    }

    @Test
    void theClientsCloseIsEchoedAndTheRoomIsTold() throws Exception {
        start();
        WsTestClient watcher = join();
        WsTestClient a = join();
        a.sendText("/nick leaver");
        watcher.expectText(t -> t.contains("is now known as leaver"));
        a.sendRaw(new ClientFrames().close(1001, "tab closed").build());
        a.expectClose(1001);
        watcher.expectText("* leaver left (disconnected)");
    }

    @Test
    void whatTheRoomGatheredInThePassGoesOutBeforeTheEchoedClose() throws Exception {
        start();
        WsTestClient a = join();
        a.sendText("/nick leaver");
        a.expectText(t -> t.contains("is now known as leaver"));
        // One read: a message (echoed to the room, a as well) and a close, in the same pass.
        a.sendRaw(new ClientFrames().text("last words").close(1001, "tab closed").build());
        List<String> before = a.expectClose(1001);
        assertTrue(before.contains("<leaver> last words"), before.toString());
    }

    @Test
    void quitSaysByeThenCloses() throws Exception {
        start();
        WsTestClient a = join();
        a.sendText("/quit");
        List<String> before = a.expectClose(1000);
        assertTrue(before.contains("* bye"), before.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"unmasked", "binary", "badUtf8", "longPing", "fragmentedPing",
            "reservedBits"})
    void protocolErrorsCloseWithTheirCode(String kind) throws Exception {
        start();
        WsTestClient watcher = join();
        WsTestClient a = join();
        byte[] frames = switch (kind) {
            case "unmasked" -> new ClientFrames().raw(0x81, false, ClientFrames.utf8("hi"), 0).build();
            case "binary" -> new ClientFrames().frame(true, WebSocketDecoder.OP_BINARY, new byte[3])
                    .build();
            case "badUtf8" -> new ClientFrames().frame(true, WebSocketDecoder.OP_TEXT,
                    new byte[] {'a', (byte) 0xC3, '(' }).build();
            case "longPing" -> new ClientFrames().frame(true, WebSocketDecoder.OP_PING,
                    new byte[126]).build();
            case "fragmentedPing" -> new ClientFrames().frame(false, WebSocketDecoder.OP_PING,
                    new byte[1]).build();
            default -> new ClientFrames().raw(0xC1, true, ClientFrames.utf8("x"), 0).build();
        };
        int expected = switch (kind) {
            case "binary" -> 1003;
            case "badUtf8" -> 1007;
            default -> 1002;
        };
        a.sendRaw(frames);
        a.expectClose(expected);
        watcher.expectText(t -> t.endsWith(" left (connection error)"));
        // Nothing else was disturbed.
        WsTestClient b = join();
        b.sendText("still here");
        watcher.expectText(t -> t.endsWith("> still here"));
    }

    @Test
    void aMessageOverTheLimitIsAnErrorAndTheConnectionStays() throws Exception {
        start();
        WsTestClient a = join();
        WsTestClient b = join();
        a.sendText("x".repeat(MAX_LINE + 1));
        a.expectText("! line too long (max " + MAX_LINE + " bytes)");
        // Streamed in fragments past the limit: discarded as it arrives, then the next is fine.
        a.sendRaw(new ClientFrames()
                .frame(false, WebSocketDecoder.OP_TEXT, ClientFrames.utf8("y".repeat(40)))
                .frame(false, WebSocketDecoder.OP_CONTINUATION, ClientFrames.utf8("y".repeat(40)))
                .frame(true, WebSocketDecoder.OP_CONTINUATION, ClientFrames.utf8("y".repeat(40)))
                .text("short one").build());
        a.expectText("! line too long (max " + MAX_LINE + " bytes)");
        b.expectText(t -> t.endsWith("> short one"));
    }

    @Test
    void aReaderThatStopsIsDroppedWhileOthersGetEverythingInOrder() throws Exception {
        start(options().withMaxLineBytes(1000).withSlowConsumerTimeout(Duration.ofSeconds(1)),
                WebSocketOptions.defaults());
        WsTestClient reader = join();
        WsTestClient sender = join();
        closeLater(WsTestClient.stalled(server.port()));
        reader.expectText(t -> t.endsWith(" joined lobby"));
        // ~4.5 MB through the room; the reader keeps reading, the stalled client never reads.
        String pad = "p".repeat(900);
        int n = 5_000;
        Thread send = new Thread(() -> {
            try {
                ClientFrames batch = new ClientFrames();
                for (int i = 0; i < n; i++) {
                    batch.text(i + " " + pad);
                    if ((i & 63) == 63) {
                        sender.sendRaw(batch.build());
                        batch = new ClientFrames();
                    }
                }
                sender.sendRaw(batch.build());
            } catch (IOException e) {
                // the test fails below on a missing line
            }
        }, "ws-flood");
        send.start();
        boolean dropped = false;
        for (int i = 0; i < n; ) {
            String t = reader.expectText(s -> s.endsWith(pad) || s.endsWith(" left (too slow)"));
            if (t.endsWith(" left (too slow)")) {
                dropped = true;
                continue;
            }
            assertTrue(t.endsWith("> " + i + " " + pad), "in order, nothing lost: " + i + " got "
                    + t.substring(0, Math.min(40, t.length())));
            i++;
        }
        send.join(10_000);
        if (!dropped) {
            reader.expectText(t -> t.endsWith(" left (too slow)"));
        }
        assertTrue(server.connectionCount() <= 2 || awaitCount(2), "the stalled client is closed");
    }

    private boolean awaitCount(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.connectionCount() != n) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    @Test
    void messagesPastTheRateAreDelayedInOrderNeverDropped() throws Exception {
        start(options().withMaxLinesPerSecond(10), WebSocketOptions.defaults());
        WsTestClient reader = join();
        WsTestClient sender = join();
        ClientFrames burst = new ClientFrames();
        int n = 25;
        for (int i = 0; i < n; i++) {
            burst.text("m" + i);
        }
        long t0 = System.nanoTime();
        sender.sendRaw(burst.build());
        for (int i = 0; i < n; i++) {
            int k = i;
            reader.expectText(t -> t.endsWith("> m" + k));
        }
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        // A burst of 10, then 10 a second: the last 15 take at least about 1.5 s.
        assertTrue(elapsedMillis >= 1_000, "delayed by the rate: " + elapsedMillis + " ms");
    }

    @Test
    void connectionsPastThePerAddressLimitGetA503() throws Exception {
        start(options().withMaxClientsPerIp(1), WebSocketOptions.defaults());
        join();
        try (WsTestClient second = WsTestClient.connect(server.port())) {
            String head = second.readHead();
            assertTrue(head.startsWith("HTTP/1.1 503 Service Unavailable"), head);
            assertEquals("too many connections from your address\n", second.readToEnd());
        }
    }

    @Test
    void shutdownTellsEveryoneAndClosesGoingAway() throws Exception {
        start();
        WsTestClient a = join();
        server.stop();
        List<String> before = a.expectClose(1001);
        assertTrue(before.contains("* server shutting down"), before.toString());
        server = null;
    }

    @Test
    void theJdksOwnWebSocketClientChats() throws Exception {
        start();
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        HttpClient http = HttpClient.newHttpClient();
        WebSocket ws = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
                .buildAsync(URI.create("ws://127.0.0.1:" + server.port() + "/ws"),
                        new WebSocket.Listener() {
                            private final StringBuilder part = new StringBuilder();

                            @Override
                            public CompletionStage<?> onText(WebSocket w, CharSequence data,
                                                             boolean last) {
                                part.append(data);
                                if (last) {
                                    got.add(part.toString());
                                    part.setLength(0);
                                }
                                w.request(1);
                                return null;
                            }
                        })
                .get(10, TimeUnit.SECONDS);
        try {
            assertTrue(poll(got).startsWith("* welcome "));
            WsTestClient other = join();
            ws.sendText("/nick jdk", true).get(5, TimeUnit.SECONDS);
            other.expectText(t -> t.contains("is now known as jdk"));
            ws.sendText("héllo ✓", true).get(5, TimeUnit.SECONDS);
            other.expectText("<jdk> héllo ✓");
            other.sendText("back at you");
            String line;
            do {
                line = poll(got);
            } while (!line.endsWith("> back at you"));
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
            other.expectText("* jdk left (disconnected)");
        } finally {
            ws.abort();
        }
    }

    @Test
    void overTlsThePageIsHttpsAndTheSocketWss(@TempDir java.nio.file.Path dir) throws Exception {
        TestCerts certs = TestCerts.make(dir, "ws", false);
        start(options().withTls(PemTls.serverContext(certs.cert(), certs.key())),
                WebSocketOptions.defaults());
        javax.net.ssl.SSLContext trust = PemTls.clientContext(certs.cert());
        HttpClient https = HttpClient.newBuilder().sslContext(trust)
                .connectTimeout(Duration.ofSeconds(5)).build();
        java.net.http.HttpResponse<String> page = https.send(java.net.http.HttpRequest
                        .newBuilder(URI.create("https://localhost:" + server.port() + "/")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<script>"));
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        WebSocket ws = https.newWebSocketBuilder()
                .buildAsync(URI.create("wss://localhost:" + server.port() + "/ws"),
                        new WebSocket.Listener() {
                            @Override
                            public CompletionStage<?> onText(WebSocket w, CharSequence data,
                                                             boolean last) {
                                got.add(data.toString());
                                w.request(1);
                                return null;
                            }
                        })
                .get(10, TimeUnit.SECONDS);
        try {
            assertTrue(poll(got).startsWith("* welcome "));
            ws.sendText("/nick secure", true).get(5, TimeUnit.SECONDS);
            String line;
            do {
                line = poll(got);
            } while (!line.endsWith(" is now known as secure"));
            ws.sendText("/quit", true).get(5, TimeUnit.SECONDS);
            do {
                line = poll(got);
            } while (!line.equals("* bye"));
        } finally {
            ws.abort();
        }
    }

    private static String poll(BlockingQueue<String> q) throws InterruptedException {
        String s = q.poll(10, TimeUnit.SECONDS);
        if (s == null) {
            throw new AssertionError("no message within 10 s");
        }
        return s;
    }

    /** Sends a request and returns the response's status line. */
    private String status(String request) throws Exception {
        try (WsTestClient c = WsTestClient.connect(server.port())) {
            c.sendRaw(request.getBytes(StandardCharsets.US_ASCII));
            String head = c.readHead();
            String body = c.readToEnd();
            assertTrue(body.endsWith("\n") && !body.isBlank(), "a short text body: " + body);
            return head.substring(0, head.indexOf("\r\n"));
        }
    }
}
