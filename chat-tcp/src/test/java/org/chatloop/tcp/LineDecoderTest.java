package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
