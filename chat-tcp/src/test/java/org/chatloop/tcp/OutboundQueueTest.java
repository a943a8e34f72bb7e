package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.charset.StandardCharsets;
import org.chatloop.core.Frame;
import org.junit.jupiter.api.Test;

class OutboundQueueTest {

    /** A channel that takes at most {@code perWrite} bytes per call, recording them. */
    private static final class SlowChannel implements GatheringByteChannel {
        final ByteArrayOutputStream got = new ByteArrayOutputStream();
        int perWrite;
        int calls;

        SlowChannel(int perWrite) {
            this.perWrite = perWrite;
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) {
            calls++;
            long left = perWrite;
            long n = 0;
            for (int i = offset; i < offset + length && left > 0; i++) {
                ByteBuffer b = srcs[i];
                while (b.hasRemaining() && left > 0) {
                    got.write(b.get());
                    left--;
                    n++;
                }
            }
            return n;
        }

        @Override
        public long write(ByteBuffer[] srcs) {
            return write(srcs, 0, srcs.length);
        }

        @Override
        public int write(ByteBuffer src) {
            return (int) write(new ByteBuffer[] {src}, 0, 1);
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void shouldWriteFramesInOrderAcrossBufferBoundariesAndPartialWrites() throws Exception {
        BufferPool pool = new BufferPool(16, 8);
        OutboundQueue q = new OutboundQueue(pool);
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            String text = "line " + i + " " + "x".repeat(i % 23);
            expected.append(text).append('\n');
            q.append(Frame.line(text));
        }
        assertEquals(expected.length(), q.pendingBytes());
        SlowChannel ch = new SlowChannel(7);
        ByteBuffer[] scratch = new ByteBuffer[4];
        while (!q.isEmpty()) {
            q.writeTo(ch, scratch, Long.MAX_VALUE);
        }
        assertEquals(expected.toString(), ch.got.toString(StandardCharsets.UTF_8));
        assertEquals(0, q.pendingBytes());
        assertTrue(pool.idleCount() > 0, "drained buffers go back to the pool");
    }

    @Test
    void shouldKeepAppendingWhileEarlierOutputIsHalfWritten() throws Exception {
        OutboundQueue q = new OutboundQueue(new BufferPool(32, 8));
        SlowChannel ch = new SlowChannel(5);
        ByteBuffer[] scratch = new ByteBuffer[8];
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            byte[] b = ("msg-" + i + "\n").getBytes(StandardCharsets.UTF_8);
            expected.append(new String(b, StandardCharsets.UTF_8));
            q.append(b, 0, b.length);
            q.writeTo(ch, scratch, Long.MAX_VALUE);
        }
        ch.perWrite = Integer.MAX_VALUE;
        q.writeTo(ch, scratch, Long.MAX_VALUE);
        assertEquals(expected.toString(), ch.got.toString(StandardCharsets.UTF_8));
        assertTrue(q.isEmpty());
    }

    @Test
    void shouldGatherManyFramesIntoOneWrite() throws Exception {
        OutboundQueue q = new OutboundQueue(new BufferPool(8192, 8));
        for (int i = 0; i < 100; i++) {
            q.append(Frame.line("message number " + i));
        }
        SlowChannel ch = new SlowChannel(Integer.MAX_VALUE);
        q.writeTo(ch, new ByteBuffer[32], Long.MAX_VALUE);
        assertEquals(1, ch.calls);
        assertTrue(q.isEmpty());
    }

    @Test
    void shouldStopGatheringAtTheByteBudget() throws Exception {
        OutboundQueue q = new OutboundQueue(new BufferPool(1024, 8));
        byte[] kb = new byte[1024];
        for (int i = 0; i < 10; i++) {
            q.append(kb, 0, kb.length);
        }
        SlowChannel ch = new SlowChannel(Integer.MAX_VALUE);
        long written = q.writeTo(ch, new ByteBuffer[32], 3000);
        assertEquals(3 * 1024, written, "gathers whole buffers until the budget is reached");
        assertEquals(7 * 1024, q.pendingBytes());
    }

    @Test
    void shouldReturnEveryBufferOnClear() {
        BufferPool pool = new BufferPool(16, 100);
        OutboundQueue q = new OutboundQueue(pool);
        for (int i = 0; i < 10; i++) {
            q.append(Frame.line("0123456789abcdef"));
        }
        int held = pool.idleCount();
        q.clear();
        assertEquals(0, q.pendingBytes());
        assertTrue(pool.idleCount() > held);
    }
}
