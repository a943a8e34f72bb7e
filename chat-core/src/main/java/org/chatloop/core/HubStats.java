package org.chatloop.core;

/**
 * What a hub (or, summed, a {@link HubGroup}) has done, for dashboards and alerts: a snapshot,
 * safe to take from any thread ({@link ChatHub#stats()}). Counters only grow; {@code clients}
 * and {@code congestedClients} are current values.
 *
 * @param clients clients connected now
 * @param arrivals clients that connected since the hub started
 * @param messages lines said to a room (commands not included)
 * @param deliveries room frames handed to members on this hub (every member of every local
 *                   delivery counts one; frames from other shards included)
 * @param tooSlow clients dropped because they did not read fast enough
 * @param congestedClients clients whose transport reports them congested now
 */
public record HubStats(int clients, long arrivals, long messages, long deliveries, long tooSlow,
                       int congestedClients) {

    /** @return these counts plus {@code other}'s */
    public HubStats plus(HubStats other) {
        return new HubStats(clients + other.clients, arrivals + other.arrivals,
                messages + other.messages, deliveries + other.deliveries, tooSlow + other.tooSlow,
                congestedClients + other.congestedClients);
    }
}
