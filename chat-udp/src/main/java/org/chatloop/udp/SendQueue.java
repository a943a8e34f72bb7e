package org.chatloop.udp;

import java.net.SocketAddress;
import java.util.Arrays;
import org.chatloop.core.Frame;

/**
 * Datagrams waiting for room in a socket's send buffer, first in first out: each entry is a
 * {@link Frame} (shared, never copied) and the address it goes to. Bounded twice: by entries and
 * by bytes, where an entry costs {@link #ENTRY_OVERHEAD} plus its frame's length unless the entry
 * before it holds the very same frame (a broadcast queued for many recipients is counted once).
 * {@link #offer} refuses an entry past either bound; nothing here grows without limit. The arrays
 * grow by doubling up to the entry bound, so an idle queue stays small.
 *
 * <p>Not thread safe: owned by one loop thread.
 */
final class SendQueue {
    /** What an entry costs beyond its payload: two references and an int, rounded up. */
    static final int ENTRY_OVERHEAD = 16;
    private static final int INITIAL_CAPACITY = 64;

    private final int maxEntries;
    private final long maxBytes;
    private Frame[] frames;
    private SocketAddress[] targets;
    private int[] costs;
    private int head;
    private int size;
    private long bytes;

    /**
     * @param maxEntries the most entries held at once, at least 1
     * @param maxBytes the most bytes accounted at once, at least {@link #ENTRY_OVERHEAD}
     */
    SendQueue(int maxEntries, long maxBytes) {
        if (maxEntries < 1 || maxBytes < ENTRY_OVERHEAD) {
            throw new IllegalArgumentException("bad bounds: " + maxEntries + ", " + maxBytes);
        }
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
        int initial = Math.min(maxEntries, INITIAL_CAPACITY);
        frames = new Frame[initial];
        targets = new SocketAddress[initial];
        costs = new int[initial];
    }

    /** @return whether the entry was queued; false if a bound would be passed */
    boolean offer(Frame frame, SocketAddress target) {
        if (size == maxEntries) {
            return false;
        }
        boolean sameAsTail = size > 0 && frames[index(size - 1)] == frame;
        int cost = ENTRY_OVERHEAD + (sameAsTail ? 0 : frame.length());
        if (bytes + cost > maxBytes) {
            return false;
        }
        if (size == frames.length) {
            grow();
        }
        int i = index(size);
        frames[i] = frame;
        targets[i] = target;
        costs[i] = cost;
        size++;
        bytes += cost;
        return true;
    }

    /** @return the frame of the oldest entry; the queue must not be empty */
    Frame peekFrame() {
        assert size > 0;
        return frames[head];
    }

    /** @return the target of the oldest entry; the queue must not be empty */
    SocketAddress peekTarget() {
        assert size > 0;
        return targets[head];
    }

    /** Removes the oldest entry; the queue must not be empty. */
    void remove() {
        assert size > 0;
        int next = index(1);
        // The next entry may share the frame whose bytes this entry paid for: hand the payload
        // cost on, so the bytes stay accounted as long as the frame is queued.
        int cost = costs[head];
        if (size > 1 && frames[next] == frames[head]) {
            int payload = cost - ENTRY_OVERHEAD;
            costs[next] += payload;
            cost -= payload;
        }
        bytes -= cost;
        frames[head] = null;
        targets[head] = null;
        costs[head] = 0;
        head = next;
        size--;
        if (size == 0) {
            head = 0;
        }
    }

    /** Removes every entry. */
    void clear() {
        Arrays.fill(frames, null);
        Arrays.fill(targets, null);
        Arrays.fill(costs, 0);
        head = 0;
        size = 0;
        bytes = 0;
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** @return the bytes accounted for the queued entries */
    long bytes() {
        return bytes;
    }

    /** @return the length of the backing arrays, never more than the entry bound */
    int capacity() {
        return frames.length;
    }

    private int index(int offset) {
        return (head + offset) % frames.length;
    }

    private void grow() {
        int n = (int) Math.min((long) frames.length * 2, maxEntries);
        Frame[] f = new Frame[n];
        SocketAddress[] t = new SocketAddress[n];
        int[] c = new int[n];
        for (int k = 0; k < size; k++) {
            int i = index(k);
            f[k] = frames[i];
            t[k] = targets[i];
            c[k] = costs[i];
        }
        frames = f;
        targets = t;
        costs = c;
        head = 0;
    }

    @Override
    public String toString() {
        return "SendQueue[entries=" + size + "/" + maxEntries + ", bytes=" + bytes + "/" + maxBytes
                + "]";
    }
}
