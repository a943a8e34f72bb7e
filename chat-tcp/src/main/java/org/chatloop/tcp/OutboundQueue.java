package org.chatloop.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.ArrayDeque;
import java.util.Arrays;
import org.chatloop.core.Frame;

/**
 * One connection's pending output: an ordered list of ranges of shared {@link SlabPool} slabs,
 * drained by one write (gathering when there are several ranges). Appending a frame that lands
 * right after the previous range in the same slab (the usual case for a room's messages) only
 * extends that range: no copy and no object per message for this connection.
 *
 * <p>Each range is a duplicate of its slab's buffer whose position is the next byte to write and
 * whose limit is the end of the range. The last drained range is kept and reused for the next range
 * in the same slab, so steady-state fan-out allocates nothing per recipient; an empty queue holds
 * no slab.
 *
 * <p>Not thread safe: owned by the connection's loop thread.
 */
final class OutboundQueue {

    /** A range of a slab. */
    private static final class Range {
        final SlabPool.Slab slab;
        final ByteBuffer view;

        Range(SlabPool.Slab slab) {
            this.slab = slab;
            this.view = slab.buffer.duplicate();
        }
    }

    private final SlabPool pool;
    private final ArrayDeque<Range> ranges = new ArrayDeque<>();
    private Range spare;
    private long pending;

    OutboundQueue(SlabPool pool) {
        this.pool = pool;
    }

    /** @return bytes appended and not yet written */
    long pendingBytes() {
        return pending;
    }

    boolean isEmpty() {
        return pending == 0;
    }

    /** Appends the frame (placed in a slab once per frame, shared by every recipient). */
    void append(Frame frame) {
        pool.place(frame);
        appendPlaced();
    }

    /** Appends a copy of {@code src[off, off+len)}. */
    void append(byte[] src, int off, int len) {
        if (len > 0) {
            pool.place(src, off, len);
            appendPlaced();
        }
    }

    private void appendPlaced() {
        SlabPool.Slab slab = pool.placedSlab();
        int start = pool.placedStart();
        int end = pool.placedEnd();
        Range tail = ranges.peekLast();
        if (tail != null && tail.slab == slab && tail.view.limit() == start) {
            tail.view.limit(end);
        } else {
            Range r = spare != null && spare.slab == slab ? spare : new Range(slab);
            if (r == spare) {
                spare = null;
            }
            r.view.limit(end).position(start);
            slab.refs++;
            ranges.addLast(r);
        }
        pending += end - start;
    }

    /**
     * Writes as much as the channel takes, at most about {@code maxBytes}: one plain write for one
     * range, one gathering write for several.
     *
     * @param scratch an array to gather buffers in; its length bounds buffers per write
     * @return bytes written
     */
    long writeTo(GatheringByteChannel channel, ByteBuffer[] scratch, long maxBytes)
            throws IOException {
        Range head = ranges.peekFirst();
        if (head == null) {
            return 0;
        }
        long written;
        if (ranges.size() == 1 || head.view.remaining() >= maxBytes) {
            written = channel.write(head.view);
        } else {
            int n = 0;
            long bytes = 0;
            for (Range r : ranges) {
                if (n == scratch.length || bytes >= maxBytes) {
                    break;
                }
                scratch[n++] = r.view;
                bytes += r.view.remaining();
            }
            written = channel.write(scratch, 0, n);
            Arrays.fill(scratch, 0, n, null);
        }
        pending -= written;
        while ((head = ranges.peekFirst()) != null && !head.view.hasRemaining()) {
            ranges.pollFirst();
            drop(head);
        }
        return written;
    }

    private void drop(Range r) {
        pool.unref(r.slab);
        spare = r;
    }

    /** Drops everything pending. */
    void clear() {
        Range r;
        while ((r = ranges.pollFirst()) != null) {
            drop(r);
        }
        spare = null;
        pending = 0;
    }

    @Override
    public String toString() {
        return "OutboundQueue[pending=" + pending + ", ranges=" + ranges.size() + "]";
    }
}
