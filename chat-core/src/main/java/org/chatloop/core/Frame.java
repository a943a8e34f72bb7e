package org.chatloop.core;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One encoded line of the wire protocol, UTF-8, ending in {@code '\n'}: what a transport delivers
 * to a client. Immutable: a message for a room is encoded once and the same {@code Frame}
 * instance goes to every recipient, so a transport must copy it out ({@link #copyTo}) or share a
 * read-only view ({@link #asReadOnlyBuffer()}), never change it.
 *
 * <p>Frames made by {@link #notice}, {@link #error} and {@link #line} strip control characters
 * from the text the same way the hub does for client input, so no frame carries a terminal escape
 * or a line break inside its text.
 */
public final class Frame {
    /** How a notice starts. */
    static final String NOTICE = "* ";
    /** How an error starts. */
    static final String ERROR = "! ";
    /** How a private message starts: {@code [private] <NAME> ..}, {@code [private to NAME] ..}. */
    static final String PRIVATE = "[private";
    private static final byte[] PRIVATE_BYTES = PRIVATE.getBytes(StandardCharsets.US_ASCII);

    private final byte[] bytes;

    /** Takes ownership of {@code bytes}, which must hold one sanitised line ending in '\n'. */
    Frame(byte[] bytes) {
        this.bytes = bytes;
    }

    /**
     * A notice, {@code "* TEXT\n"}.
     *
     * @param text the notice text; control characters are removed
     * @return the frame
     */
    public static Frame notice(String text) {
        return line(NOTICE + text);
    }

    /**
     * An error, {@code "! TEXT\n"}.
     *
     * @param text the error text; control characters are removed
     * @return the frame
     */
    public static Frame error(String text) {
        return line(ERROR + text);
    }

    /**
     * Any line of text, to which a {@code '\n'} is appended.
     *
     * @param text the text; control characters are removed
     * @return the frame
     */
    public static Frame line(String text) {
        byte[] raw = Objects.requireNonNull(text, "text").getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[Utf8Text.maxSanitizedLength(raw.length) + 1];
        int n = Utf8Text.sanitize(raw, 0, raw.length, out, 0);
        out[n] = '\n';
        return new Frame(n + 1 == out.length ? out : java.util.Arrays.copyOf(out, n + 1));
    }

    /**
     * A frame from the bytes of one line that came from elsewhere (another process of the same
     * chat): sanitised as client input is (invalid UTF-8 becomes U+FFFD, control characters are
     * removed), so that nothing a peer sends can put a terminal escape or a line break inside a
     * frame. A final {@code '\n'} in the bytes is dropped and one is appended.
     *
     * @param buf the bytes; read, not kept
     * @param off where the line starts
     * @param len its length, with or without its final {@code '\n'}
     * @return the frame
     */
    public static Frame fromBytes(byte[] buf, int off, int len) {
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len > 0 && buf[off + len - 1] == '\n') {
            len--;
        }
        if (Utf8Text.firstNonPrintableAscii(buf, off, len) == off + len) {
            byte[] out = java.util.Arrays.copyOfRange(buf, off, off + len + 1);
            out[len] = '\n';
            return new Frame(out);
        }
        byte[] out = new byte[Utf8Text.maxSanitizedLength(len) + 1];
        int n = Utf8Text.sanitize(buf, off, len, out, 0);
        out[n] = '\n';
        return new Frame(n + 1 == out.length ? out : java.util.Arrays.copyOf(out, n + 1));
    }

    /**
     * Whether bytes start like a line a server of this protocol sends: a notice ({@code "* "}), an
     * error ({@code "! "}), a room message ({@code "<NAME> "}) or a private message
     * ({@code "[private"}). A UDP server uses it to never answer another server's output (two
     * servers would relay each other's replies for ever).
     *
     * @param buf the bytes, read at absolute indexes from its position; position unchanged
     * @param size how many bytes there are
     * @return whether it looks like server output
     */
    public static boolean startsLikeServerLine(ByteBuffer buf, int size) {
        if (size < 1) {
            return false;
        }
        int p = buf.position();
        byte first = buf.get(p);
        if (first == '<') {
            return true;
        }
        if ((first == NOTICE.charAt(0) || first == ERROR.charAt(0)) && size >= 2
                && buf.get(p + 1) == ' ') {
            return true;
        }
        if (size < PRIVATE_BYTES.length) {
            return false;
        }
        for (int i = 0; i < PRIVATE_BYTES.length; i++) {
            if (buf.get(p + i) != PRIVATE_BYTES[i]) {
                return false;
            }
        }
        return true;
    }

    /** @return the number of bytes, the final {@code '\n'} included */
    public int length() {
        return bytes.length;
    }

    /** @return the byte at {@code index} */
    public byte byteAt(int index) {
        return bytes[index];
    }

    /**
     * Copies the whole frame into {@code dst} at its position, advancing it.
     *
     * @throws java.nio.BufferOverflowException if {@code dst} has less room than {@link #length()}
     */
    public void copyTo(ByteBuffer dst) {
        dst.put(bytes);
    }

    /**
     * Copies part of the frame into {@code dst} at its position, advancing it.
     *
     * @param from the first byte of the frame to copy
     * @param count how many bytes
     */
    public void copyTo(int from, ByteBuffer dst, int count) {
        dst.put(bytes, from, count);
    }

    /**
     * Copies part of the frame into {@code dst} at an absolute index; {@code dst}'s position and
     * limit are left alone.
     *
     * @param from the first byte of the frame to copy
     * @param dst the destination
     * @param index where in {@code dst} the first byte goes
     * @param count how many bytes
     */
    public void copyTo(int from, ByteBuffer dst, int index, int count) {
        dst.put(index, bytes, from, count);
    }

    /** @return a new read-only buffer over the frame's bytes (one small allocation per call) */
    public ByteBuffer asReadOnlyBuffer() {
        return ByteBuffer.wrap(bytes).asReadOnlyBuffer();
    }

    /** @return the line as text, without its final {@code '\n'} */
    public String text() {
        return new String(bytes, 0, bytes.length - 1, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "Frame[" + text() + "]";
    }
}
