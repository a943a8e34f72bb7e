package org.chatloop.tcp;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import tlschannel.BufferAllocator;

/**
 * A loop-confined pool of the heap buffers tls-channel borrows for records (at most about 17 KiB
 * each). tls-channel returns a connection's buffers as soon as they are empty, so an idle TLS
 * connection holds none, and a busy loop reuses a handful instead of allocating one per write.
 * At most {@link #KEEP} free buffers of each size are kept.
 *
 * <p>Not thread safe: owned by one loop thread.
 */
final class TlsBuffers implements BufferAllocator {
    static final int KEEP = 64;

    private final Map<Integer, ArrayDeque<ByteBuffer>> free = new HashMap<>();

    @Override
    public ByteBuffer allocate(int size) {
        ArrayDeque<ByteBuffer> q = free.get(size);
        ByteBuffer b = q == null ? null : q.poll();
        return b != null ? b.clear() : ByteBuffer.allocate(size);
    }

    @Override
    public void free(ByteBuffer buffer) {
        ArrayDeque<ByteBuffer> q = free.computeIfAbsent(buffer.capacity(), k -> new ArrayDeque<>());
        if (q.size() < KEEP) {
            q.push(buffer);
        }
    }

    @Override
    public String toString() {
        int n = 0;
        for (ArrayDeque<ByteBuffer> q : free.values()) {
            n += q.size();
        }
        return "TlsBuffers[free=" + n + "]";
    }
}
