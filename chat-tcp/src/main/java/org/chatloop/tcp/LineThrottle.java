package org.chatloop.tcp;

import org.chatloop.loop.LoopTimer;
import org.chatloop.loop.TokenBucket;

/**
 * Flood control for one connection: a {@link TokenBucket} of lines (rate R a second, burst R),
 * and the bytes already read but not yet decoded because the bucket ran dry. Lines are delayed,
 * never dropped: a read is decoded only as far as there are tokens, and what follows the last line
 * decoded is held here until tokens return. While anything is held, or the bucket is empty, the
 * connection does not read (its {@code OP_READ} interest is off), so TCP flow control slows the
 * client down instead of the server buffering its lines.
 *
 * <p>Bounded: the connection reads nothing while bytes are held, so at most one event's reads
 * (64 KiB, {@code Connection.READ_BUDGET_BYTES}) are held at once; the array is allocated on first
 * need and dropped once it drains. Not thread safe: owned by the connection's loop thread.
 */
final class LineThrottle implements LineDecoder.Sink {
    /** Shortest wait before trying again: a fast rate costs a timer per batch, not per line. */
    static final long MIN_WAIT_NANOS = 10_000_000L;

    private final TokenBucket bucket;
    private final StreamDecoder decoder;
    private final LineDecoder.Sink target;
    private byte[] held;
    private int heldOff;
    private int heldLen;
    private int lines;
    /** The connection's timer for reading again once tokens return, or null (its field here). */
    LoopTimer timer;

    LineThrottle(int linesPerSecond, StreamDecoder decoder, LineDecoder.Sink target, long nowNanos) {
        this.bucket = new TokenBucket(linesPerSecond, linesPerSecond, nowNanos);
        this.decoder = decoder;
        this.target = target;
    }

    /**
     * Decodes as many lines of a read as the bucket allows and holds the rest.
     *
     * @return whether the connection may read on (nothing held, tokens left)
     */
    boolean feed(byte[] buf, int off, int len, long nowNanos) {
        int consumed = decode(buf, off, len, nowNanos);
        if (consumed < len) {
            hold(buf, off + consumed, len - consumed);
            return false;
        }
        return bucket.available(nowNanos) > 0;
    }

    /**
     * Decodes held bytes as far as tokens allow.
     *
     * @return whether the connection may read again (nothing held any more, tokens left)
     */
    boolean drain(long nowNanos) {
        if (heldLen > 0) {
            int consumed = decode(held, heldOff, heldLen, nowNanos);
            heldOff += consumed;
            heldLen -= consumed;
            if (heldLen > 0) {
                return false;
            }
            held = null;
            heldOff = 0;
        }
        return bucket.available(nowNanos) > 0;
    }

    /** @return nanoseconds to wait before {@link #drain} can make progress */
    long nanosUntilTokens(long nowNanos) {
        return Math.max(MIN_WAIT_NANOS, bucket.nanosUntil(1, nowNanos));
    }

    /** @return bytes read but not yet decoded */
    int heldBytes() {
        return heldLen;
    }

    private int decode(byte[] buf, int off, int len, long nowNanos) {
        long budget = bucket.available(nowNanos);
        lines = 0;
        int consumed = decoder.feed(buf, off, len, this, (int) budget);
        bucket.take(lines, nowNanos);
        return consumed;
    }

    private void hold(byte[] buf, int off, int len) {
        if (held == null || held.length - heldOff - heldLen < len) {
            byte[] bigger = new byte[Math.max(heldLen + len, 256)];
            if (heldLen > 0) {
                System.arraycopy(held, heldOff, bigger, 0, heldLen);
            }
            held = bigger;
            heldOff = 0;
        }
        System.arraycopy(buf, off, held, heldOff + heldLen, len);
        heldLen += len;
    }

    @Override
    public void onLine(byte[] buf, int off, int len) {
        lines++;
        target.onLine(buf, off, len);
    }

    @Override
    public void onLineTooLong() {
        target.onLineTooLong();
    }

    @Override
    public String toString() {
        return "LineThrottle[" + bucket + ", held=" + heldLen + "]";
    }
}
