package org.chatloop.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The byte-level sanitiser: invalid UTF-8 becomes U+FFFD, one per maximal subpart (Unicode 3.9,
 * "U+FFFD Substitution of Maximal Subparts"), and C0 controls other than TAB, DEL and C1
 * controls are removed.
 */
class Utf8TextTest {
    private static final String R = "\ufffd";

    private static String sanitize(byte[] in) {
        byte[] out = new byte[Utf8Text.maxSanitizedLength(in.length)];
        int n = Utf8Text.sanitize(in, 0, in.length, out, 0);
        return new String(out, 0, n, UTF_8);
    }

    private static byte[] sanitizeToBytes(byte[] in) {
        byte[] out = new byte[Utf8Text.maxSanitizedLength(in.length)];
        int n = Utf8Text.sanitize(in, 0, in.length, out, 0);
        return java.util.Arrays.copyOf(out, n);
    }

    private static String sanitize(String s) {
        return sanitize(s.getBytes(UTF_8));
    }

    private static byte[] hex(String h) {
        return HexFormat.of().parseHex(h.replace(" ", ""));
    }

    @Test
    void shouldKeepPrintableAsciiAndTabUnchanged() {
        String printable = "\t !\"#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~";

        assertEquals(printable, sanitize(printable));
    }

    @Test
    void shouldRemoveEveryC0ControlExceptTabAndRemoveDel() {
        for (int c = 0; c < 0x20; c++) {
            String expected = c == '\t' ? "a\tb" : "ab";
            assertEquals(expected, sanitize(new byte[] {'a', (byte) c, 'b'}), "control " + c);
        }
        assertEquals("ab", sanitize(new byte[] {'a', 0x7F, 'b'}));
    }

    @Test
    void shouldRemoveEveryC1ControlButKeepTheCharactersAfterIt() {
        for (int c = 0x80; c <= 0x9F; c++) {
            assertEquals("ab", sanitize(new byte[] {'a', (byte) 0xC2, (byte) c, 'b'}), "C1 " + c);
        }
        assertEquals("a\u00a0b", sanitize(hex("61 C2A0 62")), "NBSP is not a control");
        assertEquals("\u00ff", sanitize(hex("C3BF")));
    }

    @Test
    void shouldDefuseTerminalEscapeSequences() {
        assertEquals("[31mred[0m", sanitize("\u001b[31mred\u001b[0m"));
        assertEquals("]0;title", sanitize("\u001b]0;title\u0007"));
        assertEquals("2J", sanitize("\u009b2J"), "8-bit CSI");
    }

    @Test
    void shouldRemoveCarriageReturnLineFeedAndNul() {
        assertEquals("fakeline", sanitize("fake\r\nline"));
        assertEquals("ab", sanitize("a\u0000b"));
    }

    @Test
    void shouldKeepWellFormedMultiByteCharacters() {
        String text = "\u00e9\u00df \u20ac \u4e16\u754c \ud83d\ude00 \ud800\udc00 \udbff\udfff \ud7ff \ue000 \ufffd";

        assertEquals(text, sanitize(text));
        assertArrayEquals(text.getBytes(UTF_8), sanitizeToBytes(text.getBytes(UTF_8)));
    }

    @ParameterizedTest(name = "{0} -> {1} replacement(s) around the rest")
    @CsvSource({
        // lone continuation bytes and bytes that never start a sequence
        "80, 1", "BF, 1", "C0, 1", "C1, 1", "F5, 1", "F8, 1", "FE, 1", "FF, 1",
        // overlong encodings: each byte is its own maximal subpart
        "C0 AF, 2", "C1 BF, 2", "E0 80 AF, 3", "E0 9F BF, 3", "F0 80 80 AF, 4", "F0 8F BF BF, 4",
        // UTF-16 surrogates encoded in UTF-8 (ED A0..BF): ED is a subpart on its own
        "ED A0 80, 3", "ED BF BF, 3", "ED A0 80 ED B0 80, 6", "ED A0, 2",
        // beyond U+10FFFF
        "F4 90 80 80, 4", "F7 BF BF BF, 4",
        // truncated sequences at the end of the line: one replacement for the whole prefix
        "C3, 1", "E2, 1", "E2 82, 1", "F0, 1", "F0 9F, 1", "F0 9F 98, 1", "F4 8F BF, 1",
        // a valid prefix cut short by another lead byte
        "E2 82 E2 82, 2", "F0 9F 98 F0 9F 98, 2", "C3 C3, 2"
    })
    void shouldReplaceEachMaximalInvalidSubpartWithOneReplacementCharacter(String bytes, int replacements) {
        byte[] bad = hex(bytes);

        assertEquals(R.repeat(replacements), sanitize(bad), bytes);
        byte[] framed = hex("41 " + bytes + " 42");
        assertEquals("A" + R.repeat(replacements) + "B", sanitize(framed), "framed " + bytes);
    }

    @Test
    void shouldFollowTheUnicodeStandardsOwnMaximalSubpartExample() {
        // The Unicode Standard, chapter 3.9, table "U+FFFD for Each Maximal Subpart".
        byte[] in = hex("61 F1 80 80 E1 80 C2 62 80 63 80 BF 64");

        assertEquals("a" + R + R + R + "b" + R + "c" + R + R + "d", sanitize(in));
    }

    @Test
    void shouldResumeDecodingAtTheByteThatBrokeASequence() {
        assertEquals(R + "A", sanitize(hex("E2 82 41")));
        assertEquals(R + "\u00e9", sanitize(hex("F0 9F C3 A9")));
        assertEquals(R, sanitize(hex("E2 82 0D")), "truncated then a removed CR");
    }

    @Test
    void shouldKeepTheBoundaryCodePoints() {
        assertEquals("\u07ff", sanitize(hex("DF BF")));
        assertEquals("\u0800", sanitize(hex("E0 A0 80")));
        assertEquals("\ud7ff", sanitize(hex("ED 9F BF")));
        assertEquals("\ue000", sanitize(hex("EE 80 80")));
        assertEquals("\uffff", sanitize(hex("EF BF BF")));
        assertEquals(new String(Character.toChars(0x10000)), sanitize(hex("F0 90 80 80")));
        assertEquals(new String(Character.toChars(0x10FFFF)), sanitize(hex("F4 8F BF BF")));
    }

    @Test
    void shouldReadFromAndWriteToTheGivenOffsets() {
        byte[] src = hex("FF FF 41 1B 42 C2 85 43 FF FF");
        byte[] dst = new byte[4 + Utf8Text.maxSanitizedLength(6)];
        dst[0] = 'x';

        int n = Utf8Text.sanitize(src, 2, 6, dst, 1);

        assertEquals(3, n);
        assertEquals("xABC", new String(dst, 0, 1 + n, UTF_8));
    }

    @Test
    void shouldWriteNothingForAnEmptyRange() {
        byte[] dst = new byte[0];

        assertEquals(0, Utf8Text.sanitize(new byte[] {1, 2, 3}, 1, 0, dst, 0));
        assertEquals(0, Utf8Text.maxSanitizedLength(0));
    }

    @Test
    void shouldFitTheWorstCaseInTheAdvertisedBound() {
        byte[] allBad = new byte[64];
        java.util.Arrays.fill(allBad, (byte) 0x80);
        byte[] dst = new byte[Utf8Text.maxSanitizedLength(allBad.length)];

        assertEquals(dst.length, Utf8Text.sanitize(allBad, 0, allBad.length, dst, 0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "\t", " \t \t"})
    void shouldRecogniseAsciiBlankRanges(String s) {
        byte[] b = ("x" + s + "x").getBytes(UTF_8);

        assertTrue(Utf8Text.isAsciiBlank(b, 1, b.length - 2));
        assertTrue(Utf8Text.isAscii(b, 0, b.length));
    }

    @Test
    void shouldNotCallNonBlankOrNonAsciiRangesAsciiBlank() {
        assertFalse(Utf8Text.isAsciiBlank(" a ".getBytes(UTF_8), 0, 3));
        assertFalse(Utf8Text.isAsciiBlank("\u3000".getBytes(UTF_8), 0, 3));
        assertFalse(Utf8Text.isAscii("a\u00e9".getBytes(UTF_8), 0, 3));
        assertTrue(Utf8Text.isAscii("a\u00e9".getBytes(UTF_8), 0, 1));
    }

    // ---- randomized comparison with the JDK's decoder ----

    @Test
    void shouldAgreeWithTheJdkDecoderOnRandomBytesBiasedTowardHighBytes() {
        Random random = new Random(0x5EED_0001L);
        for (int t = 0; t < 2000; t++) {
            byte[] in = new byte[random.nextInt(65)];
            for (int i = 0; i < in.length; i++) {
                in[i] = (byte) (random.nextInt(4) == 0 ? random.nextInt(0x80) : 0x80 + random.nextInt(0x80));
            }
            assertMatchesReference(in, t);
        }
    }

    @Test
    void shouldAgreeWithTheJdkDecoderOnDamagedWellFormedText() {
        Random random = new Random(0x5EED_0002L);
        for (int t = 0; t < 2000; t++) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int pieces = random.nextInt(12);
            for (int p = 0; p < pieces; p++) {
                buf.writeBytes(new String(Character.toChars(randomCodePoint(random))).getBytes(UTF_8));
            }
            byte[] in = buf.toByteArray();
            // Damage a few bytes: drop them, flip them, or replace them by anything.
            for (int d = random.nextInt(3); d > 0 && in.length > 0; d--) {
                int at = random.nextInt(in.length);
                switch (random.nextInt(3)) {
                    case 0 -> in = concat(java.util.Arrays.copyOf(in, at),
                            java.util.Arrays.copyOfRange(in, at + 1, in.length));
                    case 1 -> in[at] ^= (byte) (1 << random.nextInt(8));
                    default -> in[at] = (byte) random.nextInt(256);
                }
            }
            if (in.length > 64) {
                in = java.util.Arrays.copyOf(in, random.nextInt(65));
            }
            assertMatchesReference(in, t);
        }
    }

    private static int randomCodePoint(Random random) {
        switch (random.nextInt(6)) {
            case 0: return random.nextInt(0x80);
            case 1: return 0x80 + random.nextInt(0x780);
            case 2: return 0x800 + random.nextInt(0xD800 - 0x800);
            case 3: return 0xE000 + random.nextInt(0x2000);
            case 4: return 0x10000 + random.nextInt(0x100000);
            default: return 0x80 + random.nextInt(0x20);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void assertMatchesReference(byte[] in, int trial) {
        byte[] out = new byte[Utf8Text.maxSanitizedLength(in.length) + 2];
        out[0] = 'x';
        int n = Utf8Text.sanitize(in, 0, in.length, out, 1);

        byte[] got = java.util.Arrays.copyOfRange(out, 1, 1 + n);
        byte[] expected = reference(in);
        assertArrayEquals(expected, got, () -> "trial " + trial + ": " + HexFormat.ofDelimiter(" ").formatHex(in)
                + "\n expected " + HexFormat.ofDelimiter(" ").formatHex(expected)
                + "\n      got " + HexFormat.ofDelimiter(" ").formatHex(got));
        assertTrue(n <= Utf8Text.maxSanitizedLength(in.length));
        assertEquals('x', out[0], "wrote before its offset");
        assertEquals(0, out[1 + n], "wrote past the count it returned");
    }

    /**
     * {@code new String(bytes, UTF_8)} with the control characters removed, re-encoded as UTF-8,
     * corrected where the JDK departs from the maximal-subpart practice: for a UTF-16 surrogate
     * encoded in UTF-8 ({@code ED A0..BF ..}) the JDK (17 at least) writes one U+FFFD for the
     * whole sequence, where the Unicode Standard (Table 3-7 allows only 80..9F after ED), the
     * WHATWG Encoding Standard, browsers and Python write one per byte. The lead byte ED can never
     * continue a sequence, so the input is cut before each such ED, the ED becomes U+FFFD on its
     * own, and the JDK decodes the pieces in between.
     */
    static byte[] reference(byte[] in) {
        StringBuilder decoded = new StringBuilder();
        int start = 0;
        for (int i = 0; i + 1 < in.length; i++) {
            int b = in[i] & 0xFF;
            int next = in[i + 1] & 0xFF;
            if (b == 0xED && next >= 0xA0 && next <= 0xBF) {
                decoded.append(new String(in, start, i - start, UTF_8)).append('\ufffd');
                start = i + 1;
            }
        }
        decoded.append(new String(in, start, in.length - start, UTF_8));
        StringBuilder kept = new StringBuilder();
        decoded.codePoints()
                .filter(c -> !((c < 0x20 && c != '\t') || (c >= 0x7F && c <= 0x9F)))
                .forEach(kept::appendCodePoint);
        return kept.toString().getBytes(UTF_8);
    }

    @Test
    void shouldMatchThePlainJdkDecoderWhereNoEncodedSurrogateOccurs() {
        byte[] in = hex("41 80 C0 AF E0 80 AF F0 80 80 AF F4 90 80 80 E2 82 1B 5B 33 31 6D C2 85 F0 9F 98 80 E2 82");
        String jdk = new String(in, UTF_8).replaceAll("[\\x00-\\x08\\x0A-\\x1F\\x7F-\\x9F]", "");

        assertEquals(jdk, sanitize(in));
    }
}
