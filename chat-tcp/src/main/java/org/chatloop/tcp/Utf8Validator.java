package org.chatloop.tcp;

/**
 * Incremental UTF-8 validator (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF), so a text message can be checked as its fragments arrive, whatever byte a fragment or
 * a read is cut at. Three small ints of state; no allocation.
 *
 * <p>Not thread safe.
 */
final class Utf8Validator {
    /** Continuation bytes still expected for the current code point. */
    private int need;
    /** Bounds of the next continuation byte (narrowed after E0, ED, F0, F4). */
    private int lo = 0x80;
    private int hi = 0xBF;

    /** Forgets any partial code point: the next byte starts a new sequence. */
    void reset() {
        need = 0;
        lo = 0x80;
        hi = 0xBF;
    }

    /**
     * Checks the next bytes of the text.
     *
     * @return false as soon as the bytes cannot be part of valid UTF-8
     */
    boolean update(byte[] buf, int off, int len) {
        int end = off + len;
        for (int i = off; i < end; i++) {
            int b = buf[i] & 0xFF;
            if (need == 0) {
                if (b < 0x80) {
                    continue;
                }
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
                    return false;
                }
            } else {
                if (b < lo || b > hi) {
                    return false;
                }
                need--;
                lo = 0x80;
                hi = 0xBF;
            }
        }
        return true;
    }

    /** @return true when no code point is left half-finished */
    boolean atBoundary() {
        return need == 0;
    }

    /** @return whether {@code buf[off, off+len)} is complete, valid UTF-8 */
    static boolean isValid(byte[] buf, int off, int len) {
        Utf8Validator v = new Utf8Validator();
        return v.update(buf, off, len) && v.atBoundary();
    }

    @Override
    public String toString() {
        return "Utf8Validator[need=" + need + "]";
    }
}
