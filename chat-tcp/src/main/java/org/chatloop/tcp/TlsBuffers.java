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
 * <p>It also keeps the loop's one buffer that {@link TlsTransport} seals several records
 * into for one socket write ({@link #sealBuffer}): every connection of the loop uses it in turn,
 * and none keeps it past its write. What the socket does not take of such a write a connection
 * holds in a buffer of its own ({@link #allocateHeld}) until it is sent; past
 * {@link #HELD_BUDGET} bytes held by the loop's connections together, writes seal one record at
 * a time ({@link #recordsPerWrite}), so that many stuck clients hold at most a record each, as
 * with one record per write.
 *
 * <p>Not thread safe: owned by one loop thread.
 */
final class TlsBuffers implements BufferAllocator {
    static final int KEEP = 64;
    static final int SIZES = 8;
    /** Bytes of held buffers, over the loop's connections, past which writes seal one record. */
    static final long HELD_BUDGET = 8 << 20;
    /** tls-channel's largest buffer (17 KiB), and the held buffer of up to one record. */
    static final int ONE_RECORD = 17 * 1024;
    /** Free held buffers of the sealing buffer's size kept at most. */
    static final int KEEP_LARGE = 4;

    private final int[] sizes = new int[SIZES];
    @SuppressWarnings("unchecked")
    private final ArrayDeque<ByteBuffer>[] free = new ArrayDeque[SIZES];
    private int sizeCount;
    private ByteBuffer seal;
    private long heldBytes;

    @Override
    public ByteBuffer allocate(int size) {
        ArrayDeque<ByteBuffer> q = queue(size, false);
        ByteBuffer b = q == null ? null : q.poll();
        return b != null ? b.clear() : ByteBuffer.allocate(size);
    }

    /**
     * @param size the room needed
     * @return the loop's sealing buffer, cleared, of at least {@code size} bytes: for the duration
     *         of one write only. A heap buffer: the JDK's AES-GCM seals one in place faster than a
     *         direct one (on JDK 17 a direct buffer goes through a slower path, about 40% more
     *         time in the cipher), more than the socket write's copy into a direct buffer costs.
     */
    ByteBuffer sealBuffer(int size) {
        if (seal == null || seal.capacity() < size) {
            seal = ByteBuffer.allocate(size);
        }
        return seal.clear();
    }

    /**
     * @param max the records a write may seal when the loop holds little
     * @return {@code max}, or 1 while the loop's connections hold {@link #HELD_BUDGET} or more
     */
    int recordsPerWrite(int max) {
        return heldBytes < HELD_BUDGET ? max : 1;
    }

    /**
     * @param bytes sealed bytes a connection must hold
     * @param sealCapacity the sealing buffer's capacity (the largest held buffer)
     * @return a buffer of one of three sizes (4 KiB, {@link #ONE_RECORD}, {@code sealCapacity})
     *         that holds them, counted until {@link #freeHeld}
     */
    ByteBuffer allocateHeld(int bytes, int sealCapacity) {
        int size = bytes <= 4096 ? 4096 : bytes <= ONE_RECORD ? ONE_RECORD
                : Math.max(bytes, sealCapacity);
        ByteBuffer b = allocate(size);
        heldBytes += b.capacity();
        return b;
    }

    /** Returns a buffer from {@link #allocateHeld}. */
    void freeHeld(ByteBuffer buffer) {
        heldBytes -= buffer.capacity();
        free(buffer, buffer.capacity() > ONE_RECORD ? KEEP_LARGE : KEEP);
    }

    /** @return bytes in held buffers not yet returned */
    long heldBytes() {
        return heldBytes;
    }

    @Override
    public void free(ByteBuffer buffer) {
        free(buffer, KEEP);
    }

    private void free(ByteBuffer buffer, int keep) {
        ArrayDeque<ByteBuffer> q = queue(buffer.capacity(), true);
        if (q != null && q.size() < keep) {
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
        return "TlsBuffers[free=" + n + ", sizes=" + sizeCount + ", held=" + heldBytes + "]";
    }
}
