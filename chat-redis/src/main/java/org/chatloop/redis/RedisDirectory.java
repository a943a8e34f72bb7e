package org.chatloop.redis;

import io.lettuce.core.ScriptOutputType;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.chatloop.core.Directory;
import org.chatloop.core.Frame;

/**
 * The {@link Directory} over Redis. Claims, {@code /msg} look-ups, {@code /who} and
 * {@code /rooms} ask Redis (one script or command each, answered as a future); joins, leaves and
 * renames are sent without waiting. This node also keeps its own members and names in memory: the
 * answers while Redis cannot be reached, and what it restores in Redis once it can again.
 *
 * <p>Thread safe: called from every loop of the node, and from the cluster thread.
 */
final class RedisDirectory implements Directory {
    private static final Logger LOG = System.getLogger(RedisDirectory.class.getName());
    private static final Comparator<String[]> BY_NAME =
            Comparator.comparing((String[] e) -> e[0], String.CASE_INSENSITIVE_ORDER);

    private final RedisCluster node;
    private final String prefix;
    /** The names this node's clients hold. */
    private final ConcurrentHashMap<String, LocalClaim> claims = new ConcurrentHashMap<>();
    /** This node's members, by room. */
    private final ConcurrentHashMap<String, LocalRoom> rooms = new ConcurrentHashMap<>();
    private final AtomicInteger congestedMembers = new AtomicInteger();
    /** Member counts and names of every room in the cluster, as of the last cluster pass. */
    private volatile Map<String, Integer> clusterCounts = Map.of();
    private volatile Map<String, String> clusterNames = Map.of();

    /** A name held here: by whom, and since when (the older of two claims wins a conflict). */
    record LocalClaim(Holder holder, String name, long claimedAt) {
        String value() {
            return holder.shard() + "\n" + holder.clientId() + "\n" + claimedAt + "\n" + name;
        }
    }

    private static final class LocalRoom {
        final String name;
        final ConcurrentSkipListMap<String, String> members = new ConcurrentSkipListMap<>();
        final AtomicInteger congested = new AtomicInteger();

        LocalRoom(String name) {
            this.name = name;
        }
    }

    RedisDirectory(RedisCluster node) {
        this.node = node;
        this.prefix = node.prefix;
    }

    private String nickKey(String key) {
        return prefix + "nick:" + key;
    }

    private String nicksOf(int slot) {
        return prefix + "nicks:" + slot;
    }

    /**
     * A member's entry in a room's sorted set: by key first (so the set is in {@code /who}
     * order), then the name as shown, then the node (two nodes may both hold a name for a while
     * after an outage; their entries must not be one).
     */
    private String entry(String memberName) {
        return Directory.key(memberName) + "\n" + memberName + "\n" + node.slot;
    }

    @Override
    public CompletionStage<Boolean> claim(String key, String name, Holder holder) {
        LocalClaim mine = new LocalClaim(holder, name, System.currentTimeMillis());
        LocalClaim had = claims.compute(key, (k, c) -> c == null ? mine
                : c.holder().equals(holder) ? new LocalClaim(holder, name, c.claimedAt()) : c);
        if (!had.holder().equals(holder)) {
            return CompletableFuture.completedFuture(false);
        }
        if (!node.commandsUp()) {
            // Granted here alone; the claim is made in Redis once it is back (restore).
            return CompletableFuture.completedFuture(true);
        }
        return node.commands.async().<List<Object>>eval(Scripts.CLAIM, ScriptOutputType.MULTI,
                new String[] {nickKey(key), nicksOf(node.slot)}, had.value(),
                Integer.toString(holder.shard()), Long.toString(holder.clientId()),
                Long.toString(had.claimedAt()), "0", key, prefix)
                .handle((r, e) -> {
                    if (e != null) {
                        // Granted here alone, as while the link is down; restored in Redis (and
                        // a conflict resolved) by the next cluster pass.
                        LOG.log(Level.DEBUG, "claim of {0} granted locally: {1}", key, e.toString());
                        node.wantRestore();
                        return true;
                    }
                    if (((Long) r.get(0)) == 0) {
                        claims.remove(key, had);
                        return false;
                    }
                    return true;
                });
    }

    @Override
    public void release(String key, Holder holder) {
        claims.computeIfPresent(key, (k, c) -> c.holder().equals(holder) ? null : c);
        if (node.commandsUp()) {
            node.commands.async().eval(Scripts.RELEASE, ScriptOutputType.INTEGER,
                    new String[] {nickKey(key), nicksOf(holder.shard() >> 8)},
                    Integer.toString(holder.shard()), Long.toString(holder.clientId()), key)
                    .whenComplete((r, e) -> failed(e));
        }
    }

    @Override
    public CompletionStage<Optional<Claim>> find(String key) {
        LocalClaim c = claims.get(key);
        if (c != null) {
            return CompletableFuture.completedFuture(Optional.of(new Claim(c.holder(), c.name())));
        }
        if (!node.commandsUp()) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return node.commands.async().get(nickKey(key)).thenApply(RedisDirectory::parseClaim);
    }

    static Optional<Claim> parseClaim(String v) {
        if (v == null) {
            return Optional.empty();
        }
        String[] f = v.split("\n", 4);
        if (f.length < 4) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Claim(new Holder(Integer.parseInt(f[0]), Long.parseLong(f[1])),
                    f[3]));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    @Override
    public void joined(String roomKey, String roomName, String memberName) {
        // Every change to a room is made inside its map entry, so that a member joining on one
        // loop cannot land in a room another loop's last leaver is dropping.
        rooms.compute(roomKey, (k, r) -> {
            LocalRoom room = r != null ? r : new LocalRoom(roomName);
            room.members.put(Directory.key(memberName), memberName);
            return room;
        });
        member(roomKey, roomName, "", entry(memberName));
    }

    @Override
    public void left(String roomKey, String memberName) {
        String[] name = {roomKey};
        rooms.computeIfPresent(roomKey, (k, r) -> {
            name[0] = r.name;
            r.members.remove(Directory.key(memberName));
            return r.members.isEmpty() && !k.equals(RedisCluster.LOBBY_KEY) ? null : r;
        });
        member(roomKey, name[0], entry(memberName), "");
    }

    @Override
    public void renamed(String roomKey, String oldName, String newName) {
        String[] name = {roomKey};
        rooms.computeIfPresent(roomKey, (k, r) -> {
            name[0] = r.name;
            if (r.members.remove(Directory.key(oldName)) != null) {
                r.members.put(Directory.key(newName), newName);
            }
            return r;
        });
        member(roomKey, name[0], entry(oldName), entry(newName));
    }

    private void member(String roomKey, String roomName, String out, String in) {
        if (!node.commandsUp()) {
            return;
        }
        node.commands.async().eval(Scripts.MEMBER, ScriptOutputType.INTEGER,
                new String[] {prefix + "room:" + roomKey, prefix + "rooms", prefix + "roomnames",
                              prefix + "members:" + node.slot},
                roomKey, roomName, out, in, RedisCluster.LOBBY_KEY)
                .whenComplete((r, e) -> failed(e));
    }

    /** A change that did not reach Redis: the next cluster pass makes Redis true again. */
    private void failed(Throwable e) {
        if (e != null) {
            LOG.log(Level.DEBUG, "a directory change did not reach Redis: {0}", e.toString());
            node.wantRestore();
        }
    }

    @Override
    public CompletionStage<Listing> members(String roomKey, int max) {
        if (!node.commandsUp()) {
            return CompletableFuture.completedFuture(localMembers(roomKey, max));
        }
        return node.commands.async().<List<Object>>eval(Scripts.MEMBERS, ScriptOutputType.MULTI,
                new String[] {prefix + "room:" + roomKey}, Integer.toString(max))
                .thenApply(r -> {
                    int total = ((Long) r.get(0)).intValue();
                    List<String> names = new ArrayList<>(r.size() - 1);
                    for (int i = 1; i < r.size(); i++) {
                        String e = (String) r.get(i);
                        int from = e.indexOf('\n') + 1;
                        int to = e.indexOf('\n', from);
                        names.add(to < 0 ? e.substring(from) : e.substring(from, to));
                    }
                    return new Listing(Math.max(total, names.size()), names);
                });
    }

    private Listing localMembers(String roomKey, int max) {
        LocalRoom r = rooms.get(roomKey);
        if (r == null) {
            return new Listing(0, List.of());
        }
        List<String> first = new ArrayList<>();
        for (String n : r.members.values()) {
            if (first.size() == max) {
                break;
            }
            first.add(n);
        }
        return new Listing(Math.max(r.members.size(), first.size()), first);
    }

    @Override
    public CompletionStage<Listing> rooms(int max) {
        if (!node.commandsUp()) {
            List<String[]> all = new ArrayList<>();
            for (LocalRoom r : rooms.values()) {
                all.add(new String[] {r.name, Integer.toString(r.members.size())});
            }
            return CompletableFuture.completedFuture(listing(all.size(), all, max));
        }
        return node.commands.async().<List<Object>>eval(Scripts.ROOMS, ScriptOutputType.MULTI,
                new String[0], Integer.toString(max), prefix)
                .thenApply(r -> {
                    int total = ((Long) r.get(0)).intValue();
                    List<String[]> got = new ArrayList<>();
                    for (int i = 1; i + 1 < r.size(); i += 2) {
                        String count = String.valueOf(r.get(i + 1));
                        int dot = count.indexOf('.');
                        got.add(new String[] {(String) r.get(i),
                                dot < 0 ? count : count.substring(0, dot)});
                    }
                    return listing(total, got, max);
                });
    }

    /** All by name when there are at most {@code max}, else the largest first, then by name. */
    private static Listing listing(int total, List<String[]> rooms, int max) {
        if (total <= max) {
            rooms.sort(BY_NAME);
        } else {
            rooms.sort(Comparator.comparingInt((String[] e) -> Integer.parseInt(e[1])).reversed()
                    .thenComparing(BY_NAME));
            if (rooms.size() > max) {
                rooms = rooms.subList(0, max);
            }
        }
        List<String> entries = new ArrayList<>(rooms.size());
        for (String[] e : rooms) {
            entries.add(e[0] + " (" + e[1] + ")");
        }
        return new Listing(total, entries);
    }

    @Override
    public void congestion(String roomKey, int delta) {
        congestedMembers.addAndGet(delta);
        LocalRoom r = rooms.get(roomKey);
        if (r != null) {
            r.congested.updateAndGet(c -> Math.max(0, c + delta));
        }
    }

    /** Congestion is known per node: a room pauses on the node whose member is congested. */
    @Override
    public boolean isCongested(String roomKey) {
        if (congestedMembers.get() <= 0) {
            return false;
        }
        LocalRoom r = rooms.get(roomKey);
        return r != null && r.congested.get() > 0;
    }

    @Override
    public String roomName(String roomKey) {
        LocalRoom r = rooms.get(roomKey);
        return r != null ? r.name : clusterNames.get(roomKey);
    }

    /** This node's count, or the cluster's as of the last cluster pass, whichever is larger. */
    @Override
    public int memberCount(String roomKey) {
        LocalRoom r = rooms.get(roomKey);
        int local = r == null ? 0 : r.members.size();
        return Math.max(local, clusterCounts.getOrDefault(roomKey, 0));
    }

    /** Cluster thread: reads every room's count and name, for the answers that cannot wait. */
    void refreshCache() {
        List<io.lettuce.core.ScoredValue<String>> counts =
                node.commands.sync().zrangeWithScores(prefix + "rooms", 0, -1);
        Map<String, Integer> c = new HashMap<>(counts.size() * 2);
        for (io.lettuce.core.ScoredValue<String> v : counts) {
            c.put(v.getValue(), (int) v.getScore());
        }
        clusterCounts = c;
        clusterNames = Map.copyOf(node.commands.sync().hgetall(prefix + "roomnames"));
    }

    /**
     * Cluster thread, after the link came back: makes this node's members and names true in
     * Redis again. A name another node granted meanwhile is resolved by {@link Scripts#CLAIM}:
     * the loser's node is told, and renames its client.
     */
    void restore() {
        // First drop what Redis still holds for this node but this node no longer has (members
        // that left, names released, while the link was down), then add what it has. Redis is
        // read before this node's state, so that a member who joins meanwhile is not dropped.
        // Commands are pipelined (sent together, then awaited), not one round trip each.
        var async = node.commands.async();
        java.util.Set<String> inRedis = node.commands.sync().smembers(prefix + "members:"
                + node.slot);
        java.util.Set<String> nicksInRedis = node.commands.sync().smembers(nicksOf(node.slot));
        java.util.Set<String> held = new java.util.HashSet<>();
        List<String[]> members = new ArrayList<>();
        for (Map.Entry<String, LocalRoom> r : rooms.entrySet()) {
            for (Map.Entry<String, String> m : r.getValue().members.entrySet()) {
                held.add(r.getKey() + "\n" + entry(m.getValue()));
                members.add(new String[] {r.getKey(), r.getValue().name, m.getKey(), m.getValue()});
            }
        }
        List<CompletableFuture<?>> sent = new ArrayList<>();
        int stale = 0;
        for (String e : inRedis) {
            int nl = e.indexOf('\n');
            if (nl > 0 && !held.contains(e)) {
                String roomKey = e.substring(0, nl);
                sent.add(memberScript(async, roomKey, roomKey, e.substring(nl + 1), ""));
                stale++;
            }
        }
        List<String> keys = new ArrayList<>(nicksInRedis);
        List<CompletableFuture<String>> values = new ArrayList<>();
        for (String key : keys) {
            values.add(async.get(nickKey(key)).toCompletableFuture());
        }
        for (int i = 0; i < keys.size(); i++) {
            String key = keys.get(i);
            Optional<Claim> c = parseClaim(values.get(i).join());
            LocalClaim mine = claims.get(key);
            if (c.isPresent() && c.get().holder().shard() >> 8 == node.slot
                    && (mine == null || !mine.holder().equals(c.get().holder()))) {
                sent.add(async.eval(Scripts.RELEASE, ScriptOutputType.INTEGER,
                        new String[] {nickKey(key), nicksOf(node.slot)},
                        Integer.toString(c.get().holder().shard()),
                        Long.toString(c.get().holder().clientId()), key).toCompletableFuture());
                stale++;
            } else if (c.isEmpty()) {
                sent.add(async.srem(nicksOf(node.slot), key).toCompletableFuture());
            }
        }
        for (String[] m : members) {
            sent.add(memberScript(async, m[0], m[1], "", entry(m[3])));
        }
        List<Map.Entry<String, LocalClaim>> mine = new ArrayList<>(claims.entrySet());
        List<CompletableFuture<List<Object>>> claimed = new ArrayList<>();
        for (Map.Entry<String, LocalClaim> e : mine) {
            LocalClaim c = e.getValue();
            claimed.add(async.<List<Object>>eval(Scripts.CLAIM, ScriptOutputType.MULTI,
                    new String[] {nickKey(e.getKey()), nicksOf(node.slot)}, c.value(),
                    Integer.toString(c.holder().shard()), Long.toString(c.holder().clientId()),
                    Long.toString(c.claimedAt()), "1", e.getKey(), prefix).toCompletableFuture());
        }
        CompletableFuture.allOf(sent.toArray(new CompletableFuture<?>[0])).join();
        int lost = 0;
        for (int i = 0; i < mine.size(); i++) {
            String key = mine.get(i).getKey();
            LocalClaim c = mine.get(i).getValue();
            List<Object> r = claimed.get(i).join();
            long code = (Long) r.get(0);
            if (code == 0) {
                lost++;
                claims.remove(key, c);
                node.roomBus().nameLost(c.holder().shard(), c.holder().clientId(),
                        c.name(), nameLostReason(c.name()));
            } else {
                if (code == 2) {
                    parseClaim((String) r.get(1)).ifPresent(old ->
                            node.roomBus().nameLost(old.holder().shard(),
                                    old.holder().clientId(), old.name(), nameLostReason(old.name())));
                }
                LocalClaim now = claims.get(key);
                if (now == null || !now.holder().equals(c.holder())) {
                    // Released while the restore was on its way: undo it.
                    release(key, c.holder());
                }
            }
        }
        // A member who left while its restore was on its way: send its departure again.
        for (String[] m : members) {
            LocalRoom r = rooms.get(m[0]);
            if (r == null || !m[3].equals(r.members.get(m[2]))) {
                member(m[0], m[1], entry(m[3]), "");
            }
        }
        node.roomBus().resubscribe();
        LOG.log(Level.INFO, "restored {0} memberships and {1} names in Redis ({2} names lost "
                + "to other nodes, {3} stale entries removed)", members.size(), mine.size(), lost,
                stale);
    }

    private CompletableFuture<Long> memberScript(
            io.lettuce.core.api.async.RedisAsyncCommands<String, String> async, String roomKey,
            String roomName, String out, String in) {
        return async.<Long>eval(Scripts.MEMBER, ScriptOutputType.INTEGER,
                new String[] {prefix + "room:" + roomKey, prefix + "rooms", prefix + "roomnames",
                              prefix + "members:" + node.slot},
                roomKey, roomName, out, in, RedisCluster.LOBBY_KEY).toCompletableFuture();
    }

    static String nameLostReason(String name) {
        return "the name " + name + " was given to someone on another server too while the "
                + "servers could not reach each other, and their claim was first";
    }

    /** Called by the bus when another node took a name back: it is no longer held here. */
    void forget(String key, Holder holder) {
        claims.computeIfPresent(key, (k, c) -> c.holder().equals(holder) ? null : c);
    }

    /** Before leaving: tells every other node's rooms that this node's members are leaving. */
    void announceDepartures() {
        List<String> left = new ArrayList<>();
        for (Map.Entry<String, LocalRoom> r : rooms.entrySet()) {
            for (String name : r.getValue().members.values()) {
                left.add(r.getKey());
                left.add(name);
            }
        }
        node.announce(left, node.slot << 8, "server shutting down");
    }

    @Override
    public String toString() {
        return "RedisDirectory[node " + node.slot + ", names=" + claims.size() + ", rooms="
                + rooms.size() + "]";
    }
}
