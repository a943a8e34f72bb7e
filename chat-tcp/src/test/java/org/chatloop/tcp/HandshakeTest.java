package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.chatloop.tcp.Handshake.Accepted;
import org.chatloop.tcp.Handshake.Rejected;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Upgrade validation and the exact response bytes for each outcome. */
class HandshakeTest {
    private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";

    private static String request(String method, String version, String... headers) {
        StringBuilder sb = new StringBuilder(method + " /ws " + version + "\r\n");
        for (String h : headers) {
            sb.append(h).append("\r\n");
        }
        return sb.append("\r\n").toString();
    }

    private static String valid(String... extra) {
        String[] base = {"Host: example.com", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: " + KEY, "Sec-WebSocket-Version: 13"};
        String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return request("GET", "HTTP/1.1", all);
    }

    private static Handshake.Result evaluate(String req, Set<String> origins) {
        return Handshake.evaluate(HttpRequestHeadTest.parse(req), origins);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static void assertRejected(int status, String req, Set<String> origins) {
        Rejected r = assertInstanceOf(Rejected.class, evaluate(req, origins));
        assertEquals(status, r.status(), r.body());
    }

    /** RFC 6455 section 1.3's example; checked independently with Python's hashlib and openssl. */
    @Test
    void shouldComputeTheAcceptValueOfRfc6455() {
        assertEquals("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Handshake.accept(KEY));
    }

    @Test
    void shouldAcceptAValidUpgradeWithTheExactResponse() {
        Accepted a = assertInstanceOf(Accepted.class, evaluate(HttpRequestHeadTest.UPGRADE, null));
        assertEquals("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", a.accept());
        assertEquals("HTTP/1.1 101 Switching Protocols\r\n"
                + "Upgrade: websocket\r\n"
                + "Connection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                + "\r\n", text(a.response()));
    }

    @Test
    void shouldMatchUpgradeAndConnectionTokensIgnoringCase() {
        String req = request("GET", "HTTP/1.1", "host: h", "UPGRADE: WebSocket", "connection: keep-alive",
                "Connection: UPGRADE", "sec-websocket-key: " + KEY, "SEC-WEBSOCKET-VERSION: 13");
        assertInstanceOf(Accepted.class, evaluate(req, Set.of()));
    }

    @Test
    void shouldRefuseOtherMethodsWith405AndAllowGet() {
        Rejected r = assertInstanceOf(Rejected.class, evaluate(request("POST", "HTTP/1.1", "Host: h"), null));
        assertEquals("HTTP/1.1 405 Method Not Allowed\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: 19\r\n"
                + "Connection: close\r\n"
                + "Allow: GET\r\n"
                + "\r\n"
                + "method not allowed\n", text(r.response()));
    }

    @Test
    void shouldRefuseABadUpgradeWith400AndAShortTextBody() {
        Rejected r = assertInstanceOf(Rejected.class,
                evaluate(request("GET", "HTTP/1.1", "Host: h", "Connection: Upgrade"), null));
        String body = "Upgrade: websocket is required\n";
        assertEquals("HTTP/1.1 400 Bad Request\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: " + body.length() + "\r\n"
                + "Connection: close\r\n"
                + "\r\n"
                + body, text(r.response()));
    }

    @Test
    void shouldRequireHttp11AndOneHost() {
        assertRejected(400, valid().replace("HTTP/1.1", "HTTP/1.0"), null);
        assertRejected(400, valid().replace("Host: example.com\r\n", ""), null);
        assertRejected(400, valid("Host: other.example"), null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Upgrade: h2c", "Upgrade: websocketx", "Connection: keep-alive",
        "Connection: upgraded"})
    void shouldRefuseWrongUpgradeOrConnectionTokens(String header) {
        String name = header.substring(0, header.indexOf(':'));
        String req = valid().replaceAll(name + ": [^\r]*", header);
        assertRejected(400, req, null);
    }

    @Test
    void shouldAnswer426WithTheSupportedVersion() {
        Rejected r = assertInstanceOf(Rejected.class,
                evaluate(valid().replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"), null));
        assertEquals(426, r.status());
        String resp = text(r.response());
        assertEquals(true, resp.startsWith("HTTP/1.1 426 Upgrade Required\r\n"), resp);
        assertEquals(true, resp.contains("\r\nSec-WebSocket-Version: 13\r\n"), resp);
        assertRejected(426, valid().replace("Sec-WebSocket-Version: 13\r\n", ""), null);
        assertInstanceOf(Accepted.class,
                evaluate(valid().replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8, 13"), null));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25j",
        "dGhlIHNhbXBsZSBub25jZXg=", "!!!!!!!!!!!!!!!!!!!!!!==", "dGhlIHNhbXBsZSBub25jZQ==dGhl"})
    void shouldRefuseAKeyThatIsNotBase64Of16Bytes(String key) {
        assertRejected(400, valid().replace(KEY, key), null);
    }

    @Test
    void shouldRefuseTwoKeys() {
        assertRejected(400, valid("Sec-WebSocket-Key: " + KEY), null);
    }

    @Test
    void shouldCheckTheOriginOnlyWhenAllowedOriginsAreGiven() {
        Set<String> allowed = Set.of("https://chat.example");
        assertInstanceOf(Accepted.class, evaluate(valid("Origin: https://chat.example"), allowed));
        assertInstanceOf(Accepted.class, evaluate(valid("Origin: HTTPS://Chat.Example"), allowed));
        assertRejected(403, valid("Origin: https://evil.example"), allowed);
        assertRejected(403, valid(), allowed);
        assertInstanceOf(Accepted.class, evaluate(valid("Origin: https://evil.example"), null));
        Rejected r = assertInstanceOf(Rejected.class, evaluate(valid("Origin: https://evil.example"), allowed));
        assertEquals(true, text(r.response()).startsWith("HTTP/1.1 403 Forbidden\r\n"));
    }

    @Test
    void shouldBuildNotFoundAndTooLargeResponses() {
        assertEquals("HTTP/1.1 404 Not Found\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: 10\r\n"
                + "Connection: close\r\n"
                + "\r\n"
                + "not found\n", text(HttpResponses.notFound()));
        String tooLarge = text(HttpResponses.headTooLarge());
        assertEquals(true, tooLarge.startsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"), tooLarge);
        assertEquals(true, text(HttpResponses.malformed()).startsWith("HTTP/1.1 400 Bad Request\r\n"));
        assertEquals(text(HttpResponses.methodNotAllowed()),
                text(new Rejected(405, "method not allowed", "Allow: GET").response()));
    }

    @Test
    void shouldCountContentLengthInUtf8Bytes() {
        String resp = text(HttpResponses.error(400, "é"));
        assertEquals(true, resp.contains("Content-Length: 3\r\n"), resp);
    }
}
