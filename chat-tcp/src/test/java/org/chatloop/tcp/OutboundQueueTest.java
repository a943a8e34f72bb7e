package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.chatloop.core.Frame;
import org.junit.jupiter.api.Test;

class OutboundQueueTest {

    /** A channel that takes at most {@code perWrite} bytes per call, recording them. */
    static final class SlowChannel implements GatheringByteChannel {
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
        SlabPool pool = new SlabPool(64, 8);
        OutboundQueue q = new OutboundQueue(pool);
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            String text = "line " + i + " " + "x".repeat(i % 23);
            expected.append(text).append('\n');
            q.append(Frame.line(text));
        }
        assertTrue(q.pendingBytes() >= expected.length(), "bytes and range overhead");
        SlowChannel ch = new SlowChannel(7);
        ByteBuffer[] scratch = new ByteBuffer[4];
        while (!q.isEmpty()) {
            q.writeTo(ch, scratch, Long.MAX_VALUE);
        }
        assertEquals(expected.toString(), ch.got.toString(StandardCharsets.UTF_8));
        assertEquals(0, q.pendingBytes());
        assertTrue(pool.idleCount() > 0, "drained slabs go back to the pool");
        assertTrue(pool.allocatedCount() <= 8 + 1, "slabs are reused: " + pool);
    }

    @Test
    void shouldKeepAppendingWhileEarlierOutputIsHalfWritten() throws Exception {
        OutboundQueue q = new OutboundQueue(new SlabPool(32, 8));
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
        OutboundQueue q = new OutboundQueue(new SlabPool(8192, 8));
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
        OutboundQueue q = new OutboundQueue(new SlabPool(1024, 8));
        byte[] kb = new byte[1024];
        for (int i = 0; i < 10; i++) {
            q.append(kb, 0, kb.length); // one slab each: ten ranges
        }
        SlowChannel ch = new SlowChannel(Integer.MAX_VALUE);
        long written = q.writeTo(ch, new ByteBuffer[32], 3000);
        assertEquals(3 * 1024, written, "gathers whole ranges until the budget is reached");
        assertEquals(7 * (1024 + OutboundQueue.RANGE_OVERHEAD), q.pendingBytes());
    }

    @Test
    void shouldPlaceABroadcastFrameOnceForEveryRecipient() throws Exception {
        SlabPool pool = new SlabPool(64 * 1024, 4);
        List<OutboundQueue> members = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            members.add(new OutboundQueue(pool));
        }
        StringBuilder expected = new StringBuilder();
        for (int m = 0; m < 20; m++) {
            Frame f = Frame.line("<alice> message " + m);
            expected.append(f.text()).append('\n');
            for (OutboundQueue q : members) {
                q.append(f);
            }
        }
        assertEquals(1, pool.allocatedCount(), "20 frames for 1000 members fit one slab: " + pool);
        for (OutboundQueue q : members) {
            assertEquals(expected.length() + OutboundQueue.RANGE_OVERHEAD, q.pendingBytes());
            SlowChannel ch = new SlowChannel(Integer.MAX_VALUE);
            q.writeTo(ch, new ByteBuffer[4], Long.MAX_VALUE);
            assertEquals(1, ch.calls, "consecutive frames form one range: one write");
            assertEquals(expected.toString(), ch.got.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void shouldKeepOrderWhenPrivateFramesInterleaveWithBroadcasts() throws Exception {
        SlabPool pool = new SlabPool(128, 4);
        OutboundQueue a = new OutboundQueue(pool);
        OutboundQueue b = new OutboundQueue(pool);
        StringBuilder forA = new StringBuilder();
        StringBuilder forB = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            Frame room = Frame.line("room " + i);
            a.append(room);
            b.append(room);
            forA.append("room ").append(i).append('\n');
            forB.append("room ").append(i).append('\n');
            if (i % 3 == 0) {
                Frame only = Frame.line("only a " + i);
                a.append(only);
                forA.append("only a ").append(i).append('\n');
            }
            if (i % 7 == 0) {
                SlowChannel ch = new SlowChannel(50);
                a.writeTo(ch, new ByteBuffer[4], Long.MAX_VALUE);
                forA.delete(0, ch.got.size());
                assertTrue(ch.got.size() > 0);
            }
        }
        drainAndCheck(a, forA.toString());
        drainAndCheck(b, forB.toString());
        assertTrue(pool.allocatedCount() <= 4 + 1, "slabs recycled once drained: " + pool);
    }

    private static void drainAndCheck(OutboundQueue q, String expected) throws Exception {
        SlowChannel ch = new SlowChannel(Integer.MAX_VALUE);
        while (!q.isEmpty()) {
            q.writeTo(ch, new ByteBuffer[4], Long.MAX_VALUE);
        }
        assertEquals(expected, ch.got.toString(StandardCharsets.UTF_8));
    }

    @Test
    void shouldReleaseEverySlabOnClear() {
        SlabPool pool = new SlabPool(16, 100);
        OutboundQueue q = new OutboundQueue(pool);
        for (int i = 0; i < 10; i++) {
            q.append(Frame.line("0123456789abcdef"));
        }
        q.clear();
        assertEquals(0, q.pendingBytes());
        assertEquals(0, pool.allocatedCount() - pool.idleCount(), "no slab in use: " + pool);
    }

    @Test
    void shouldReportTheOldestSlabAQueueHoldsSoThatLaggardsCanBeFound() throws Exception {
        SlabPool pool = new SlabPool(64, 4);
        OutboundQueue laggard = new OutboundQueue(pool);
        OutboundQueue reader = new OutboundQueue(pool);
        assertEquals(Long.MAX_VALUE, laggard.oldestSlabSequence());
        laggard.append(Frame.line("pinned")); // a small frame in the first slab
        long first = laggard.oldestSlabSequence();
        for (int i = 0; i < 40; i++) {
            Frame f = Frame.line("traffic " + i + " padding padding padding");
            reader.append(f);
            laggard.append(f);
            drainAndCheckPrefix(reader);
        }
        assertEquals(first, laggard.oldestSlabSequence(), "the unread frame pins its slab");
        assertTrue(pool.currentSequence() - first >= 20, "the traffic moved on: " + pool);
        assertTrue(pool.liveCount() >= 20, "the laggard keeps every slab since alive: " + pool);
        laggard.clear();
        assertEquals(1, pool.liveCount(), "only the slab being filled stays: " + pool);
    }

    private static void drainAndCheckPrefix(OutboundQueue q) throws Exception {
        SlowChannel ch = new SlowChannel(Integer.MAX_VALUE);
        while (!q.isEmpty()) {
            q.writeTo(ch, new ByteBuffer[4], Long.MAX_VALUE);
        }
        assertTrue(ch.got.toString(StandardCharsets.UTF_8).startsWith("traffic "));
    }

    @Test
    void shouldMoveFromOneRangeToTheRingAndBackInOrder() throws Exception {
        SlabPool pool = new SlabPool(64, 8);
        OutboundQueue q = new OutboundQueue(pool);
        OutboundQueue other = new OutboundQueue(pool);
        SlowChannel ch = new SlowChannel(3);
        ByteBuffer[] scratch = new ByteBuffer[4];
        StringBuilder expected = new StringBuilder();
        for (int round = 0; round < 30; round++) {
            // Interleaving another queue's frames breaks contiguity: q needs a second range.
            String a = "a" + round;
            q.append(Frame.line(a));
            other.append(Frame.line("zz"));
            String b = "b" + round;
            if (round % 3 != 0) {
                q.append(Frame.line(b));
                expected.append(a).append('\n').append(b).append('\n');
            } else {
                expected.append(a).append('\n');
            }
            q.writeTo(ch, scratch, Long.MAX_VALUE); // partly written, three bytes a call
            other.clear();
        }
        ch.perWrite = Integer.MAX_VALUE;
        while (!q.isEmpty()) {
            q.writeTo(ch, scratch, Long.MAX_VALUE);
        }
        assertEquals(expected.toString(), ch.got.toString(StandardCharsets.UTF_8));
        assertEquals(0, q.pendingBytes());
        assertEquals(Long.MAX_VALUE, q.oldestSlabSequence());
    }

    @Test
    void shouldCountOneRangeOfOverheadForContiguousFrames() throws Exception {
        OutboundQueue q = new OutboundQueue(new SlabPool(1024, 8));
        q.append(Frame.line("one"));
        q.append(Frame.line("two"));
        assertEquals(8 + OutboundQueue.RANGE_OVERHEAD, q.pendingBytes());
        SlowChannel ch = new SlowChannel(Integer.MAX_VALUE);
        assertEquals(8, q.writeTo(ch, new ByteBuffer[4], Long.MAX_VALUE));
        assertEquals(1, ch.calls);
        assertEquals(0, q.pendingBytes());
        assertEquals("one\ntwo\n", ch.got.toString(StandardCharsets.UTF_8));
    }

    @Test
    void shouldGatherNoMoreBuffersThanTheScratchHoldsAndKeepTheNewestRangeLast() throws Exception {
        OutboundQueue q = new OutboundQueue(new SlabPool(8, 8));
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            String text = "r" + i + "abcd"; // 7 bytes with its newline: one slab, one range each
            q.append(Frame.line(text));
            expected.append(text).append('\n');
        }
        assertEquals(5 * (7 + OutboundQueue.RANGE_OVERHEAD), q.pendingBytes());
        SlowChannel ch = new SlowChannel(Integer.MAX_VALUE);
        ByteBuffer[] scratch = new ByteBuffer[2];
        assertEquals(14, q.writeTo(ch, scratch, Long.MAX_VALUE), "two ranges per write");
        assertEquals(14, q.writeTo(ch, scratch, Long.MAX_VALUE));
        q.append(Frame.line("tail")); // the newest range, behind the one left
        expected.append("tail\n");
        ch.perWrite = 9; // the older range and 2 bytes of the newest
        assertEquals(9, q.writeTo(ch, scratch, Long.MAX_VALUE));
        assertEquals(3 + OutboundQueue.RANGE_OVERHEAD, q.pendingBytes());
        ch.perWrite = Integer.MAX_VALUE;
        assertEquals(3, q.writeTo(ch, scratch, Long.MAX_VALUE));
        assertTrue(q.isEmpty());
        assertEquals(0, q.pendingBytes());
        assertEquals(expected.toString(), ch.got.toString(StandardCharsets.UTF_8));
        assertTrue(java.util.Arrays.stream(scratch).allMatch(b -> b == null), "scratch cleared");
    }

    @Test
    void shouldPlaceAPassOfFramesOnceForEveryRecipientOfTheSameArray() throws Exception {
        SlabPool pool = new SlabPool(64 * 1024, 4);
        Frame[] pass = {Frame.line("<alice> one"), Frame.line("<alice> two"),
            Frame.line("<alice> three")};
        String expected = "<alice> one\n<alice> two\n<alice> three\n";
        List<OutboundQueue> members = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            OutboundQueue q = new OutboundQueue(pool);
            q.append(pass, 3);
            members.add(q);
        }
        pool.place(Frame.line("x")); // what the pool places next lies right after one copy
        assertEquals(expected.length(), pool.placedStart(), "the frames were copied once");
        for (OutboundQueue q : members) {
            assertEquals(expected.length() + OutboundQueue.RANGE_OVERHEAD, q.pendingBytes());
            SlowChannel ch = new SlowChannel(Integer.MAX_VALUE);
            q.writeTo(ch, new ByteBuffer[4], Long.MAX_VALUE);
            assertEquals(1, ch.calls, "one range");
            assertEquals(expected, ch.got.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void shouldPlaceAPassOfFramesAsWebSocketFramesLikeOneByOne() throws Exception {
        Frame[] pass = {Frame.line("short"), Frame.line("y".repeat(300)), Frame.line("")};
        OutboundQueue together = new OutboundQueue(new SlabPool(4096, 4, true));
        together.append(pass, pass.length);
        OutboundQueue oneByOne = new OutboundQueue(new SlabPool(4096, 4, true));
        for (Frame f : pass) {
            oneByOne.append(f);
        }
        SlowChannel a = new SlowChannel(Integer.MAX_VALUE);
        SlowChannel b = new SlowChannel(Integer.MAX_VALUE);
        together.writeTo(a, new ByteBuffer[4], Long.MAX_VALUE);
        oneByOne.writeTo(b, new ByteBuffer[4], Long.MAX_VALUE);
        assertTrue(a.got.size() > 300);
        assertEquals(java.util.Arrays.toString(b.got.toByteArray()),
                java.util.Arrays.toString(a.got.toByteArray()));
    }

    @Test
    void shouldPlaceTheSameArrayAgainOnceTheSlabItLayInWasRecycled() throws Exception {
        SlabPool pool = new SlabPool(32, 4);
        Frame[] pass = {Frame.line("abc"), Frame.line("def")};
        OutboundQueue q = new OutboundQueue(pool);
        q.append(pass, 2);
        drainAndCheck(q, "abc\ndef\n");
        for (int i = 0; i < 20; i++) { // fill and recycle slabs until the first is reused
            q.append(Frame.line("filler " + i + " ........"));
            drainAndCheck(q, "filler " + i + " ........\n");
        }
        q.append(pass, 2);
        drainAndCheck(q, "abc\ndef\n");
    }

    @Test
    void shouldGiveALargePassASlabOfItsOwn() throws Exception {
        SlabPool pool = new SlabPool(64, 4);
        Frame[] pass = new Frame[10];
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < pass.length; i++) {
            pass[i] = Frame.line("frame number " + i);
            expected.append("frame number ").append(i).append('\n');
        }
        OutboundQueue a = new OutboundQueue(pool);
        OutboundQueue b = new OutboundQueue(pool);
        a.append(pass, pass.length);
        b.append(pass, pass.length);
        assertEquals(1, pool.allocatedCount(), "one slab, longer than the pool's, for both: " + pool);
        drainAndCheck(a, expected.toString());
        drainAndCheck(b, expected.toString());
        assertEquals(0, pool.liveCount(), "freed once both wrote it: " + pool);
    }
}
