package org.chatloop.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void shouldStartFullAndRefillAtItsRate() {
        long t = 123_456_789L;
        TokenBucket b = new TokenBucket(100, 100, t);
        assertEquals(100, b.available(t));
        for (int i = 0; i < 100; i++) {
            assertTrue(b.tryTake(t));
        }
        assertFalse(b.tryTake(t));
        assertEquals(10 * MS, b.nanosUntil(1, t));
        assertEquals(0, b.available(t + 9 * MS));
        assertEquals(1, b.available(t + 10 * MS));
        assertEquals(50, b.available(t + 500 * MS));
        assertEquals(100, b.available(t + 60_000 * MS), "never more than the burst");
    }

    @Test
    void shouldNotSaveTokensPastTheBurst() {
        TokenBucket b = new TokenBucket(10, 5, 0);
        long later = 10_000 * MS;
        b.take(5, later);
        assertEquals(0, b.available(later));
        assertEquals(1, b.available(later + 100 * MS));
    }

    @Test
    void shouldRepayADebtBeforeHoldingTokensAgain() {
        TokenBucket b = new TokenBucket(10, 10, 0);
        b.take(15, 0);
        assertEquals(0, b.available(400 * MS));
        assertEquals(600 * MS, b.nanosUntil(1, 0));
        assertEquals(1, b.available(600 * MS));
    }

    @Test
    void shouldRejectBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1, 1, 0).take(-1, 0));
    }
}
