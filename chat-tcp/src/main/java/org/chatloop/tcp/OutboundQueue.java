package org.chatloop.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.Arrays;
import org.chatloop.core.Frame;

/**
 * One connection's pending output: an ordered list of ranges of shared {@link SlabPool} slabs,
 * drained by one write (gathering when there are several ranges). Appending a frame that lands
 * right after the previous range in the same slab (the usual case for a room's messages) only
 * extends that range: no copy and no object per message for this connection.
 *
 * <p>One range (the usual case: an up-to-date reader gets one contiguous run of a room's
 * messages per pass) lives in three fields of its own. More ranges are three entries in ring arrays
 * (slab, start, end), about 16 bytes each, made when a second range is needed; buffer views are
 * borrowed from the slab only for the duration of a write. A connection that never had two ranges
 * pending holds no arrays at all.
 *
 * <p>Not thread safe: owned by the connection's loop thread.
 */
final class OutboundQueue {
    /**
     * What one range costs on the heap, counted as pending bytes so that the bound on a
     * connection's pending output also bounds the memory behind it: a client that is sent many
     * small frames that do not lie side by side in a slab (for example join notices interleaved
     * with welcomes during a connection storm) is charged for each.
     */
    static final int RANGE_OVERHEAD = 16;

    private static final SlabPool.Slab[] NO_SLABS = new SlabPool.Slab[0];
    private static final int[] NO_INTS = new int[0];
    private static final int SHRINK_ABOVE = 64;

    private final SlabPool pool;
    private SlabPool.Slab[] slabs = NO_SLABS;
    private int[] starts = NO_INTS;
    private int[] ends = NO_INTS;
    /** The only range while no arrays are made ({@code slabs == NO_SLABS} and count is 0 or 1). */
    private SlabPool.Slab slab0;
    private int start0;
    private int end0;
    private int head;
    private int count;
    private long pending;

    OutboundQueue(SlabPool pool) {
        this.pool = pool;
    }

    /**
     * @return the sequence of the oldest slab this queue holds a range of ({@link Long#MAX_VALUE}
     *         when empty): ranges are appended in placement order, so it is the head's
     */
    long oldestSlabSequence() {
        return count == 0 ? Long.MAX_VALUE : inline() ? slab0.sequence : slabs[head].sequence;
    }

    /** @return whether the ranges (none or one) are in the fields rather than in arrays */
    private boolean inline() {
        return slabs == NO_SLABS;
    }

    /** @return bytes appended and not yet written, plus {@link #RANGE_OVERHEAD} per range */
    long pendingBytes() {
        return pending;
    }

    boolean isEmpty() {
        return count == 0;
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
        pending += end - start;
        if (inline()) {
            if (count == 0) {
                slab0 = slab;
                start0 = start;
                end0 = end;
                count = 1;
                slab.refs++;
                pending += RANGE_OVERHEAD;
                return;
            }
            if (slab0 == slab && end0 == start) {
                end0 = end;
                return;
            }
            grow(); // a second range: move the first into arrays
        } else if (count > 0) {
            int last = (head + count - 1) & (slabs.length - 1);
            if (slabs[last] == slab && ends[last] == start) {
                ends[last] = end;
                return;
            }
        }
        if (count == slabs.length) {
            grow();
        }
        int at = (head + count) & (slabs.length - 1);
        slabs[at] = slab;
        starts[at] = start;
        ends[at] = end;
        count++;
        slab.refs++;
        pending += RANGE_OVERHEAD;
    }

    private void grow() {
        int capacity = Math.max(4, slabs.length * 2);
        SlabPool.Slab[] s = new SlabPool.Slab[capacity];
        int[] st = new int[capacity];
        int[] en = new int[capacity];
        if (inline()) {
            s[0] = slab0;
            st[0] = start0;
            en[0] = end0;
            slab0 = null;
            slabs = s;
            starts = st;
            ends = en;
            head = 0;
            return;
        }
        for (int i = 0; i < count; i++) {
            int from = (head + i) & (slabs.length - 1);
            s[i] = slabs[from];
            st[i] = starts[from];
            en[i] = ends[from];
        }
        slabs = s;
        starts = st;
        ends = en;
        head = 0;
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
        if (count == 0) {
            return 0;
        }
        if (inline()) {
            return writeInline(channel);
        }
        int mask = slabs.length - 1;
        long written;
        int used = 0;
        try {
            if (count == 1 || ends[head] - starts[head] >= maxBytes) {
                used = 1;
                written = channel.write(slabs[head].view(starts[head], ends[head]));
            } else {
                long bytes = 0;
                while (used < count && used < scratch.length && bytes < maxBytes) {
                    int i = (head + used) & mask;
                    scratch[used++] = slabs[i].view(starts[i], ends[i]);
                    bytes += ends[i] - starts[i];
                }
                written = channel.write(scratch, 0, used);
            }
        } finally {
            for (int k = 0; k < used; k++) {
                slabs[(head + k) & mask].resetViews();
            }
            Arrays.fill(scratch, 0, Math.min(used, scratch.length), null);
        }
        pending -= written;
        long left = written;
        while (left > 0) {
            int len = ends[head] - starts[head];
            if (left < len) {
                starts[head] += (int) left;
                break;
            }
            left -= len;
            dropHead();
        }
        if (count == 0 && slabs.length > SHRINK_ABOVE) {
            release();
        }
        return written;
    }

    private long writeInline(GatheringByteChannel channel) throws IOException {
        long written;
        try {
            written = channel.write(slab0.view(start0, end0));
        } finally {
            slab0.resetViews();
        }
        pending -= written;
        if (written < end0 - start0) {
            start0 += (int) written;
        } else {
            dropHead();
        }
        return written;
    }

    private void dropHead() {
        pending -= RANGE_OVERHEAD;
        if (inline()) {
            pool.unref(slab0);
            slab0 = null;
            count = 0;
            return;
        }
        pool.unref(slabs[head]);
        slabs[head] = null;
        head = (head + 1) & (slabs.length - 1);
        count--;
    }

    /** Drops everything pending. */
    void clear() {
        while (count > 0) {
            pending -= inline() ? end0 - start0 : ends[head] - starts[head];
            dropHead();
        }
        release();
    }

    /** An idle connection keeps no large arrays, however large a burst made them. */
    private void release() {
        slabs = NO_SLABS;
        starts = NO_INTS;
        ends = NO_INTS;
        head = 0;
    }

    @Override
    public String toString() {
        return "OutboundQueue[pending=" + pending + ", ranges=" + count + "]";
    }
}
