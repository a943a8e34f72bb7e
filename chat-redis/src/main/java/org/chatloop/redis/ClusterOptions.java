package org.chatloop.redis;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * How a node joins a cluster over Redis.
 *
 * @param redis the Redis server, {@code redis://HOST:PORT} (optionally {@code redis://:PASSWORD@HOST:PORT/DB})
 * @param nodeName how this node is named to the others (in notices such as
 *                 {@code * NAME left (server NODE lost)}); need not be unique
 * @param ttl how long a node that stops answering keeps its members and names: within this time
 *            after a node dies, every other node has its clients leave their rooms and their
 *            names become free. At least 1 s
 * @param keyPrefix what every Redis key and channel of this cluster starts with, so that several
 *                  clusters can share a Redis
 * @param maxInboundBytes how many bytes of frames from other nodes may wait for each of this
 *                        node's loops; beyond it that loop drops them, and its members are told
 *                        how many they missed (a slow loop must not grow memory without bound)
 * @param reconnectDelay the wait between two attempts to reach Redis again
 */
public record ClusterOptions(URI redis, String nodeName, Duration ttl, String keyPrefix,
                             long maxInboundBytes, Duration reconnectDelay) {
    /** The default TTL: 10 seconds. */
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(10);

    /** Checks the values. */
    public ClusterOptions {
        Objects.requireNonNull(redis, "redis");
        if (!"redis".equals(redis.getScheme())) {
            throw new IllegalArgumentException("not a redis:// address: " + redis);
        }
        if (redis.getHost() == null || redis.getPort() == -1) {
            throw new IllegalArgumentException("redis://HOST:PORT wanted: " + redis);
        }
        Objects.requireNonNull(nodeName, "nodeName");
        if (nodeName.isBlank() || nodeName.length() > 64 || nodeName.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new IllegalArgumentException("node name must be 1-64 printable ASCII characters without spaces: " + nodeName);
        }
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("ttl must be at least 1 second: " + ttl);
        }
        Objects.requireNonNull(keyPrefix, "keyPrefix");
        if (maxInboundBytes < 64 * 1024) {
            throw new IllegalArgumentException("maxInboundBytes must be at least 64 KiB: " + maxInboundBytes);
        }
        Objects.requireNonNull(reconnectDelay, "reconnectDelay");
        if (reconnectDelay.isNegative() || reconnectDelay.isZero()) {
            throw new IllegalArgumentException("reconnectDelay must be positive: " + reconnectDelay);
        }
    }

    /**
     * The defaults for a Redis at {@code redis}: the host's name as node name, a 10 s TTL, prefix
     * {@code chatloop:}, 16 MiB inbound, reconnect attempts 1 s apart.
     *
     * @param redis {@code redis://HOST:PORT}
     * @return the options
     */
    public static ClusterOptions of(URI redis) {
        return new ClusterOptions(redis, defaultNodeName(), DEFAULT_TTL, "chatloop:",
                16L * 1024 * 1024, Duration.ofSeconds(1));
    }

    /** @return these options with another node name */
    public ClusterOptions withNodeName(String name) {
        return new ClusterOptions(redis, name, ttl, keyPrefix, maxInboundBytes, reconnectDelay);
    }

    /** @return these options with another TTL */
    public ClusterOptions withTtl(Duration newTtl) {
        return new ClusterOptions(redis, nodeName, newTtl, keyPrefix, maxInboundBytes, reconnectDelay);
    }

    /** @return these options with another key prefix */
    public ClusterOptions withKeyPrefix(String prefix) {
        return new ClusterOptions(redis, nodeName, ttl, prefix, maxInboundBytes, reconnectDelay);
    }

    /** @return these options with another inbound bound */
    public ClusterOptions withMaxInboundBytes(long bytes) {
        return new ClusterOptions(redis, nodeName, ttl, keyPrefix, bytes, reconnectDelay);
    }

    /** @return these options with another reconnect delay */
    public ClusterOptions withReconnectDelay(Duration delay) {
        return new ClusterOptions(redis, nodeName, ttl, keyPrefix, maxInboundBytes, delay);
    }

    private static String defaultNodeName() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            host = "node";
        }
        String pid = Long.toString(ProcessHandle.current().pid());
        String name = host.replaceAll("[^\\x21-\\x7e]", "") + "-" + pid;
        return name.length() > 64 ? name.substring(name.length() - 64) : name;
    }
}
