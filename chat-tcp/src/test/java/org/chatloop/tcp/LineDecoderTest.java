package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LineDecoderTest {

    /** Records what the decoder reports: lines as strings, "TOO_LONG" for each over-long line. */
    private static final class Recorder implements LineDecoder.Sink {
        final List<String> events = new ArrayList<>();

        @Override
        public void onLine(byte[] buf, int off, int len) {
            events.add(new String(buf, off, len, StandardCharsets.ISO_8859_1));
        }

        @Override
        public void onLineTooLong() {
            events.add("TOO_LONG");
        }
    }

    private static List<String> decode(int max, byte[]... reads) {
        LineDecoder d = new LineDecoder(max);
        Recorder r = new Recorder();
        for (byte[] read : reads) {
            d.feed(read, 0, read.length, r);
        }
        return r.events;
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void shouldSplitLinesOnNewlineAndDropCarriageReturnBeforeIt() {
        assertEquals(List.of("a", "bc", "", "d\re"), decode(100, b("a\nbc\r\n\nd\re\n")));
    }

    @Test
    void shouldHoldAnUnterminatedLineUntilItsNewlineArrives() {
        assertEquals(List.of("hello world"), decode(100, b("hel"), b("lo wo"), b("rld\n"), b("x")));
    }

    @Test
    void shouldReportAnUnterminatedLastLineAtEndOfStream() {
        LineDecoder d = new LineDecoder(100);
        Recorder r = new Recorder();
        d.feed(b("/quit"), 0, 5, r);
        d.finish(r);
        assertEquals(List.of("/quit"), r.events);
    }

    @Test
    void shouldAcceptALineOfExactlyTheLimitWithOrWithoutCarriageReturn() {
        assertEquals(List.of("abcd", "efgh"), decode(4, b("abcd\nefgh\r\n")));
        assertEquals(List.of("abcd", "efgh"), decode(4, b("ab"), b("cd"), b("\nefgh"), b("\r"), b("\n")));
    }

    @Test
    void shouldReportAnOverlongLineOnceAndKeepTheNextLine() {
        assertEquals(List.of("TOO_LONG", "ok"), decode(4, b("abcde\nok\n")));
        assertEquals(List.of("TOO_LONG", "ok"),
                decode(4, b("abc"), b("defgh"), b("ijklmnop"), b("q\nok\n")));
        assertEquals(List.of("TOO_LONG", "ok"), decode(4, b("abcd"), b("e\nok\n")));
    }

    @Test
    void shouldNotReportADiscardedLineAgainAtEndOfStream() {
        LineDecoder d = new LineDecoder(4);
        Recorder r = new Recorder();
        d.feed(b("abcdefgh"), 0, 8, r);
        d.finish(r);
        assertEquals(List.of("TOO_LONG"), r.events);
    }

    @Test
    void shouldDeliverAUtf8CharacterSplitAcrossReadsWhole() {
        byte[] euro = "x\u20acy\n".getBytes(StandardCharsets.UTF_8); // E2 82 AC in the middle
        LineDecoder d = new LineDecoder(100);
        List<String> got = new ArrayList<>();
        LineDecoder.Sink sink = new LineDecoder.Sink() {
            @Override
            public void onLine(byte[] buf, int off, int len) {
                got.add(new String(buf, off, len, StandardCharsets.UTF_8));
            }

            @Override
            public void onLineTooLong() {
                got.add("TOO_LONG");
            }
        };
        d.feed(euro, 0, 2, sink);
        d.feed(euro, 2, 1, sink);
        d.feed(euro, 3, euro.length - 3, sink);
        assertEquals(List.of("x\u20acy"), got);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 42, 1234, 99991})
    void shouldFindTheSameLinesHoweverTheStreamIsCut(long seed) {
        Random rnd = new Random(seed);
        for (int round = 0; round < 200; round++) {
            int max = 1 + rnd.nextInt(40);
            byte[] stream = new byte[rnd.nextInt(400)];
            for (int i = 0; i < stream.length; i++) {
                int k = rnd.nextInt(10);
                stream[i] = k == 0 ? (byte) '\n' : k == 1 ? (byte) '\r' : (byte) rnd.nextInt(256);
            }
            List<String> whole = decode(max, stream);
            LineDecoder d = new LineDecoder(max);
            Recorder r = new Recorder();
            int at = 0;
            while (at < stream.length) {
                int n = 1 + rnd.nextInt(Math.min(50, stream.length - at));
                d.feed(stream, at, n, r);
                at += n;
            }
            assertEquals(whole, r.events, "seed " + seed + " round " + round + " max " + max);
            for (String line : whole) {
                if (!line.equals("TOO_LONG")) {
                    assertEquals(true, line.length() <= max, "line within limit: " + line);
                }
            }
        }
    }

    /**
     * Feeds {@code stream} cut at random read boundaries, each read copied into a larger array at
     * a random offset (as a connection's read buffer would hold it), and ends the stream.
     */
    private static List<String> decodeInRandomReads(int max, byte[] stream, Random rnd,
                                                    boolean finish) {
        LineDecoder d = new LineDecoder(max);
        Recorder r = new Recorder();
        int at = 0;
        while (at < stream.length) {
            int n = 1 + rnd.nextInt(Math.min(3 * max + 10, stream.length - at));
            int off = rnd.nextInt(8);
            byte[] read = new byte[off + n + rnd.nextInt(8)];
            rnd.nextBytes(read); // bytes outside [off, off+n) must never be looked at
            System.arraycopy(stream, at, read, off, n);
            d.feed(read, off, n, r);
            assertTrue(d.buffered() <= max + 1, "holds at most max+1 bytes: " + d);
            at += n;
        }
        if (finish) {
            d.finish(r);
            assertEquals(0, d.buffered());
        }
        return r.events;
    }

    @ParameterizedTest
    @ValueSource(longs = {7, 11, 2024, 65537, 987654321})
    void shouldNeverThrowWhateverTheBytesAndCuts(long seed) {
        Random rnd = new Random(seed);
        for (int round = 0; round < 300; round++) {
            int max = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(3) : 1 + rnd.nextInt(200);
            byte[] stream = new byte[rnd.nextInt(2000)];
            int newlineOdds = 1 + rnd.nextInt(300); // from newline-heavy to one long line
            for (int i = 0; i < stream.length; i++) {
                int k = rnd.nextInt(newlineOdds + 2);
                stream[i] = k == 0 ? (byte) '\n' : k == 1 ? (byte) '\r' : (byte) rnd.nextInt(256);
            }
            List<String> events = decodeInRandomReads(max, stream, rnd, rnd.nextBoolean());
            for (String e : events) {
                assertTrue(e.equals("TOO_LONG") || (e.length() <= max && e.indexOf('\n') < 0),
                        "seed " + seed + " round " + round + ": " + e);
            }
        }
    }

    /**
     * Lines of random bytes (no newline inside; some longer than the limit, some exactly at it,
     * some ending in CR LF, some with a CR of their own), cut at random read boundaries: every
     * over-long line is reported exactly once, in its place, and every other line arrives exactly
     * as sent, so nothing of an over-long line leaks into the line after it.
     */
    @ParameterizedTest
    @ValueSource(longs = {3, 17, 4242, 31337, 8675309})
    void shouldReportEachOverlongLineOnceAndDeliverTheNextLineExactlyAsSent(long seed) {
        Random rnd = new Random(seed);
        for (int round = 0; round < 200; round++) {
            int max = 1 + rnd.nextInt(64);
            int count = 1 + rnd.nextInt(30);
            List<String> expected = new ArrayList<>();
            StringBuilder stream = new StringBuilder();
            boolean lastUnterminated = rnd.nextInt(4) == 0;
            for (int i = 0; i < count; i++) {
                int kind = rnd.nextInt(5);
                int len = kind == 0 ? max + 1 + rnd.nextInt(5 * max + 2) // over-long
                        : kind == 1 ? max // exactly at the limit
                        : rnd.nextInt(max + 1);
                StringBuilder body = new StringBuilder();
                for (int j = 0; j < len; j++) {
                    char c = (char) rnd.nextInt(256);
                    body.append(c == '\n' ? 'n' : c);
                }
                boolean crlf = rnd.nextBoolean();
                boolean last = i == count - 1;
                String sent = body + (crlf ? "\r" : "");
                stream.append(sent);
                if (!(last && lastUnterminated)) {
                    stream.append('\n');
                }
                // The decoder's rule: one CR before the newline is dropped, then the limit applies.
                if (last && lastUnterminated && sent.isEmpty()) {
                    break; // nothing after the last newline: no line at end of stream
                }
                String line = sent.endsWith("\r") ? sent.substring(0, sent.length() - 1) : sent;
                expected.add(line.length() > max ? "TOO_LONG" : line);
            }
            byte[] bytes = b(stream.toString());
            String where = "seed " + seed + " round " + round + " max " + max;
            assertEquals(expected, decodeInRandomReads(max, bytes, rnd, true), where);
            LineDecoder whole = new LineDecoder(max);
            Recorder wholeEvents = new Recorder();
            whole.feed(bytes, 0, bytes.length, wholeEvents);
            whole.finish(wholeEvents);
            assertEquals(expected, wholeEvents.events, where + " (one read)");
            // And the same when each byte is its own read.
            byte[][] single = new byte[bytes.length][];
            for (int i = 0; i < bytes.length; i++) {
                single[i] = new byte[] {bytes[i]};
            }
            LineDecoder d = new LineDecoder(max);
            Recorder r = new Recorder();
            for (byte[] one : single) {
                d.feed(one, 0, 1, r);
            }
            d.finish(r);
            assertEquals(expected, r.events, where + " (one byte per read)");
        }
    }

    @Test
    void shouldFindNewlinesEightBytesAtATimeLikeAPlainLoop() {
        Random rnd = new Random(11);
        for (int round = 0; round < 20_000; round++) {
            byte[] b = new byte[rnd.nextInt(40)];
            for (int i = 0; i < b.length; i++) {
                int k = rnd.nextInt(12);
                b[i] = k == 0 ? (byte) '\n' : k == 1 ? (byte) 0x0B : k == 2 ? (byte) 0x8A
                        : (byte) rnd.nextInt(256);
            }
            int from = b.length == 0 ? 0 : rnd.nextInt(b.length);
            int expected = -1;
            for (int i = from; i < b.length; i++) {
                if (b[i] == '\n') {
                    expected = i;
                    break;
                }
            }
            assertEquals(expected, LineDecoder.indexOf(b, from, b.length), "round " + round);
        }
    }

    // ---- unframed streams (clients that never send a newline) ----

    @Test
    void shouldTurnAnUnframedPartialIntoALineWhenFlushed() {
        LineDecoder d = new LineDecoder(64);
        Recorder r = new Recorder();
        d.feed(b("hel"), 0, 3, r);
        d.feed(b("lo"), 0, 2, r);
        assertTrue(d.holdsUnframedLine());

        d.flushUnframed(r);
        d.feed(b("/quit"), 0, 5, r);
        d.flushUnframed(r);

        assertEquals(List.of("hello", "/quit"), r.events);
        assertTrue(!d.holdsUnframedLine() && !d.isFramed());
    }

    @Test
    void shouldStayFramedForGoodAfterTheFirstNewline() {
        LineDecoder d = new LineDecoder(64);
        Recorder r = new Recorder();
        d.feed(b("hel"), 0, 3, r);
        d.feed(b("lo\npar"), 0, 6, r);
        assertTrue(d.isFramed());
        assertTrue(!d.holdsUnframedLine());

        d.flushUnframed(r); // a pause mid-line: ignored once framed
        d.feed(b("tial\n"), 0, 5, r);

        assertEquals(List.of("hello", "partial"), r.events);
    }

    @Test
    void shouldEndAnOverLongUnframedLineAtThePause() {
        LineDecoder d = new LineDecoder(4);
        Recorder r = new Recorder();
        d.feed(b("toolongline"), 0, 11, r);
        assertTrue(d.holdsUnframedLine(), "discarding counts as holding");
        d.flushUnframed(r);
        d.feed(b("ok"), 0, 2, r);
        d.flushUnframed(r);

        assertEquals(List.of("TOO_LONG", "ok"), r.events);
    }

    @Test
    void shouldIgnoreAFlushWithNothingHeld() {
        LineDecoder d = new LineDecoder(8);
        Recorder r = new Recorder();

        d.flushUnframed(r);

        assertEquals(List.of(), r.events);
    }
}
