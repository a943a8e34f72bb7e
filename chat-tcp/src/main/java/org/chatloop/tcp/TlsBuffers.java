package org.chatloop.tcp;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import tlschannel.BufferAllocator;

/**
 * A loop-confined pool of the heap buffers tls-channel borrows for records (at most about 17 KiB
 * each). tls-channel returns a connection's buffers as soon as they are empty, so an idle TLS
 * connection holds none, and a busy loop reuses a handful instead of allocating one per write.
 * Buffers come in a few sizes (tls-channel starts at 4 KiB and doubles up to its maximum); at
 * most {@link #KEEP} free buffers of each size are kept, of at most {@link #SIZES} sizes.
 *
 * <p>Not thread safe: owned by one loop thread.
 */
final class TlsBuffers implements BufferAllocator {
    static final int KEEP = 64;
    static final int SIZES = 8;

    private final int[] sizes = new int[SIZES];
    @SuppressWarnings("unchecked")
    private final ArrayDeque<ByteBuffer>[] free = new ArrayDeque[SIZES];
    private int sizeCount;

    @Override
    public ByteBuffer allocate(int size) {
        ArrayDeque<ByteBuffer> q = queue(size, false);
        ByteBuffer b = q == null ? null : q.poll();
        return b != null ? b.clear() : ByteBuffer.allocate(size);
    }

    @Override
    public void free(ByteBuffer buffer) {
        ArrayDeque<ByteBuffer> q = queue(buffer.capacity(), true);
        if (q != null && q.size() < KEEP) {
            q.push(buffer);
        }
    }

    private ArrayDeque<ByteBuffer> queue(int size, boolean create) {
        for (int i = 0; i < sizeCount; i++) {
            if (sizes[i] == size) {
                return free[i];
            }
        }
        if (!create || sizeCount == SIZES) {
            return null;
        }
        sizes[sizeCount] = size;
        free[sizeCount] = new ArrayDeque<>();
        return free[sizeCount++];
    }

    @Override
    public String toString() {
        int n = 0;
        for (int i = 0; i < sizeCount; i++) {
            n += free[i].size();
        }
        return "TlsBuffers[free=" + n + ", sizes=" + sizeCount + "]";
    }
}
