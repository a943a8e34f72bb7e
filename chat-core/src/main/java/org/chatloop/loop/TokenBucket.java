package org.chatloop.loop;

/**
 * A token bucket: {@code ratePerSecond} tokens a second, at most {@code burst} saved up; a client
 * spends one token per line (or datagram). It is one {@code long} of state: the loop-clock time at
 * which the bucket was (or will be) empty, so refilling costs nothing until the bucket is asked.
 * Time is an argument (loop-clock nanoseconds, {@link EventLoop#nanoTime()}), so tests move it by
 * hand; it must not go backwards.
 *
 * <p>The bucket starts full. Not thread safe: one bucket per client, used by its loop thread.
 */
public final class TokenBucket {
    private final long nanosPerToken;
    private final long burst;
    private final long fullNanos;
    /** When the bucket held (or will hold, once tokens taken in advance are paid) no tokens. */
    private long emptyAt;

    /**
     * @param ratePerSecond tokens added per second, at least 1 (at most one per nanosecond)
     * @param burst tokens the bucket holds at most, at least 1
     * @param nowNanos the loop clock now
     * @throws IllegalArgumentException if the rate or the burst is out of range
     */
    public TokenBucket(long ratePerSecond, long burst, long nowNanos) {
        if (ratePerSecond < 1 || ratePerSecond > 1_000_000_000L) {
            throw new IllegalArgumentException("ratePerSecond must be in 1..1e9: " + ratePerSecond);
        }
        if (burst < 1 || burst > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("burst must be in 1.." + Integer.MAX_VALUE + ": "
                    + burst);
        }
        this.nanosPerToken = 1_000_000_000L / ratePerSecond;
        this.burst = burst;
        this.fullNanos = nanosPerToken * burst;
        this.emptyAt = nowNanos - fullNanos;
    }

    /**
     * @param nowNanos the loop clock now
     * @return the whole tokens available now, 0..burst
     */
    public long available(long nowNanos) {
        long saved = nowNanos - emptyAt;
        if (saved <= 0) {
            return 0;
        }
        return saved >= fullNanos ? burst : saved / nanosPerToken;
    }

    /**
     * Takes one token if there is one.
     *
     * @param nowNanos the loop clock now
     * @return whether a token was taken
     */
    public boolean tryTake(long nowNanos) {
        if (available(nowNanos) < 1) {
            return false;
        }
        take(1, nowNanos);
        return true;
    }

    /**
     * Takes {@code n} tokens, whether or not they are there: taking more than {@link #available}
     * leaves the bucket in debt, repaid before it holds tokens again.
     *
     * @param n tokens to take, at least 0
     * @param nowNanos the loop clock now
     */
    public void take(long n, long nowNanos) {
        if (n < 0) {
            throw new IllegalArgumentException("n must not be negative: " + n);
        }
        if (nowNanos - emptyAt > fullNanos) {
            emptyAt = nowNanos - fullNanos; // tokens past the burst are not saved
        }
        emptyAt += n * nanosPerToken;
    }

    /**
     * @param n tokens wanted, at most the burst
     * @param nowNanos the loop clock now
     * @return nanoseconds until {@code n} tokens are available, 0 if they are now
     */
    public long nanosUntil(long n, long nowNanos) {
        return Math.max(0, emptyAt + Math.min(n, burst) * nanosPerToken - nowNanos);
    }

    @Override
    public String toString() {
        return "TokenBucket[" + (1_000_000_000L / nanosPerToken) + "/s, burst " + burst + "]";
    }
}
