package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.chatloop.tcp.HttpRequestHead.Parser;
import org.chatloop.tcp.HttpRequestHead.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Request head parser: fields, tokens, every split point, the 8 KiB bound, malformed heads. */
class HttpRequestHeadTest {
    static final String UPGRADE = "GET /ws HTTP/1.1\r\n"
            + "Host: localhost:8080\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: keep-alive, Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
            + "X-Twice: one\r\n"
            + "x-twice:  two , three \r\n"
            + "\r\n";

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static HttpRequestHead parse(String s) {
        Parser p = new Parser();
        byte[] in = b(s);
        assertEquals(Status.COMPLETE, p.feed(in, 0, in.length));
        return p.head();
    }

    private static Status status(String s) {
        byte[] in = b(s);
        return new Parser().feed(in, 0, in.length);
    }

    @Test
    void shouldParseRequestLineAndHeaders() {
        HttpRequestHead h = parse(UPGRADE);
        assertEquals("GET", h.method());
        assertEquals("/ws", h.target());
        assertEquals("HTTP/1.1", h.version());
        assertEquals("localhost:8080", h.single("HOST"));
        assertEquals(List.of("keep-alive", "Upgrade"), h.tokens("connection"));
        assertTrue(h.hasToken("Connection", "upgrade"));
        assertFalse(h.hasToken("Connection", "close"));
        assertEquals(List.of("one", "two , three"), h.values("X-TWICE"));
        assertEquals(List.of("one", "two", "three"), h.tokens("x-twice"));
        assertEquals(null, h.single("x-twice"));
        assertEquals(List.of(), h.values("absent"));
    }

    @Test
    void shouldGiveTheSameHeadAtEverySplitAndOneByteAtATime() {
        byte[] in = b(UPGRADE);
        HttpRequestHead expected = parse(UPGRADE);
        for (int split = 0; split <= in.length; split++) {
            Parser p = new Parser();
            Status first = p.feed(in, 0, split);
            assertEquals(split == in.length ? Status.COMPLETE : Status.INCOMPLETE, first, "split " + split);
            if (first == Status.INCOMPLETE) {
                assertEquals(split, p.consumed());
                assertEquals(Status.COMPLETE, p.feed(in, split, in.length - split), "split " + split);
                assertEquals(in.length - split, p.consumed());
            }
            assertEquals(expected, p.head(), "split " + split);
        }
        Parser p = new Parser();
        for (int i = 0; i < in.length - 1; i++) {
            assertEquals(Status.INCOMPLETE, p.feed(in, i, 1));
        }
        assertEquals(Status.COMPLETE, p.feed(in, in.length - 1, 1));
        assertEquals(expected, p.head());
    }

    @Test
    void shouldTolerateBareLineFeeds() {
        HttpRequestHead h = parse("GET / HTTP/1.1\nHost: a\r\nX: y\n\n");
        assertEquals("/", h.target());
        assertEquals("a", h.single("host"));
        assertEquals("y", h.single("x"));
    }

    @Test
    void shouldIgnoreAnEmptyLineBeforeTheRequestLine() {
        assertEquals("GET", parse("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").method());
    }

    @Test
    void shouldSayHowManyBytesBelongToTheHead() {
        byte[] in = b("GET / HTTP/1.1\r\nHost: a\r\n\r\nEXTRA");
        Parser p = new Parser();
        assertEquals(Status.COMPLETE, p.feed(in, 0, in.length));
        assertEquals(in.length - 5, p.consumed());
        assertEquals(Status.COMPLETE, p.feed(in, 0, in.length));
        assertEquals(0, p.consumed());
    }

    @Test
    void shouldAcceptAHeadOfExactly8KiB() {
        String start = "GET / HTTP/1.1\r\nX: ";
        String end = "\r\n\r\n";
        String head = start + "v".repeat(HttpRequestHead.MAX_HEAD_BYTES - start.length() - end.length()) + end;
        assertEquals(HttpRequestHead.MAX_HEAD_BYTES, head.length());
        assertEquals(Status.COMPLETE, status(head));
    }

    @Test
    void shouldReportAHeadOver8KiBAsTooLargeAndStayTooLarge() {
        String head = "GET / HTTP/1.1\r\nX: " + "v".repeat(HttpRequestHead.MAX_HEAD_BYTES) + "\r\n\r\n";
        byte[] in = b(head);
        Parser p = new Parser();
        assertEquals(Status.TOO_LARGE, p.feed(in, 0, in.length));
        assertEquals(HttpRequestHead.MAX_HEAD_BYTES, p.consumed());
        assertEquals(Status.TOO_LARGE, p.feed(in, 0, 10));
        assertEquals(0, p.consumed());
        assertThrows(IllegalStateException.class, p::head);
        Parser slow = new Parser();
        Status s = Status.INCOMPLETE;
        for (int i = 0; i < in.length && s == Status.INCOMPLETE; i++) {
            s = slow.feed(in, i, 1);
        }
        assertEquals(Status.TOO_LARGE, s);
        // Endless empty lines before the request line still count against the bound.
        assertEquals(Status.TOO_LARGE, status("\r\n".repeat(5000)));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "GET /\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 extra\r\n\r\n",
        "GET / HTTX/1.1\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nName : space before colon\r\n\r\n",
        "GET / HTTP/1.1\r\n: no name\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
        "GET / HTTP/1.1\r\nA: nul\u0000\r\n\r\n",
    })
    void shouldRejectMalformedHeads(String head) {
        assertEquals(Status.MALFORMED, status(head));
    }

    @Test
    void toStringShowsState() {
        assertTrue(new Parser().toString().contains("INCOMPLETE"));
    }
}
