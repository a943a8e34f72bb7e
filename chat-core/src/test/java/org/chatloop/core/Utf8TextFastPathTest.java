package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class Utf8TextFastPathTest {

    private static int naive(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            int v = b[i] & 0xFF;
            if (v < 0x20 || v >= 0x7F) {
                return i;
            }
        }
        return off + len;
    }

    @Test
    void shouldFindTheFirstNonPrintableByteLikeAPlainLoop() {
        Random rnd = new Random(7);
        for (int round = 0; round < 20_000; round++) {
            byte[] b = new byte[rnd.nextInt(70)];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (0x20 + rnd.nextInt(0x5F)); // printable
            }
            int bad = rnd.nextInt(4);
            for (int k = 0; k < bad && b.length > 0; k++) {
                int[] specials = {0x00, 0x09, 0x1B, 0x1F, 0x7F, 0x80, 0xC2, 0xFF, 0x0A, 0x0D};
                b[rnd.nextInt(b.length)] = (byte) specials[rnd.nextInt(specials.length)];
            }
            int off = b.length == 0 ? 0 : rnd.nextInt(b.length);
            int len = b.length - off == 0 ? 0 : rnd.nextInt(b.length - off + 1);
            assertEquals(naive(b, off, len), Utf8Text.firstNonPrintableAscii(b, off, len),
                    "round " + round);
        }
    }

    @Test
    void shouldTreatEveryByteValueLikeAPlainLoop() {
        for (int v = 0; v < 256; v++) {
            for (int pos = 0; pos < 17; pos++) {
                byte[] b = "abcdefghijklmnopq".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                b[pos] = (byte) v;
                assertEquals(naive(b, 0, b.length), Utf8Text.firstNonPrintableAscii(b, 0, b.length),
                        "byte " + v + " at " + pos);
            }
        }
    }
}
