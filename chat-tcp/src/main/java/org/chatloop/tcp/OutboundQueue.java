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
 * <p>The newest range (the one appends extend; for an up-to-date reader the only one) always lives
 * in three fields of its own, so that the per-recipient step of a broadcast compares and updates
 * two fields and touches no array. Older ranges are three entries in ring arrays (slab, start,
 * end), about 16 bytes each, made when a second range is needed; buffer views are borrowed from
 * the slab only for the duration of a write. A connection that never had two ranges pending holds
 * no arrays at all.
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
    /** The newest range, or null when nothing is pending (then the ring is empty too). */
    private SlabPool.Slab tail;
    private int tailStart;
    private int tailEnd;
    /** The older ranges, oldest at {@code head}: a ring of {@code older} entries. */
    private SlabPool.Slab[] slabs = NO_SLABS;
    private int[] starts = NO_INTS;
    private int[] ends = NO_INTS;
    private int head;
    private int older;
    private long pending;

    OutboundQueue(SlabPool pool) {
        this.pool = pool;
    }

    /**
     * @return the sequence of the oldest slab this queue holds a range of ({@link Long#MAX_VALUE}
     *         when empty): ranges are appended in placement order, so it is the head's
     */
    long oldestSlabSequence() {
        return tail == null ? Long.MAX_VALUE : older > 0 ? slabs[head].sequence : tail.sequence;
    }

    /** @return bytes appended and not yet written, plus {@link #RANGE_OVERHEAD} per range */
    long pendingBytes() {
        return pending;
    }

    boolean isEmpty() {
        return tail == null;
    }

    /** Appends the frame (placed in a slab once per frame, shared by every recipient). */
    void append(Frame frame) {
        pool.place(frame);
        appendPlaced(pool.placedSlab(), pool.placedStart(), pool.placedEnd());
    }

    /** Appends the frames (placed once for every recipient of the same array). */
    void append(Frame[] frames, int count) {
        pool.place(frames, count);
        appendPlaced(pool.placedSlab(), pool.placedStart(), pool.placedEnd());
    }

    /** Appends a copy of {@code src[off, off+len)}. */
    void append(byte[] src, int off, int len) {
        if (len > 0) {
            pool.place(src, off, len);
            appendPlaced(pool.placedSlab(), pool.placedStart(), pool.placedEnd());
        }
    }

    private void appendPlaced(SlabPool.Slab slab, int start, int end) {
        pending += end - start;
        if (tail == slab && tailEnd == start) {
            tailEnd = end;
            return;
        }
        if (tail != null) {
            pushOlder(tail, tailStart, tailEnd);
        }
        tail = slab;
        tailStart = start;
        tailEnd = end;
        slab.refs++;
        pending += RANGE_OVERHEAD;
    }

    private void pushOlder(SlabPool.Slab slab, int start, int end) {
        if (older == slabs.length) {
            grow();
        }
        int at = (head + older) & (slabs.length - 1);
        slabs[at] = slab;
        starts[at] = start;
        ends[at] = end;
        older++;
    }

    private void grow() {
        int capacity = Math.max(4, slabs.length * 2);
        SlabPool.Slab[] s = new SlabPool.Slab[capacity];
        int[] st = new int[capacity];
        int[] en = new int[capacity];
        for (int i = 0; i < older; i++) {
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
        if (tail == null) {
            return 0;
        }
        if (older == 0) {
            return writeTail(channel);
        }
        int mask = slabs.length - 1;
        long written;
        int used = 0;
        boolean withTail = false;
        try {
            if (ends[head] - starts[head] >= maxBytes) {
                used = 1;
                written = channel.write(slabs[head].view(starts[head], ends[head]));
            } else {
                long bytes = 0;
                while (used < older && used < scratch.length && bytes < maxBytes) {
                    int i = (head + used) & mask;
                    scratch[used++] = slabs[i].view(starts[i], ends[i]);
                    bytes += ends[i] - starts[i];
                }
                if (used == older && used < scratch.length && bytes < maxBytes) {
                    scratch[used] = tail.view(tailStart, tailEnd);
                    withTail = true;
                }
                written = channel.write(scratch, 0, withTail ? used + 1 : used);
            }
        } finally {
            for (int k = 0; k < used; k++) {
                slabs[(head + k) & mask].resetViews();
            }
            if (withTail) {
                tail.resetViews();
            }
            Arrays.fill(scratch, 0, Math.min(withTail ? used + 1 : used, scratch.length), null);
        }
        pending -= written;
        long left = written;
        while (left > 0 && older > 0) {
            int len = ends[head] - starts[head];
            if (left < len) {
                starts[head] += (int) left;
                return written;
            }
            left -= len;
            dropOldest();
        }
        if (left > 0) {
            consumeTail(left);
        }
        if (older == 0 && slabs.length > SHRINK_ABOVE) {
            release();
        }
        return written;
    }

    private long writeTail(GatheringByteChannel channel) throws IOException {
        long written;
        try {
            written = channel.write(tail.view(tailStart, tailEnd));
        } finally {
            tail.resetViews();
        }
        pending -= written;
        consumeTail(written);
        return written;
    }

    /** {@code n} bytes of the tail range (the only one left) were written. */
    private void consumeTail(long n) {
        if (n < tailEnd - tailStart) {
            tailStart += (int) n;
            return;
        }
        pending -= RANGE_OVERHEAD;
        pool.unref(tail);
        tail = null;
    }

    private void dropOldest() {
        pending -= RANGE_OVERHEAD;
        pool.unref(slabs[head]);
        slabs[head] = null;
        head = (head + 1) & (slabs.length - 1);
        older--;
    }

    /** Drops everything pending. */
    void clear() {
        while (older > 0) {
            pending -= ends[head] - starts[head];
            dropOldest();
        }
        if (tail != null) {
            pending -= tailEnd - tailStart;
            consumeTail(tailEnd - tailStart);
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
        return "OutboundQueue[pending=" + pending + ", ranges="
                + (tail == null ? 0 : older + 1) + "]";
    }
}
