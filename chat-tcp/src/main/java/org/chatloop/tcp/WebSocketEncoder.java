package org.chatloop.tcp;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.chatloop.core.Frame;

/**
 * Encodes the frames a WebSocket server sends (RFC 6455 section 5): unmasked, always final, so a
 * room message is framed once and the same bytes go to every WebSocket recipient, as TCP shares
 * its lines. Header lengths are 2 bytes for payloads up to 125, 4 up to 65,535, 10 above.
 *
 * <p>Stateless; every method is safe to call from any thread.
 */
final class WebSocketEncoder {
    /** Longest close reason, in bytes: 125 minus the 2-byte code. */
    static final int MAX_CLOSE_REASON = WebSocketDecoder.MAX_CONTROL_PAYLOAD - 2;

    private WebSocketEncoder() {
    }

    /** @return the header length of a server frame with {@code payloadLength} bytes */
    static int headerLength(int payloadLength) {
        if (payloadLength < 0) {
            throw new IllegalArgumentException("negative payload length: " + payloadLength);
        }
        return payloadLength <= 125 ? 2 : payloadLength <= 0xFFFF ? 4 : 10;
    }

    /**
     * Writes a final, unmasked frame header at {@code dst[off]}.
     *
     * @return the header length written
     */
    static int writeHeader(int opcode, int payloadLength, byte[] dst, int off) {
        int n = headerLength(payloadLength);
        dst[off] = (byte) (0x80 | opcode);
        if (n == 2) {
            dst[off + 1] = (byte) payloadLength;
        } else if (n == 4) {
            dst[off + 1] = 126;
            dst[off + 2] = (byte) (payloadLength >>> 8);
            dst[off + 3] = (byte) payloadLength;
        } else {
            dst[off + 1] = 127;
            for (int i = 0; i < 8; i++) {
                dst[off + 2 + i] = (byte) (i < 4 ? 0 : payloadLength >>> (8 * (7 - i)));
            }
        }
        return n;
    }

    /**
     * Writes a final, unmasked frame header at {@code dst}'s absolute {@code index}; the buffer's
     * position and limit are left alone.
     *
     * @return the header length written
     */
    static int writeHeader(int opcode, int payloadLength, java.nio.ByteBuffer dst, int index) {
        int n = headerLength(payloadLength);
        dst.put(index, (byte) (0x80 | opcode));
        if (n == 2) {
            dst.put(index + 1, (byte) payloadLength);
        } else if (n == 4) {
            dst.put(index + 1, (byte) 126);
            dst.put(index + 2, (byte) (payloadLength >>> 8));
            dst.put(index + 3, (byte) payloadLength);
        } else {
            dst.put(index + 1, (byte) 127);
            for (int i = 0; i < 8; i++) {
                dst.put(index + 2 + i, (byte) (i < 4 ? 0 : payloadLength >>> (8 * (7 - i))));
            }
        }
        return n;
    }

    /** @return the length of {@link #text(Frame)} for this line */
    static int textFrameLength(Frame line) {
        int payload = line.length() - 1;
        return headerLength(payload) + payload;
    }

    /**
     * Frames a chat line as one text frame, without the line's final {@code '\n'}.
     *
     * @param line one line of the wire protocol
     * @return a new array holding the whole frame
     */
    static byte[] text(Frame line) {
        int payload = line.length() - 1;
        byte[] out = new byte[headerLength(payload) + payload];
        int h = writeHeader(WebSocketDecoder.OP_TEXT, payload, out, 0);
        line.copyTo(0, ByteBuffer.wrap(out, h, payload), payload);
        return out;
    }

    /**
     * Writes a chat line as one text frame at {@code dst}'s position, advancing it.
     *
     * @throws java.nio.BufferOverflowException if {@code dst} has less room than
     *         {@link #textFrameLength(Frame)}
     */
    static void writeText(Frame line, ByteBuffer dst) {
        int payload = line.length() - 1;
        if (dst.remaining() < headerLength(payload) + payload) {
            throw new java.nio.BufferOverflowException();
        }
        dst.put((byte) (0x80 | WebSocketDecoder.OP_TEXT));
        if (payload <= 125) {
            dst.put((byte) payload);
        } else if (payload <= 0xFFFF) {
            dst.put((byte) 126).put((byte) (payload >>> 8)).put((byte) payload);
        } else {
            dst.put((byte) 127).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
            dst.put((byte) (payload >>> 24)).put((byte) (payload >>> 16));
            dst.put((byte) (payload >>> 8)).put((byte) payload);
        }
        line.copyTo(0, dst, payload);
    }

    /** @return a text frame with {@code utf8[off, off+len)} as payload (not checked) */
    static byte[] text(byte[] utf8, int off, int len) {
        return frame(WebSocketDecoder.OP_TEXT, utf8, off, len);
    }

    /**
     * A pong that echoes a ping's payload.
     *
     * @throws IllegalArgumentException if the payload is over 125 bytes
     */
    static byte[] pong(byte[] payload, int off, int len) {
        return control(WebSocketDecoder.OP_PONG, payload, off, len);
    }

    /**
     * A ping (a server may use it to probe an idle client).
     *
     * @throws IllegalArgumentException if the payload is over 125 bytes
     */
    static byte[] ping(byte[] payload, int off, int len) {
        return control(WebSocketDecoder.OP_PING, payload, off, len);
    }

    /** @return a close frame without a status code (the peer reads 1005) */
    static byte[] close() {
        return new byte[] {(byte) (0x80 | WebSocketDecoder.OP_CLOSE), 0};
    }

    /**
     * A close frame with a status code and a reason, the reason cut to at most
     * {@value #MAX_CLOSE_REASON} bytes, at a UTF-8 character boundary.
     *
     * @param code a code a peer may receive ({@link CloseCodes#isValidOnWire})
     * @param reason the reason, possibly empty
     */
    static byte[] close(int code, String reason) {
        if (!CloseCodes.isValidOnWire(code)) {
            throw new IllegalArgumentException("not a close code for the wire: " + code);
        }
        byte[] r = reason.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(r.length, MAX_CLOSE_REASON);
        if (n < r.length) {
            while (n > 0 && (r[n] & 0xC0) == 0x80) {
                n--; // r[n] continues the character that would be cut: cut before it
            }
        }
        byte[] payload = new byte[2 + n];
        payload[0] = (byte) (code >>> 8);
        payload[1] = (byte) code;
        System.arraycopy(r, 0, payload, 2, n);
        return frame(WebSocketDecoder.OP_CLOSE, payload, 0, payload.length);
    }

    private static byte[] control(int opcode, byte[] payload, int off, int len) {
        if (len > WebSocketDecoder.MAX_CONTROL_PAYLOAD) {
            throw new IllegalArgumentException("control payload over 125 bytes: " + len);
        }
        return frame(opcode, payload, off, len);
    }

    private static byte[] frame(int opcode, byte[] payload, int off, int len) {
        byte[] out = new byte[headerLength(len) + len];
        int h = writeHeader(opcode, len, out, 0);
        System.arraycopy(payload, off, out, h, len);
        return out;
    }
}
