package org.chatloop.tcp;

import static org.chatloop.tcp.ClientFrames.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random input, seeded so a failure can be replayed: the decoder never throws, reports at most
 * one protocol error and nothing after it, and keeps its buffers within the limit.
 */
class WebSocketDecoderFuzzTest {
    private static final int MAX = 64;
    private static final int BOUND = MAX + 256;

    /** Feeds {@code in} in random pieces and checks the invariants; returns the events. */
    private static List<String> feedRandomly(byte[] in, Random rnd) {
        Recorder r = new Recorder();
        WebSocketDecoder d = new WebSocketDecoder(MAX);
        int off = 0;
        while (off < in.length) {
            int n = 1 + rnd.nextInt(in.length - off);
            d.feed(in, off, n, r);
            off += n;
            assertTrue(d.bufferedBytes() <= BOUND, "retained " + d.bufferedBytes());
        }
        assertTrue(r.errors <= 1, "errors: " + r.events);
        if (r.errors == 1) {
            assertTrue(r.events.get(r.events.size() - 1).startsWith("ERROR "), "events after error: " + r.events);
        }
        long closes = r.events.stream().filter(e -> e.startsWith("CLOSE ")).count();
        assertTrue(closes + r.errors <= 1, "more than one end: " + r.events);
        return r.events;
    }

    private static byte[] validStream(Random rnd) {
        ClientFrames f = new ClientFrames();
        int frames = 1 + rnd.nextInt(6);
        for (int i = 0; i < frames; i++) {
            switch (rnd.nextInt(5)) {
                case 0 -> f.text("hé" + "x".repeat(rnd.nextInt(80)));
                case 1 -> f.ping("p" + rnd.nextInt(1000));
                case 2 -> f.frame(false, WebSocketDecoder.OP_TEXT, utf8("frag"))
                        .pong("")
                        .frame(true, WebSocketDecoder.OP_CONTINUATION, utf8("€nd"));
                case 3 -> f.text("y".repeat(rnd.nextInt(300)));
                default -> f.text("");
            }
        }
        if (rnd.nextBoolean()) {
            f.close(1000, "bye");
        }
        return f.build();
    }

    @Test
    void shouldSurviveRandomBytes() {
        Random rnd = new Random(12);
        int errors = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] in = new byte[rnd.nextInt(64)];
            rnd.nextBytes(in);
            if (rnd.nextBoolean() && in.length > 1) {
                in[1] |= (byte) 0x80; // masked, so the decoder gets past the second byte more often
            }
            List<String> events = feedRandomly(in, rnd);
            errors += events.stream().anyMatch(e -> e.startsWith("ERROR ")) ? 1 : 0;
        }
        assertTrue(errors > 10_000, "random bytes should mostly be rejected: " + errors);
    }

    @Test
    void shouldSurviveMutationsOfValidStreams() {
        Random rnd = new Random(34);
        int changed = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] valid = validStream(rnd);
            List<String> expected = feedRandomly(valid, new Random(i));
            assertEquals(0, expected.stream().filter(e -> e.startsWith("ERROR ")).count(), "valid stream rejected");
            byte[] in = valid.clone();
            int mutations = 1 + rnd.nextInt(3);
            for (int m = 0; m < mutations; m++) {
                int at = rnd.nextInt(in.length);
                switch (rnd.nextInt(3)) {
                    case 0 -> in[at] ^= (byte) (1 << rnd.nextInt(8));
                    case 1 -> in[at] = (byte) rnd.nextInt(256);
                    default -> in = java.util.Arrays.copyOf(in, at); // truncated
                }
                if (in.length == 0) {
                    break;
                }
            }
            if (!feedRandomly(in, rnd).equals(expected)) {
                changed++;
            }
        }
        assertTrue(changed > 1_000, "mutations should usually change the events: " + changed);
    }
}
