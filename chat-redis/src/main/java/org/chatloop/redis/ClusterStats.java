package org.chatloop.redis;

/**
 * What a node's link to the cluster has counted since it joined.
 *
 * @param published room frames this node published to Redis
 * @param received room frames from other nodes that reached this node
 * @param lost room frames of other nodes that this node found missing from their numbering
 *             (pub/sub dropped them: a dropped subscription, a restarted Redis)
 * @param dropped room frames this node dropped itself because its loops were too far behind
 *                ({@link ClusterOptions#maxInboundBytes()})
 * @param duplicates room frames received twice (sent again after a reconnect) and delivered once
 */
public record ClusterStats(long published, long received, long lost, long dropped,
                           long duplicates) {
}
