package org.chatloop.redis;

/**
 * The Lua scripts that keep the cluster's shared state consistent in Redis: each is one atomic
 * step (a claim, a membership change, a node's removal), so that no two nodes can interleave
 * inside it. They run on a standalone Redis (6.2 or later) and touch keys they compute from their
 * arguments, which a Redis Cluster (sharded) deployment would refuse.
 *
 * <p>The keys, under a prefix {@code P} (default {@code chatloop:}):
 * <ul>
 * <li>{@code P slot:N} a node's liveness, with a TTL its node refreshes; {@code P slots} the set
 *     of registered node numbers; {@code P slotseq} the counter new nodes draw numbers from.
 * <li>{@code P nick:KEY} who holds a name: {@code SHARD\nCLIENT\nCLAIMED_AT_MS\nNAME};
 *     {@code P nicks:N} the name keys node N holds.
 * <li>{@code P room:KEY} a room's members, a sorted set of {@code MEMBERKEY\nNAME\nNODE} (score 0, so
 *     in key order); {@code P rooms} every room's member count (a sorted set);
 *     {@code P roomnames} each room's name as it was made; {@code P members:N} node N's
 *     memberships, {@code ROOMKEY\nMEMBERKEY\nNAME\nNODE}.
 * </ul>
 */
final class Scripts {
    private Scripts() {
    }

    /**
     * Draws a node number 1..127, starting from a random one, whose liveness key is free, that is
     * not a dead node waiting to be reaped, and that was not reaped lately (its tombstone): so a
     * number is not handed out again while its old node might still come back. ARGV: prefix,
     * node name, ttl ms, random start 0..126. Returns the number, or -1.
     */
    static final String ALLOCATE = """
            local p = ARGV[1]
            local start = tonumber(ARGV[4])
            for i = 0, 126 do
              local n = (start + i) % 127 + 1
              if redis.call('SISMEMBER', p .. 'slots', n) == 0
                  and redis.call('EXISTS', p .. 'dead:' .. n) == 0
                  and redis.call('SET', p .. 'slot:' .. n, ARGV[2], 'PX', ARGV[3], 'NX') then
                redis.call('SADD', p .. 'slots', n)
                return n
              end
            end
            return -1
            """;

    /**
     * Refreshes a node's liveness. ARGV: prefix, node number, node name, ttl ms. Returns 1 if it
     * was alive, 2 if it had expired (or Redis lost it) and is registered again, 0 if another node
     * holds the number now.
     */
    static final String HEARTBEAT = """
            local p, n = ARGV[1], ARGV[2]
            local k = p .. 'slot:' .. n
            local v = redis.call('GET', k)
            if v == ARGV[3] then
              redis.call('PEXPIRE', k, ARGV[4])
              redis.call('SADD', p .. 'slots', n)
              return 1
            end
            if v then
              return 0
            end
            redis.call('SET', k, ARGV[3], 'PX', ARGV[4])
            redis.call('SADD', p .. 'slots', n)
            return 2
            """;

    /**
     * One membership change: removes an entry, then adds one (a join adds, a leave removes, a
     * rename does both). KEYS: room, rooms, roomnames, members:N. ARGV: room key, room name,
     * entry to remove or '', entry to add or '', the lobby's key (never dropped from the list).
     */
    static final String MEMBER = """
            local rk, rn, out, inn = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
            if out ~= '' and redis.call('ZREM', KEYS[1], out) == 1 then
              redis.call('SREM', KEYS[4], rk .. '\\n' .. out)
              local c = tonumber(redis.call('ZINCRBY', KEYS[2], -1, rk))
              if c <= 0 and inn == '' and rk ~= ARGV[5] then
                redis.call('ZREM', KEYS[2], rk)
                redis.call('HDEL', KEYS[3], rk)
              end
            end
            if inn ~= '' and redis.call('ZADD', KEYS[1], 0, inn) == 1 then
              redis.call('SADD', KEYS[4], rk .. '\\n' .. inn)
              redis.call('ZINCRBY', KEYS[2], 1, rk)
              redis.call('HSETNX', KEYS[3], rk, rn)
            end
            return 1
            """;

    /**
     * Claims a name. KEYS: nick:KEY, nicks:N (the claimant's node). ARGV: value, shard, client id,
     * claimed-at ms, restore ('1' when a node restores its claims after the link was down), name
     * key, prefix. A claim held by a node whose liveness key is gone is free. On restore, two live
     * claims are resolved deterministically: the earlier claim wins, then the lower shard.
     * Returns {1} won, {0} lost, {2, OLD_VALUE} won over a live claim (its holder must be told).
     */
    static final String CLAIM = """
            local p = ARGV[7]
            local v = redis.call('GET', KEYS[1])
            if v then
              local s, c, at = string.match(v, '^(%d+)\\n(%d+)\\n(%d+)\\n')
              if not s then
                -- Not a claim this code wrote: taken as free.
                s, c, at = '0', '0', '0'
              end
              if s == ARGV[2] and c == ARGV[3] then
                redis.call('SET', KEYS[1], ARGV[1])
                redis.call('SADD', KEYS[2], ARGV[6])
                return {1}
              end
              local slot = math.floor(tonumber(s) / 256)
              if redis.call('EXISTS', p .. 'slot:' .. slot) == 1 then
                if ARGV[5] ~= '1' then
                  return {0}
                end
                local mine, theirs = tonumber(ARGV[4]), tonumber(at)
                if theirs < mine or (theirs == mine and tonumber(s) < tonumber(ARGV[2])) then
                  return {0}
                end
                redis.call('SREM', p .. 'nicks:' .. slot, ARGV[6])
                redis.call('SET', KEYS[1], ARGV[1])
                redis.call('SADD', KEYS[2], ARGV[6])
                return {2, v}
              end
              redis.call('SREM', p .. 'nicks:' .. slot, ARGV[6])
            end
            redis.call('SET', KEYS[1], ARGV[1])
            redis.call('SADD', KEYS[2], ARGV[6])
            return {1}
            """;

    /** Releases a name if the holder holds it. KEYS: nick:KEY, nicks:N. ARGV: shard, client, key. */
    static final String RELEASE = """
            local v = redis.call('GET', KEYS[1])
            if v then
              local s, c = string.match(v, '^(%d+)\\n(%d+)\\n')
              if s == ARGV[1] and c == ARGV[2] then
                redis.call('DEL', KEYS[1])
                redis.call('SREM', KEYS[2], ARGV[3])
                return 1
              end
            end
            return 0
            """;

    /** A room's member count and its first ARGV[1] entries. KEYS: room. */
    static final String MEMBERS = """
            local max = tonumber(ARGV[1])
            local r = {}
            if max > 0 then
              r = redis.call('ZRANGE', KEYS[1], 0, max - 1)
            end
            table.insert(r, 1, redis.call('ZCARD', KEYS[1]))
            return r
            """;

    /**
     * The number of rooms, then NAME, COUNT pairs: all of them when there are at most ARGV[1],
     * else the ARGV[1] largest. ARGV: max, prefix.
     */
    static final String ROOMS = """
            local max, p = tonumber(ARGV[1]), ARGV[2]
            local total = redis.call('ZCARD', p .. 'rooms')
            local r
            if total <= max then
              r = redis.call('ZRANGE', p .. 'rooms', 0, -1, 'WITHSCORES')
            else
              r = redis.call('ZREVRANGE', p .. 'rooms', 0, max - 1, 'WITHSCORES')
            end
            local out = {total}
            for i = 1, #r, 2 do
              table.insert(out, redis.call('HGET', p .. 'roomnames', r[i]) or r[i])
              table.insert(out, r[i + 1])
            end
            return out
            """;

    /**
     * Removes a node that is gone: its memberships and names. Only one node reaps a given node
     * (the one whose SREM from the set of nodes succeeds). ARGV: node number, prefix, lobby key,
     * '1' to reap even a live node (a node leaving by itself), how long (ms) the number is kept
     * from new nodes. Returns ROOMKEY, NAME pairs of the members removed, for the rooms to be told.
     */
    static final String REAP = """
            local n, p = ARGV[1], ARGV[2]
            if ARGV[4] ~= '1' and redis.call('EXISTS', p .. 'slot:' .. n) == 1 then
              return {}
            end
            if redis.call('SREM', p .. 'slots', n) == 0 and ARGV[4] ~= '1' then
              return {}
            end
            local left = {}
            local members = p .. 'members:' .. n
            for _, e in ipairs(redis.call('SMEMBERS', members)) do
              local rk, entry = string.match(e, '^([^\\n]*)\\n(.*)$')
              if rk and redis.call('ZREM', p .. 'room:' .. rk, entry) == 1 then
                local c = tonumber(redis.call('ZINCRBY', p .. 'rooms', -1, rk))
                if c <= 0 and rk ~= ARGV[3] then
                  redis.call('ZREM', p .. 'rooms', rk)
                  redis.call('HDEL', p .. 'roomnames', rk)
                end
                table.insert(left, rk)
                table.insert(left, string.match(entry, '^[^\\n]*\\n([^\\n]*)'))
              end
            end
            redis.call('DEL', members)
            local nicks = p .. 'nicks:' .. n
            for _, k in ipairs(redis.call('SMEMBERS', nicks)) do
              local v = redis.call('GET', p .. 'nick:' .. k)
              if v then
                local s = string.match(v, '^(%d+)\\n')
                if s and math.floor(tonumber(s) / 256) == tonumber(n) then
                  redis.call('DEL', p .. 'nick:' .. k)
                end
              end
            end
            redis.call('DEL', nicks)
            if ARGV[4] == '1' then
              redis.call('DEL', p .. 'slot:' .. n)
            end
            redis.call('SET', p .. 'dead:' .. n, '1', 'PX', ARGV[5])
            return left
            """;
}
