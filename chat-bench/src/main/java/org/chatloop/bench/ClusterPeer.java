package org.chatloop.bench;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.chatloop.core.HubOptions;
import org.chatloop.redis.ClusterOptions;
import org.chatloop.redis.ClusterStats;
import org.chatloop.redis.RedisCluster;
import org.chatloop.redis.RedisServerProcess;
import org.chatloop.tcp.TcpChatServer;
import org.chatloop.tcp.TcpServerOptions;

/**
 * The chat servers a cluster benchmark compares, each started in this JVM on 127.0.0.1 and
 * ephemeral ports: a single {@link TcpChatServer} with its in-process directory and bus (the
 * baseline), and one or two servers each joined to a cluster over one Redis as its own
 * {@link RedisCluster} node (one loop per server). The constant names are stable, for JMH
 * {@code @Param} and command lines.
 */
public enum ClusterPeer {
    /** One chatloop TCP server on one loop, its own in-process directory and bus; no Redis. */
    SINGLE_NODE(0),
    /**
     * One server joined to the cluster: every room message is also published to Redis, where no
     * other node subscribes.
     */
    ONE_NODE_REDIS(1),
    /**
     * Two servers, each its own cluster node, on the same Redis: room messages from one node reach
     * the other's members over Redis pub/sub.
     */
    TWO_NODES(2);

    /** The Redis channel of the lobby, the room every client is in. */
    public static final String LOBBY_CHANNEL = "chatloop:r:lobby";

    /**
     * The cluster's own log (System.Logger, here java.util.logging), held so that its level stays:
     * warnings only, so that a node's joining and leaving does not cut into JMH's iteration lines.
     */
    private static final java.util.logging.Logger CLUSTER_LOG =
            java.util.logging.Logger.getLogger("org.chatloop.redis");

    private final int redisNodes;

    ClusterPeer(int redisNodes) {
        this.redisNodes = redisNodes;
    }

    /** @return whether this peer needs a Redis ({@link #start} then takes one) */
    public boolean usesRedis() {
        return redisNodes > 0;
    }

    /** @return how many cluster nodes subscribe to a room that has members on every node */
    public int redisNodes() {
        return redisNodes;
    }

    /**
     * Starts the servers; returns once every one listens.
     *
     * @param redis the Redis every node joins (null for {@link #SINGLE_NODE})
     * @return the running servers
     */
    public Nodes start(RedisServerProcess redis) throws IOException {
        CLUSTER_LOG.setLevel(java.util.logging.Level.WARNING);
        Nodes nodes = new Nodes(this, redis);
        try {
            if (!usesRedis()) {
                nodes.servers.add(TcpChatServer.start(TcpServerOptions.defaults().withPort(0)));
                return nodes;
            }
            if (redis == null) {
                throw new IllegalArgumentException(this + " needs a Redis");
            }
            for (int i = 0; i < redisNodes; i++) {
                RedisCluster cluster = RedisCluster.connect(ClusterOptions.of(
                        URI.create(redis.uri())).withNodeName(String.valueOf((char) ('a' + i))));
                nodes.clusters.add(cluster);
                nodes.servers.add(TcpChatServer.start(TcpServerOptions.defaults().withPort(0),
                        HubOptions.defaults(), 1, cluster.directory(), cluster.bus()));
            }
            return nodes;
        } catch (IOException | RuntimeException e) {
            nodes.close();
            throw e;
        }
    }

    /** Running servers of one {@link ClusterPeer}, and their cluster nodes (none for a single node). */
    public static final class Nodes implements AutoCloseable {
        private final ClusterPeer peer;
        private final RedisServerProcess redis;
        private final List<RedisCluster> clusters = new ArrayList<>();
        private final List<TcpChatServer> servers = new ArrayList<>();

        private Nodes(ClusterPeer peer, RedisServerProcess redis) {
            this.peer = peer;
            this.redis = redis;
        }

        /** @return the servers' ports, node A's first (where the publisher goes) */
        public int[] ports() {
            return servers.stream().mapToInt(TcpChatServer::port).toArray();
        }

        /**
         * @return whether a thread is one of the servers' loops: {@code chat-tcp-PORT} (on one loop;
         *         {@code chat-tcp-PORT-i} on several)
         */
        public boolean isLoopThread(String threadName) {
            for (TcpChatServer s : servers) {
                String name = "chat-tcp-" + s.port();
                if (threadName.equals(name) || threadName.startsWith(name + "-")) {
                    return true;
                }
            }
            return false;
        }

        /**
         * @return whether a thread is the Redis client side of a node: Lettuce's event loops and
         *         executors ({@code lettuce-*}) or a node's own timer ({@code chatloop-cluster});
         *         false for every thread when there is no cluster node
         */
        public boolean isRedisClientThread(String threadName) {
            return !clusters.isEmpty() && (threadName.startsWith("lettuce-")
                    || threadName.equals("chatloop-cluster"));
        }

        /**
         * Waits until Redis reports as many subscribers of the lobby's channel as there are nodes:
         * a node subscribes asynchronously when its first member joins, and until then messages
         * from other nodes do not reach it. Does nothing for a single node.
         *
         * @throws IllegalStateException if the count is not reached within {@code timeoutMillis}
         */
        public void awaitSubscribed(long timeoutMillis) {
            if (clusters.isEmpty()) {
                return;
            }
            redis.awaitSubscribers(LOBBY_CHANNEL, peer.redisNodes,
                    java.time.Duration.ofMillis(timeoutMillis));
        }

        /**
         * @return room frames that the nodes found missing from another node's numbering
         *         ({@link ClusterStats#lost()}) or dropped themselves ({@link ClusterStats#dropped()}),
         *         summed over the nodes; 0 for a single node
         */
        public long lostOrDropped() {
            long n = 0;
            for (RedisCluster c : clusters) {
                ClusterStats s = c.stats();
                n += s.lost() + s.dropped();
            }
            return n;
        }

        /** @throws IllegalStateException if a node lost or dropped a room frame */
        public void checkNoLoss() {
            for (RedisCluster c : clusters) {
                ClusterStats s = c.stats();
                if (s.lost() + s.dropped() != 0) {
                    throw new IllegalStateException("cluster node " + c.nodeName() + " lost "
                            + s.lost() + " and dropped " + s.dropped() + " room frames: " + s);
                }
            }
        }

        /** Leaves the cluster (every node), then stops the servers. */
        @Override
        public void close() {
            RuntimeException failure = null;
            for (RedisCluster c : clusters) {
                try {
                    c.close();
                } catch (RuntimeException e) {
                    failure = failure == null ? e : failure;
                }
            }
            for (TcpChatServer s : servers) {
                try {
                    s.stop();
                } catch (RuntimeException e) {
                    failure = failure == null ? e : failure;
                }
            }
            if (failure != null) {
                throw failure;
            }
        }

        @Override
        public String toString() {
            return peer + java.util.Arrays.toString(ports());
        }
    }
}
