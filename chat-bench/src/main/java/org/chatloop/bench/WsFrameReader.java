package org.chatloop.bench;

/**
 * Reads the frames a WebSocket server sends (RFC 6455 section 5) from a byte stream that arrives
 * in arbitrary pieces, and hands each complete text message to a {@link Sink}. Server frames are
 * unmasked; their header is 2 bytes for payloads up to 125 bytes, 4 up to 65,535 and 10 above.
 * Whole frames are handed over in place, from the caller's buffer; only a frame split across two
 * reads is copied (into a carry buffer of {@value #MAX_FRAME} bytes at most).
 *
 * <p>Ping and pong frames are skipped (the harness's clients never go idle). A masked frame, a
 * fragment (the servers compared send every message as one final frame), a binary frame, a close
 * frame, or a frame over {@value #MAX_FRAME} bytes is reported to {@link Sink#failed} and ends the
 * reading: the run fails rather than reporting a number.
 *
 * <p>Not thread safe: one thread drives it.
 */
final class WsFrameReader {
    /** Longest frame accepted, header included: far above the servers' 4096-byte lines. */
    static final int MAX_FRAME = 70 * 1024;
    private static final int OP_CONTINUATION = 0x0;
    private static final int OP_TEXT = 0x1;
    private static final int OP_CLOSE = 0x8;
    private static final int OP_PING = 0x9;
    private static final int OP_PONG = 0xA;
    /** {@link #frameLength} for a header not complete yet. */
    private static final int INCOMPLETE = -1;
    /** {@link #frameLength} for a frame the reader refuses. */
    private static final int REFUSED = -2;

    /** Where complete messages go. */
    interface Sink {
        /** A complete text message, {@code buf[off, off+len)}, valid only during the call. */
        void text(byte[] buf, int off, int len);

        /** The stream broke the rules; no more messages will come. */
        void failed(String why);
    }

    private final Sink sink;
    private byte[] carry;
    private int carryLen;
    private boolean broken;
    private String refusal;

    WsFrameReader(Sink sink) {
        this.sink = sink;
    }

    /** Reads {@code buf[off, off+len)}, the next bytes of the stream. */
    void consume(byte[] buf, int off, int len) {
        int i = off;
        int end = off + len;
        // A frame begun in an earlier read: complete it from the carry buffer first.
        while (carryLen > 0 && i < end && !broken) {
            int total = frameLength(carry, 0, carryLen);
            if (total == REFUSED) {
                fail(refusal);
                return;
            }
            if (total == INCOMPLETE) {
                carry[carryLen++] = buf[i++]; // a header byte at a time: at most 9 of them
                continue;
            }
            int take = Math.min(total - carryLen, end - i);
            System.arraycopy(buf, i, carry, carryLen, take);
            carryLen += take;
            i += take;
            if (carryLen == total) {
                carryLen = 0;
                frame(carry, 0, total);
            }
        }
        while (i < end && !broken) {
            int total = frameLength(buf, i, end - i);
            if (total == REFUSED) {
                fail(refusal);
                return;
            }
            if (total == INCOMPLETE || total > end - i) {
                if (carry == null) {
                    carry = new byte[MAX_FRAME];
                }
                carryLen = end - i;
                System.arraycopy(buf, i, carry, 0, carryLen);
                return;
            }
            frame(buf, i, total);
            i += total;
        }
    }

    /**
     * @return the whole frame's length (header and payload) if the header at {@code b[off]} is
     *         complete within {@code avail} bytes, {@link #INCOMPLETE} if not, {@link #REFUSED}
     *         (with {@link #refusal} set) for a frame this reader does not take
     */
    private int frameLength(byte[] b, int off, int avail) {
        if (avail < 2) {
            return INCOMPLETE;
        }
        int b1 = b[off + 1] & 0xFF;
        if ((b1 & 0x80) != 0) {
            refusal = "the server sent a masked frame";
            return REFUSED;
        }
        int len7 = b1 & 0x7F;
        long total;
        if (len7 <= 125) {
            total = 2 + len7;
        } else if (len7 == 126) {
            if (avail < 4) {
                return INCOMPLETE;
            }
            total = 4 + (((b[off + 2] & 0xFF) << 8) | (b[off + 3] & 0xFF));
        } else {
            if (avail < 10) {
                return INCOMPLETE;
            }
            long n = 0;
            for (int k = 0; k < 8; k++) {
                n = (n << 8) | (b[off + 2 + k] & 0xFF);
            }
            total = n < 0 ? Long.MAX_VALUE : 10 + n;
        }
        if (total > MAX_FRAME) {
            refusal = "a frame of " + total + " bytes, over " + MAX_FRAME;
            return REFUSED;
        }
        return (int) total;
    }

    /** One whole frame at {@code b[off, off+total)}. */
    private void frame(byte[] b, int off, int total) {
        int b0 = b[off] & 0xFF;
        int opcode = b0 & 0x0F;
        boolean fin = (b0 & 0x80) != 0;
        int len7 = b[off + 1] & 0x7F;
        int header = len7 <= 125 ? 2 : len7 == 126 ? 4 : 10;
        if ((b0 & 0x70) != 0) {
            fail("a frame with reserved bits set (no extension was negotiated)");
        } else if (opcode == OP_TEXT && fin) {
            sink.text(b, off + header, total - header);
        } else if (opcode == OP_PING || opcode == OP_PONG) {
            return; // keep-alive traffic, not messages
        } else if (opcode == OP_CLOSE) {
            fail("the server closed the WebSocket");
        } else if (opcode == OP_TEXT || opcode == OP_CONTINUATION) {
            fail("a fragmented message (the servers compared send one final frame per message)");
        } else {
            fail("an unexpected frame, opcode " + opcode);
        }
    }

    private void fail(String why) {
        broken = true;
        carryLen = 0;
        sink.failed(why);
    }
}
