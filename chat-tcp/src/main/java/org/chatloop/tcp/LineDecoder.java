package org.chatloop.tcp;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Frames a byte stream into lines ending in {@code \n} (a {@code \r} before it is dropped), however
 * the stream is cut into reads. Pure and bounded: a line longer than the limit is reported once,
 * through {@link Sink#onLineTooLong()}, and discarded up to its newline, so it never leaks into the
 * next line and never grows memory past the limit.
 *
 * <p>Lines that lie whole inside one {@link #feed} are handed out straight from the caller's array
 * (no copy); only a line cut by a read boundary is gathered in a buffer of its own, which is
 * allocated on first need and is at most {@code maxLineBytes + 1} long. Since lines are cut only at
 * {@code \n}, a multi-byte UTF-8 character split across reads arrives whole.
 *
 * <p><b>Unframed clients.</b> Some clients never send a newline (the original Python tutorial's
 * TCP client sends each typed line with one {@code send()} and no terminator). Until the first
 * {@code \n} arrives the stream is <em>unframed</em>: the connection calls {@link #flushUnframed}
 * when a partial line has stayed idle for a short while, and the partial becomes one line. The
 * first {@code \n} makes the stream framed for good; from then on only a newline ends a line,
 * however long the sender pauses.
 *
 * <p>Not thread safe: one decoder per connection, used by its loop thread.
 */
final class LineDecoder implements StreamDecoder {

    /** Receives what the decoder finds. */
    interface Sink {
        /** A complete line, without its terminator; the bytes are only valid during the call. */
        void onLine(byte[] buf, int off, int len);

        /** A line passed the limit; it is being discarded up to its newline. */
        void onLineTooLong();
    }

    private final int maxLineBytes;
    private byte[] partial;
    private int partialLen;
    private boolean discarding;
    private boolean framed;

    /** @param maxLineBytes the longest line, in bytes before the terminator */
    LineDecoder(int maxLineBytes) {
        if (maxLineBytes < 1) {
            throw new IllegalArgumentException("maxLineBytes must be positive: " + maxLineBytes);
        }
        this.maxLineBytes = maxLineBytes;
    }

    /**
     * Feeds the next bytes of the stream; reports every line they complete.
     *
     * @param sink where lines go; it may stop the decoding early by returning from {@code feed}'s
     *             caller only (the decoder itself never throws on any input)
     */
    void feed(byte[] buf, int off, int len, Sink sink) {
        feed(buf, off, len, sink, Integer.MAX_VALUE);
    }

    /**
     * Feeds the next bytes of the stream, but stops after {@code maxLines} newlines (each line,
     * too long or not, counts as one): the bytes after the last newline decoded are not consumed,
     * and the caller must feed them again, first, later. With a budget of 0 nothing is consumed.
     * Bytes after the last newline of the input are kept as an unfinished line (consumed) only if
     * the budget was not exhausted.
     *
     * @return the bytes consumed, {@code len} if the budget was not reached
     */
    @Override
    public int feed(byte[] buf, int off, int len, Sink sink, int maxLines) {
        int end = off + len;
        int start = off;
        int lines = 0;
        while (start < end) {
            if (lines == maxLines) {
                return start - off;
            }
            int nl = indexOf(buf, start, end);
            if (nl < 0) {
                keep(buf, start, end - start, sink);
                return len;
            }
            framed = true;
            lines++;
            if (discarding) {
                discarding = false;
            } else if (partialLen > 0) {
                if (append(buf, start, nl - start, sink)) {
                    emit(partial, 0, partialLen, sink);
                }
                // The newline ends the line, whether it fit or not.
                partialLen = 0;
                discarding = false;
                if (partial.length > 1024) {
                    partial = null; // idle connections keep no large buffer
                }
            } else {
                emit(buf, start, nl - start, sink);
            }
            start = nl + 1;
        }
        return len;
    }

    /**
     * The stream ended: an unterminated last line is reported as a line (clients that write
     * {@code /quit} without a newline and then close still quit).
     */
    @Override
    public void finish(Sink sink) {
        if (!discarding && partialLen > 0) {
            emit(partial, 0, partialLen, sink);
        }
        partialLen = 0;
        discarding = false;
    }

    /** @return whether a {@code \n} has been seen: then only newlines end lines */
    boolean isFramed() {
        return framed;
    }

    /** @return whether the stream is unframed and bytes of an unfinished line wait */
    @Override
    public boolean holdsUnframedLine() {
        return !framed && (partialLen > 0 || discarding);
    }

    /**
     * The sender of an unframed stream paused: what it sent since the last line is one line (a
     * line that passed the limit was reported already and ends here). Does nothing once the
     * stream is framed.
     */
    @Override
    public void flushUnframed(Sink sink) {
        if (framed) {
            return;
        }
        if (!discarding && partialLen > 0) {
            int n = partialLen;
            partialLen = 0;
            emit(partial, 0, n, sink);
        }
        partialLen = 0;
        discarding = false;
    }

    /** @return bytes held for an unfinished line */
    int buffered() {
        return partialLen;
    }

    private void keep(byte[] buf, int off, int len, Sink sink) {
        if (!discarding) {
            append(buf, off, len, sink);
        }
    }

    /**
     * Appends to the unfinished line, or starts discarding (and reports) if it passes the limit.
     * One byte past the limit is kept: it may be the {@code \r} of a {@code \r\n}.
     *
     * @return whether the line is still within bounds
     */
    private boolean append(byte[] buf, int off, int len, Sink sink) {
        if (partialLen + len > maxLineBytes + 1) {
            partialLen = 0;
            discarding = true;
            sink.onLineTooLong();
            return false;
        }
        if (partial == null || partial.length < partialLen + len) {
            int size = Math.min(maxLineBytes + 1, Math.max(256, 2 * (partialLen + len)));
            partial = partial == null ? new byte[size] : Arrays.copyOf(partial, size);
        }
        System.arraycopy(buf, off, partial, partialLen, len);
        partialLen += len;
        return true;
    }

    private void emit(byte[] buf, int off, int len, Sink sink) {
        int n = len;
        if (n > 0 && buf[off + n - 1] == '\r') {
            n--;
        }
        if (n > maxLineBytes) {
            sink.onLineTooLong();
            return;
        }
        sink.onLine(buf, off, n);
    }

    /**
     * Finds the next {@code '\n'}, eight bytes at a time (a byte equal to {@code '\n'} is found
     * with the classic "has zero byte" bit trick on the word XOR {@code 0x0A} in every byte).
     */
    static int indexOf(byte[] buf, int from, int end) {
        int i = from;
        for (; i + Long.BYTES <= end; i += Long.BYTES) {
            long x = (long) LONGS.get(buf, i) ^ NEWLINES;
            long found = (x - ONES) & ~x & HIGH_BITS;
            if (found != 0) {
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < end; i++) {
            if (buf[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static final VarHandle LONGS =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long NEWLINES = 0x0A0A0A0A0A0A0A0AL;
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGH_BITS = 0x8080808080808080L;

    @Override
    public String toString() {
        return "LineDecoder[max=" + maxLineBytes + ", buffered=" + partialLen
                + (discarding ? ", discarding" : "") + (framed ? "" : ", unframed") + "]";
    }
}
