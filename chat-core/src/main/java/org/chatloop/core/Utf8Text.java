package org.chatloop.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Byte-level clean-up of client text, without building strings: invalid UTF-8 becomes U+FFFD,
 * one per maximal invalid subpart (Unicode Standard, section 3.9, "U+FFFD Substitution of Maximal
 * Subparts"; the WHATWG Encoding Standard does the same), and control characters are removed: C0
 * other than TAB, DEL, and C1 (U+0080-U+009F). Nothing a client sends can then carry a terminal
 * escape sequence or a line break to anyone.
 *
 * <p>{@code new String(bytes, UTF_8)} gives the same result except for a UTF-16 surrogate encoded
 * in UTF-8 ({@code ED A0..BF ..}): the JDK (17 at least) writes one U+FFFD for the whole sequence,
 * this class one per byte, as the standard asks (after {@code ED} only {@code 80..9F} may
 * follow, so {@code ED} alone is a maximal subpart).
 *
 * <p>Pure and stateless.
 */
final class Utf8Text {
    private static final byte[] REPLACEMENT = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};

    private Utf8Text() {
    }

    /** @return how many bytes {@link #sanitize} may write for {@code length} input bytes */
    static int maxSanitizedLength(int length) {
        return length * REPLACEMENT.length;
    }

    /**
     * Writes the sanitised form of {@code src[off, off+len)} to {@code dst} from {@code dstOff}.
     * {@code dst} needs room for {@link #maxSanitizedLength}{@code (len)} bytes.
     *
     * @return the number of bytes written
     */
    static int sanitize(byte[] src, int off, int len, byte[] dst, int dstOff) {
        int end = off + len;
        int out = dstOff;
        int i = off;
        while (i < end) {
            int b = src[i] & 0xFF;
            if (b < 0x80) {
                if ((b >= 0x20 && b != 0x7F) || b == '\t') {
                    dst[out++] = (byte) b;
                }
                i++;
                continue;
            }
            int need;
            int lo = 0x80;
            int hi = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) {
                need = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                need = 2;
                if (b == 0xE0) {
                    lo = 0xA0;
                } else if (b == 0xED) {
                    hi = 0x9F;
                }
            } else if (b >= 0xF0 && b <= 0xF4) {
                need = 3;
                if (b == 0xF0) {
                    lo = 0x90;
                } else if (b == 0xF4) {
                    hi = 0x8F;
                }
            } else {
                out = replacement(dst, out);
                i++;
                continue;
            }
            int j = i + 1;
            int got = 0;
            while (got < need && j < end) {
                int c = src[j] & 0xFF;
                if (c < lo || c > hi) {
                    break;
                }
                lo = 0x80;
                hi = 0xBF;
                j++;
                got++;
            }
            if (got < need) {
                out = replacement(dst, out);
                i = j;
                continue;
            }
            boolean c1Control = need == 1 && b == 0xC2 && (src[i + 1] & 0xFF) <= 0x9F;
            if (!c1Control) {
                for (int k = i; k < j; k++) {
                    dst[out++] = src[k];
                }
            }
            i = j;
        }
        return out - dstOff;
    }

    private static int replacement(byte[] dst, int out) {
        dst[out] = REPLACEMENT[0];
        dst[out + 1] = REPLACEMENT[1];
        dst[out + 2] = REPLACEMENT[2];
        return out + 3;
    }

    /**
     * @return the index of the first byte in {@code buf[off, off+len)} that is not printable
     *         ASCII (0x20-0x7E), or {@code off + len} if there is none: then the text needs no
     *         sanitising at all. Checks eight bytes at a time.
     */
    static int firstNonPrintableAscii(byte[] buf, int off, int len) {
        int end = off + len;
        int i = off;
        for (; i + Long.BYTES <= end; i += Long.BYTES) {
            long w = (long) LONGS.get(buf, i);
            long high = w & HIGH_BITS;                                  // >= 0x80
            long control = (w - SPACES) & ~w & HIGH_BITS;               // < 0x20
            long del = ((w ^ DELS) - ONES) & ~(w ^ DELS) & HIGH_BITS;   // == 0x7F
            if ((high | control | del) != 0) {
                break;
            }
        }
        for (; i < end; i++) {
            int b = buf[i] & 0xFF;
            if (b < 0x20 || b >= 0x7F) {
                return i;
            }
        }
        return end;
    }

    private static final VarHandle LONGS =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGH_BITS = 0x8080808080808080L;
    private static final long SPACES = 0x2020202020202020L;
    private static final long DELS = 0x7F7F7F7F7F7F7F7FL;

    /** @return whether {@code buf[off, off+len)} holds only ASCII spaces and tabs (or nothing) */
    static boolean isAsciiBlank(byte[] buf, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (buf[i] != ' ' && buf[i] != '\t') {
                return false;
            }
        }
        return true;
    }

    /** @return whether {@code buf[off, off+len)} is all ASCII */
    static boolean isAscii(byte[] buf, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (buf[i] < 0) {
                return false;
            }
        }
        return true;
    }
}
