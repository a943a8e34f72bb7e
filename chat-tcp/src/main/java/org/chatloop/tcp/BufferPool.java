package org.chatloop.tcp;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Direct buffers of one size for pending output, recycled so that steady-state fan-out allocates
 * nothing. Keeps at most {@code maxIdle} free buffers; beyond that, released buffers are left to
 * the garbage collector. Direct, because the JDK copies a heap buffer into a temporary direct one on
 * every socket write.
 *
 * <p>Not thread safe: one pool per loop thread.
 */
final class BufferPool {
    private final int bufferSize;
    private final int maxIdle;
    private final ArrayDeque<ByteBuffer> idle = new ArrayDeque<>();

    BufferPool(int bufferSize, int maxIdle) {
        this.bufferSize = bufferSize;
        this.maxIdle = maxIdle;
    }

    int bufferSize() {
        return bufferSize;
    }

    /** @return a cleared buffer of {@link #bufferSize()} bytes */
    ByteBuffer acquire() {
        ByteBuffer b = idle.pollLast();
        return b != null ? b : ByteBuffer.allocateDirect(bufferSize);
    }

    void release(ByteBuffer b) {
        if (idle.size() < maxIdle) {
            b.clear();
            idle.addLast(b);
        }
    }

    int idleCount() {
        return idle.size();
    }
}
