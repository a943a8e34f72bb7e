package org.chatloop.tcp;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Decodes the frames a WebSocket client sends a server (RFC 6455 section 5), however the stream
 * is cut into reads: bytes in, events out, through a {@link Sink}. Pure and bounded, in the manner
 * of OkHttp's {@code WebSocketReader}: no sockets, no threads, no allocation per byte or frame.
 *
 * <p><b>Messages.</b> A text message is reassembled from its first frame and its continuation
 * frames and reported once, through {@link Sink#onText}, when its final fragment arrives; UTF-8 is
 * checked as the bytes arrive, across fragments and across {@link #feed} calls. Control frames
 * (ping, pong, close) may come between the fragments of a message and are reported at once. A
 * message whose length passes {@code maxMessageBytes} is reported once through
 * {@link Sink#onMessageTooLong()} the moment its frame header shows it, and its remaining frames
 * are skipped as they stream in, without buffering or checking their payload; the decoder is ready
 * for the next message after its final fragment, and the connection stays usable.
 *
 * <p><b>States.</b> {@code HEAD0} (first header byte: FIN, RSV, opcode), {@code HEAD1} (MASK bit,
 * 7-bit length), {@code LENGTH} (2 or 8 bytes of extended length), {@code MASK_KEY} (4 bytes),
 * {@code PAYLOAD} (unmasking into the message or control buffer, or skipping), then back to
 * {@code HEAD0}; {@code DONE} after a close frame or a protocol error, in which all further input
 * is ignored.
 *
 * <p><b>Errors.</b> Each violation is reported once through
 * {@link Sink#onProtocolError(int, String)} with the close code the server should send: 1002 for
 * an unmasked frame, RSV bits (no extension is negotiated), an unknown opcode, a control frame
 * that is fragmented or over 125 bytes, a continuation without a message or a new message inside
 * one, a 64-bit length with its high bit set, or a bad close payload; 1003 for a binary message;
 * 1007 for invalid UTF-8 in a text message or a close reason. Non-minimal length encodings are
 * accepted.
 *
 * <p><b>Memory.</b> A 125-byte control buffer, a message buffer that grows on demand up to
 * {@code maxMessageBytes} (and is dropped after a message longer than 4 KiB), and, only for direct
 * {@link ByteBuffer}s, a 1 KiB scratch array: see {@link #bufferedBytes()}.
 *
 * <p>Not thread safe: one decoder per connection, used by its loop thread.
 */
final class WebSocketDecoder {

    /** Receives what the decoder finds. Byte ranges are only valid during the call. */
    interface Sink {
        /** A complete text message, valid UTF-8, without any terminator. */
        void onText(byte[] buf, int off, int len);

        /** A ping, with its payload (at most 125 bytes), to be echoed in a pong. */
        void onPing(byte[] buf, int off, int len);

        /** A pong, with its payload. */
        void onPong(byte[] buf, int off, int len);

        /**
         * The peer's close frame, validated; the decoder ignores anything after it.
         *
         * @param code the status code, or {@link CloseCodes#NO_STATUS} when the frame had none
         * @param reason the reason, possibly empty
         */
        void onClose(int code, String reason);

        /** A text message passed the limit; it is being discarded up to its final fragment. */
        void onMessageTooLong();

        /**
         * The peer broke the protocol; reported once, after which all input is ignored.
         *
         * @param code the close code to send (1002, 1003 or 1007)
         * @param reason a short reason, fit for a close frame
         */
        void onProtocolError(int code, String reason);
    }

    static final int OP_CONTINUATION = 0x0;
    static final int OP_TEXT = 0x1;
    static final int OP_BINARY = 0x2;
    static final int OP_CLOSE = 0x8;
    static final int OP_PING = 0x9;
    static final int OP_PONG = 0xA;

    /** Largest control frame payload. */
    static final int MAX_CONTROL_PAYLOAD = 125;
    private static final int SCRATCH_BYTES = 1024;
    private static final int KEEP_MESSAGE_BUFFER = 4096;
    private static final int MIN_MESSAGE_BUFFER = 256;

    private static final VarHandle LONGS =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private static final byte HEAD0 = 0;
    private static final byte HEAD1 = 1;
    private static final byte LENGTH = 2;
    private static final byte MASK_KEY = 3;
    private static final byte PAYLOAD = 4;
    private static final byte DONE = 5;

    private final int maxMessageBytes;
    private final byte[] control = new byte[MAX_CONTROL_PAYLOAD];
    private final byte[] maskKey = new byte[4];
    private final Utf8Validator utf8 = new Utf8Validator();
    private byte[] message;
    private int messageLen;
    private byte[] scratch;

    private byte state = HEAD0;
    private boolean fin;
    private int opcode;
    private int lengthBytesLeft;
    private int maskBytes;
    private long payloadLength;
    private long payloadRead;
    private int controlLen;
    private boolean inMessage;
    private boolean discarding;
    /** Text messages ended during the current {@code feed}, for its budget. */
    private int messagesEnded;

    /** @param maxMessageBytes the longest text message accepted, in bytes of UTF-8 */
    WebSocketDecoder(int maxMessageBytes) {
        if (maxMessageBytes < 1) {
            throw new IllegalArgumentException("maxMessageBytes must be positive: " + maxMessageBytes);
        }
        this.maxMessageBytes = maxMessageBytes;
    }

    /**
     * Feeds the remaining bytes of {@code src}, advancing its position to its limit.
     *
     * @param sink where events go; the decoder never throws on any input
     */
    void feed(ByteBuffer src, Sink sink) {
        if (src.hasArray()) {
            feed(src.array(), src.arrayOffset() + src.position(), src.remaining(), sink);
            src.position(src.limit());
            return;
        }
        if (scratch == null) {
            scratch = new byte[SCRATCH_BYTES];
        }
        while (src.hasRemaining()) {
            int n = Math.min(src.remaining(), scratch.length);
            src.get(scratch, 0, n);
            feed(scratch, 0, n, sink);
        }
    }

    /**
     * Feeds the next bytes of the stream and reports every event they complete.
     *
     * @param sink where events go; the decoder never throws on any input
     */
    void feed(byte[] buf, int off, int len, Sink sink) {
        feed(buf, off, len, sink, Integer.MAX_VALUE);
    }

    /**
     * Feeds the next bytes of the stream, but stops after {@code maxMessages} text messages have
     * ended (one discarded as too long included): the bytes after the last one are not consumed,
     * and the caller must feed them again, first, later. Control frames do not count. With a
     * budget of 0 nothing is consumed.
     *
     * @param sink where events go; the decoder never throws on any input
     * @return the bytes consumed: {@code len} unless the budget was reached
     */
    int feed(byte[] buf, int off, int len, Sink sink, int maxMessages) {
        Objects.checkFromIndexSize(off, len, buf.length);
        Objects.requireNonNull(sink, "sink");
        int pos = off;
        int end = off + len;
        messagesEnded = 0;
        while (pos < end && state != DONE) {
            if (messagesEnded >= maxMessages) {
                return pos - off;
            }
            switch (state) {
                case HEAD0 -> firstByte(buf[pos++] & 0xFF, sink);
                case HEAD1 -> secondByte(buf[pos++] & 0xFF, sink);
                case LENGTH -> lengthByte(buf[pos++] & 0xFF, sink);
                case MASK_KEY -> maskByte(buf[pos++], sink);
                default -> pos = payload(buf, pos, end, sink);
            }
        }
        return len;
    }

    /** @return true once a close frame or a protocol error ended the stream */
    boolean isDone() {
        return state == DONE;
    }

    /** @return the bytes of buffers this decoder holds now (control, message, scratch) */
    int bufferedBytes() {
        return control.length + maskKey.length
                + (message == null ? 0 : message.length)
                + (scratch == null ? 0 : scratch.length);
    }

    private void firstByte(int b, Sink sink) {
        fin = (b & 0x80) != 0;
        opcode = b & 0x0F;
        if ((b & 0x70) != 0) {
            fail(CloseCodes.PROTOCOL_ERROR, "reserved bits set", sink);
            return;
        }
        switch (opcode) {
            case OP_CONTINUATION -> {
                if (!inMessage) {
                    fail(CloseCodes.PROTOCOL_ERROR, "continuation without a message", sink);
                    return;
                }
            }
            case OP_TEXT -> {
                if (inMessage) {
                    fail(CloseCodes.PROTOCOL_ERROR, "new message inside a fragmented one", sink);
                    return;
                }
                inMessage = true;
                discarding = false;
                messageLen = 0;
                utf8.reset();
            }
            case OP_BINARY -> {
                if (inMessage) {
                    fail(CloseCodes.PROTOCOL_ERROR, "new message inside a fragmented one", sink);
                } else {
                    fail(CloseCodes.UNSUPPORTED_DATA, "binary messages are not supported", sink);
                }
                return;
            }
            case OP_CLOSE, OP_PING, OP_PONG -> {
                if (!fin) {
                    fail(CloseCodes.PROTOCOL_ERROR, "fragmented control frame", sink);
                    return;
                }
            }
            default -> {
                fail(CloseCodes.PROTOCOL_ERROR, "unknown opcode " + opcode, sink);
                return;
            }
        }
        state = HEAD1;
    }

    private void secondByte(int b, Sink sink) {
        if ((b & 0x80) == 0) {
            fail(CloseCodes.PROTOCOL_ERROR, "client frame not masked", sink);
            return;
        }
        int len7 = b & 0x7F;
        if (isControl() && len7 > MAX_CONTROL_PAYLOAD) {
            fail(CloseCodes.PROTOCOL_ERROR, "control frame over 125 bytes", sink);
            return;
        }
        payloadLength = 0;
        if (len7 == 126) {
            lengthBytesLeft = 2;
            state = LENGTH;
        } else if (len7 == 127) {
            lengthBytesLeft = 8;
            state = LENGTH;
        } else {
            payloadLength = len7;
            maskBytes = 0;
            state = MASK_KEY;
        }
    }

    private void lengthByte(int b, Sink sink) {
        if (lengthBytesLeft == 8 && (b & 0x80) != 0) {
            fail(CloseCodes.PROTOCOL_ERROR, "frame length has its high bit set", sink);
            return;
        }
        payloadLength = (payloadLength << 8) | b;
        if (--lengthBytesLeft == 0) {
            maskBytes = 0;
            state = MASK_KEY;
        }
    }

    private void maskByte(byte b, Sink sink) {
        maskKey[maskBytes++] = b;
        if (maskBytes < 4) {
            return;
        }
        payloadRead = 0;
        controlLen = 0;
        state = PAYLOAD;
        if (!isControl() && !discarding && payloadLength > maxMessageBytes - messageLen) {
            discarding = true;
            releaseMessage();
            sink.onMessageTooLong();
        }
        if (payloadLength == 0) {
            endOfFrame(sink);
        }
    }

    private int payload(byte[] buf, int pos, int end, Sink sink) {
        int n = (int) Math.min(payloadLength - payloadRead, end - pos);
        if (isControl()) {
            unmask(buf, pos, control, controlLen, n);
            controlLen += n;
        } else if (!discarding) {
            ensureMessageCapacity(messageLen + n);
            unmask(buf, pos, message, messageLen, n);
            if (!utf8.update(message, messageLen, n)) {
                fail(CloseCodes.INVALID_PAYLOAD, "invalid UTF-8 in text message", sink);
                return end;
            }
            messageLen += n;
        }
        payloadRead += n;
        if (payloadRead == payloadLength) {
            endOfFrame(sink);
        }
        return pos + n;
    }

    /**
     * Unmasks eight bytes at a time (the key repeated into a long, rotated to where the payload
     * is), then the rest one by one: the byte loop alone was 59% of a WebSocket server loop's
     * samples in fan-out (JFR).
     */
    private void unmask(byte[] src, int srcOff, byte[] dst, int dstOff, int n) {
        int k = (int) (payloadRead & 3);
        int i = 0;
        if (n >= 16) {
            long m = 0;
            for (int j = 0; j < 8; j++) {
                m |= (maskKey[(k + j) & 3] & 0xFFL) << (8 * j);
            }
            for (; i + 8 <= n; i += 8) {
                LONGS.set(dst, dstOff + i, (long) LONGS.get(src, srcOff + i) ^ m);
            }
            // Eight bytes are two whole turns of the key: k is where it was.
        }
        for (; i < n; i++) {
            dst[dstOff + i] = (byte) (src[srcOff + i] ^ maskKey[k]);
            k = (k + 1) & 3;
        }
    }

    private void endOfFrame(Sink sink) {
        state = HEAD0;
        switch (opcode) {
            case OP_PING -> sink.onPing(control, 0, controlLen);
            case OP_PONG -> sink.onPong(control, 0, controlLen);
            case OP_CLOSE -> close(sink);
            default -> {
                if (!fin) {
                    return;
                }
                inMessage = false;
                messagesEnded++;
                if (discarding) {
                    discarding = false;
                    return;
                }
                if (!utf8.atBoundary()) {
                    fail(CloseCodes.INVALID_PAYLOAD, "text message ends inside a UTF-8 character", sink);
                    return;
                }
                int len = messageLen;
                messageLen = 0;
                sink.onText(message == null ? control : message, 0, len);
                if (message != null && message.length > KEEP_MESSAGE_BUFFER) {
                    message = null; // an idle connection keeps no large buffer
                }
            }
        }
    }

    private void close(Sink sink) {
        if (controlLen == 0) {
            state = DONE;
            sink.onClose(CloseCodes.NO_STATUS, "");
            return;
        }
        if (controlLen == 1) {
            fail(CloseCodes.PROTOCOL_ERROR, "close payload of one byte", sink);
            return;
        }
        int code = ((control[0] & 0xFF) << 8) | (control[1] & 0xFF);
        if (!CloseCodes.isValidOnWire(code)) {
            fail(CloseCodes.PROTOCOL_ERROR, "invalid close code " + code, sink);
            return;
        }
        if (!Utf8Validator.isValid(control, 2, controlLen - 2)) {
            fail(CloseCodes.INVALID_PAYLOAD, "invalid UTF-8 in close reason", sink);
            return;
        }
        state = DONE;
        sink.onClose(code, new String(control, 2, controlLen - 2, StandardCharsets.UTF_8));
    }

    private boolean isControl() {
        return opcode >= OP_CLOSE;
    }

    private void ensureMessageCapacity(int needed) {
        if (message != null && message.length >= needed) {
            return;
        }
        int cap = message == null ? MIN_MESSAGE_BUFFER : message.length * 2;
        cap = Math.min(maxMessageBytes, Math.max(cap, needed));
        byte[] grown = new byte[cap];
        if (message != null) {
            System.arraycopy(message, 0, grown, 0, messageLen);
        }
        message = grown;
    }

    private void releaseMessage() {
        messageLen = 0;
        if (message != null && message.length > KEEP_MESSAGE_BUFFER) {
            message = null;
        }
    }

    private void fail(int code, String reason, Sink sink) {
        state = DONE;
        message = null;
        messageLen = 0;
        sink.onProtocolError(code, reason);
    }

    @Override
    public String toString() {
        return "WebSocketDecoder[state=" + state + ", opcode=" + opcode + ", fin=" + fin
                + ", payload=" + payloadRead + "/" + payloadLength + ", inMessage=" + inMessage
                + ", discarding=" + discarding + ", buffered=" + messageLen
                + "/" + maxMessageBytes + "]";
    }
}
