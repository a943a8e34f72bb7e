package org.chatloop.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.ArrayDeque;
import java.util.Arrays;
import org.chatloop.core.Frame;

/**
 * One connection's pending output: a chain of pooled direct buffers that frames are copied into
 * and that one gathering write drains. Copying a small line costs nanoseconds, a write syscall
 * microseconds, so appending many frames and writing them together is where the speed comes from.
 *
 * <p>Each buffer is kept in "read mode" (position = next byte to write to the socket, limit = end
 * of data): an append writes past the limit with an absolute put and raises the limit, so appending
 * and draining need no flips and no per-frame objects. A single buffer goes out through the plain
 * {@code write}, several through one gathering write. An empty queue holds no buffer at all, so
 * idle connections cost no output memory.
 *
 * <p>Not thread safe: owned by the connection's loop thread.
 */
final class OutboundQueue {
    private final BufferPool pool;
    private final ArrayDeque<ByteBuffer> chunks = new ArrayDeque<>();
    private long pending;

    OutboundQueue(BufferPool pool) {
        this.pool = pool;
    }

    /** @return bytes appended and not yet written */
    long pendingBytes() {
        return pending;
    }

    boolean isEmpty() {
        return pending == 0;
    }

    /** Copies the frame to the end of the queue. */
    void append(Frame frame) {
        int len = frame.length();
        for (int done = 0; done < len; ) {
            ByteBuffer tail = writableTail();
            int at = tail.limit();
            int n = Math.min(len - done, tail.capacity() - at);
            tail.limit(at + n);
            frame.copyTo(done, tail, at, n);
            done += n;
        }
        pending += len;
    }

    /** Copies {@code src[off, off+len)} to the end of the queue. */
    void append(byte[] src, int off, int len) {
        for (int done = 0; done < len; ) {
            ByteBuffer tail = writableTail();
            int at = tail.limit();
            int n = Math.min(len - done, tail.capacity() - at);
            tail.limit(at + n);
            tail.put(at, src, off + done, n);
            done += n;
        }
        pending += len;
    }

    /** @return the last buffer, or a new one if it is full */
    private ByteBuffer writableTail() {
        ByteBuffer tail = chunks.peekLast();
        if (tail == null || tail.limit() == tail.capacity()) {
            tail = pool.acquire();
            tail.limit(0);
            chunks.addLast(tail);
        }
        return tail;
    }

    /**
     * Writes as much as the channel takes, at most about {@code maxBytes}, in one gathering write.
     * Returns drained buffers to the pool.
     *
     * @param scratch an array to gather buffers in; its length bounds buffers per write
     * @return bytes written
     */
    long writeTo(GatheringByteChannel channel, ByteBuffer[] scratch, long maxBytes)
            throws IOException {
        ByteBuffer head = chunks.peekFirst();
        if (head == null) {
            return 0;
        }
        long written;
        if (chunks.size() == 1 || head.remaining() >= maxBytes) {
            written = channel.write(head); // the common case: one buffer, the plain write path
        } else {
            int n = 0;
            long bytes = 0;
            for (ByteBuffer b : chunks) {
                if (n == scratch.length || bytes >= maxBytes) {
                    break;
                }
                scratch[n++] = b;
                bytes += b.remaining();
            }
            written = channel.write(scratch, 0, n);
            Arrays.fill(scratch, 0, n, null);
        }
        pending -= written;
        while ((head = chunks.peekFirst()) != null && !head.hasRemaining()) {
            chunks.pollFirst();
            pool.release(head);
        }
        return written;
    }

    /** Drops everything pending and returns its buffers to the pool. */
    void clear() {
        ByteBuffer b;
        while ((b = chunks.pollFirst()) != null) {
            pool.release(b);
        }
        pending = 0;
    }

    @Override
    public String toString() {
        return "OutboundQueue[pending=" + pending + ", buffers=" + chunks.size() + "]";
    }
}
