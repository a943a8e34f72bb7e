package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The throttle without sockets: time moved by hand, every line counted. */
class LineThrottleTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    private static final class Recorder implements LineDecoder.Sink {
        final List<String> lines = new ArrayList<>();

        @Override
        public void onLine(byte[] buf, int off, int len) {
            lines.add(new String(buf, off, len, StandardCharsets.US_ASCII));
        }

        @Override
        public void onLineTooLong() {
            lines.add("TOO_LONG");
        }
    }

    @Test
    void shouldDecodeOnlyAsManyLinesAsTokensAndHoldTheRestOfTheRead() {
        Recorder r = new Recorder();
        LineDecoder d = new LineDecoder(64);
        LineThrottle t = new LineThrottle(10, d, r, 0);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 25; i++) {
            sb.append("line ").append(i).append('\n');
        }
        sb.append("unfinished");
        byte[] read = sb.toString().getBytes(StandardCharsets.US_ASCII);
        assertFalse(t.feed(read, 0, read.length, 0), "past the burst: stop reading");
        assertEquals(10, r.lines.size(), "the burst");
        assertTrue(t.heldBytes() > 0);
        assertEquals(100 * MS, t.nanosUntilTokens(0));
        assertFalse(t.drain(50 * MS), "no token yet");
        assertEquals(10, r.lines.size());
        assertFalse(t.drain(1_000 * MS), "ten more, still held");
        assertEquals(20, r.lines.size());
        assertTrue(t.drain(2_000 * MS), "everything decoded, tokens left: read again");
        assertEquals(25, r.lines.size());
        assertEquals(0, t.heldBytes());
        for (int i = 0; i < 25; i++) {
            assertEquals("line " + i, r.lines.get(i));
        }
        byte[] rest = "\n".getBytes(StandardCharsets.US_ASCII);
        assertTrue(t.feed(rest, 0, 1, 2_000 * MS));
        assertEquals("unfinished", r.lines.get(25), "the partial line was kept by the decoder");
    }

    @Test
    void shouldLoseNothingHoweverTheStreamIsCutAndTimeMoves() {
        Random random = new Random(13);
        Recorder r = new Recorder();
        LineDecoder d = new LineDecoder(64);
        LineThrottle t = new LineThrottle(100, d, r, 0);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 2_000; i++) {
            sb.append(i).append('\n');
        }
        byte[] all = sb.toString().getBytes(StandardCharsets.US_ASCII);
        long now = 0;
        int pos = 0;
        boolean reading = true;
        while (pos < all.length || t.heldBytes() > 0) {
            now += random.nextInt(30) * MS;
            if (reading && pos < all.length) {
                int n = Math.min(all.length - pos, 1 + random.nextInt(500));
                reading = t.feed(all, pos, n, now);
                pos += n;
            } else {
                reading = t.drain(now);
            }
        }
        assertEquals(2_000, r.lines.size());
        for (int i = 0; i < 2_000; i++) {
            assertEquals(String.valueOf(i), r.lines.get(i));
        }
        assertTrue(now >= (2_000 - 100) * 10 * MS, "at most 100 lines a second after the burst: "
                + now / MS + " ms");
    }
}
