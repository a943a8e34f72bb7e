package org.chatloop.core;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a {@link ChatHub}. Immutable; start from {@link #defaults()} and change what you need
 * with the {@code with...} methods.
 *
 * @param announceLimit the largest room whose joins and leaves are announced one by one (100 by
 *                      default). In a room with more members than this, arrivals, departures and
 *                      renames are not announced to everyone: the room gets one summary notice,
 *                      {@code * 37 joined, 12 left lobby (1,203 here)}, at most once per
 *                      {@code summaryInterval} and none when nothing changed, so that a storm of
 *                      arrivals costs O(arrivals), not O(arrivals x members). The client that
 *                      joins or renames still hears about itself. {@link Integer#MAX_VALUE} turns
 *                      summaries off
 * @param summaryInterval how often at most a large room gets its summary (3 s by default)
 * @param maxReplyBytes the longest reply line the hub writes for {@code /who} and {@code /rooms},
 *                      in bytes before the newline (4096 by default; at least 256); a transport
 *                      sets it to its own line limit
 * @param maxListed the most names {@code /who} lists, and rooms {@code /rooms} lists, before it
 *                  says how many more there are (100 by default)
 */
public record HubOptions(int announceLimit, Duration summaryInterval, int maxReplyBytes,
                         int maxListed) {
    /** The smallest {@link #maxReplyBytes()}: room for a header and a few names. */
    public static final int MIN_REPLY_BYTES = 256;

    /** Validates every setting. */
    public HubOptions {
        Objects.requireNonNull(summaryInterval, "summaryInterval");
        if (announceLimit < 0) {
            throw new IllegalArgumentException("announceLimit must not be negative: "
                    + announceLimit);
        }
        if (summaryInterval.isNegative() || summaryInterval.isZero()) {
            throw new IllegalArgumentException("summaryInterval must be positive: "
                    + summaryInterval);
        }
        if (maxReplyBytes < MIN_REPLY_BYTES) {
            throw new IllegalArgumentException("maxReplyBytes must be at least " + MIN_REPLY_BYTES
                    + ": " + maxReplyBytes);
        }
        if (maxListed < 1) {
            throw new IllegalArgumentException("maxListed must be positive: " + maxListed);
        }
    }

    /** @return the defaults: announce limit 100, summaries every 3 s, 4096-byte replies, 100 names */
    public static HubOptions defaults() {
        return new HubOptions(100, Duration.ofSeconds(3), 4096, 100);
    }

    /** @return these options with another announce limit ({@link Integer#MAX_VALUE}: no limit) */
    public HubOptions withAnnounceLimit(int n) {
        return new HubOptions(n, summaryInterval, maxReplyBytes, maxListed);
    }

    /** @return these options with another summary interval */
    public HubOptions withSummaryInterval(Duration d) {
        return new HubOptions(announceLimit, d, maxReplyBytes, maxListed);
    }

    /**
     * @param n the longest reply line; raised to {@link #MIN_REPLY_BYTES} if smaller
     * @return these options with another reply bound
     */
    public HubOptions withMaxReplyBytes(int n) {
        return new HubOptions(announceLimit, summaryInterval, Math.max(MIN_REPLY_BYTES, n),
                maxListed);
    }

    /** @return these options with another bound on the names or rooms a reply lists */
    public HubOptions withMaxListed(int n) {
        return new HubOptions(announceLimit, summaryInterval, maxReplyBytes, n);
    }
}
