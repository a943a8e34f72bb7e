package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import org.chatloop.core.Frame;
import org.junit.jupiter.api.Test;

class SendQueueTest {
    private static final InetSocketAddress A = new InetSocketAddress("127.0.0.1", 1);
    private static final InetSocketAddress B = new InetSocketAddress("127.0.0.1", 2);
    private static final int O = SendQueue.ENTRY_OVERHEAD;

    @Test
    void shouldKeepEntriesFirstInFirstOutAcrossGrowthAndWrapAround() {
        SendQueue q = new SendQueue(1000, 1 << 20);
        Frame[] frames = new Frame[300];
        for (int i = 0; i < frames.length; i++) {
            frames[i] = Frame.line("f" + i);
        }
        for (int i = 0; i < 50; i++) {
            assertTrue(q.offer(frames[i], A));
        }
        for (int i = 0; i < 30; i++) {
            assertSame(frames[i], q.peekFrame());
            q.remove();
        }
        for (int i = 50; i < 300; i++) {
            assertTrue(q.offer(frames[i], i % 2 == 0 ? A : B));
        }
        for (int i = 30; i < 300; i++) {
            assertSame(frames[i], q.peekFrame());
            assertEquals(i >= 50 && i % 2 == 1 ? B : A, q.peekTarget());
            q.remove();
        }
        assertTrue(q.isEmpty());
        assertEquals(0, q.bytes());
    }

    @Test
    void shouldRefuseEntriesPastTheEntryBoundAndNeverGrowPastIt() {
        SendQueue q = new SendQueue(100, 1 << 20);
        Frame f = Frame.line("x");
        for (int i = 0; i < 100; i++) {
            assertTrue(q.offer(f, A));
        }
        assertFalse(q.offer(f, A));
        assertFalse(q.offer(Frame.line("y"), B));
        assertEquals(100, q.size());
        assertEquals(100, q.capacity());
        q.remove();
        assertTrue(q.offer(f, A));
    }

    @Test
    void shouldCountABroadcastFramesBytesOnceButEveryEntrysOverhead() {
        SendQueue q = new SendQueue(1000, 1 << 20);
        Frame shared = Frame.line("0123456789"); // 11 bytes
        for (int i = 0; i < 10; i++) {
            q.offer(shared, A);
        }
        assertEquals(11 + 10 * O, q.bytes());
        Frame other = Frame.line("abc"); // 4 bytes
        q.offer(other, B);
        assertEquals(11 + 4 + 11 * O, q.bytes());
        // Removing the entry that paid for the shared frame hands the cost to the next one.
        q.remove();
        assertEquals(11 + 4 + 10 * O, q.bytes());
        for (int i = 0; i < 9; i++) {
            q.remove();
        }
        assertEquals(4 + O, q.bytes());
        q.remove();
        assertEquals(0, q.bytes());
    }

    @Test
    void shouldRefuseEntriesPastTheByteBound() {
        Frame big = Frame.line("x".repeat(999)); // 1000 bytes
        SendQueue q = new SendQueue(1000, 2 * (1000 + O));
        assertTrue(q.offer(big, A));
        assertTrue(q.offer(Frame.line("y".repeat(999)), A));
        assertFalse(q.offer(Frame.line("z".repeat(999)), A), "a third distinct frame does not fit");
        q.remove();
        assertTrue(q.offer(big, B));
        assertTrue(q.bytes() <= 2 * (1000 + O));
    }

    @Test
    void shouldEmptyOnClear() {
        SendQueue q = new SendQueue(10, 1 << 20);
        q.offer(Frame.line("a"), A);
        q.offer(Frame.line("b"), B);
        q.clear();
        assertTrue(q.isEmpty());
        assertEquals(0, q.bytes());
        Frame c = Frame.line("c");
        q.offer(c, A);
        assertSame(c, q.peekFrame());
    }

    @Test
    void shouldRejectNonsenseBounds() {
        assertThrows(IllegalArgumentException.class, () -> new SendQueue(0, 100));
        assertThrows(IllegalArgumentException.class, () -> new SendQueue(10, 1));
    }
}
