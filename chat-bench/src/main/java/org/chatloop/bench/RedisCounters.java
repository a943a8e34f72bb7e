package org.chatloop.bench;

import org.chatloop.redis.RedisServerProcess;

/**
 * What a Redis server has counted, from {@code INFO commandstats} and {@code INFO cpu}: the calls
 * of {@code PUBLISH}, the calls of every command but the measurement's own ({@code CONFIG},
 * {@code INFO}), since the last {@code CONFIG RESETSTAT}; and the CPU time the redis-server
 * process has used since it started (user and system, all its threads).
 *
 * @param publishCalls {@code cmdstat_publish:calls}
 * @param commandCalls every {@code cmdstat_*:calls} but {@code config} and {@code info}
 *                     (subcommands included: Redis 7 lists {@code config|resetstat} apart)
 * @param cpuNanos {@code used_cpu_user + used_cpu_sys}, in nanoseconds
 */
record RedisCounters(long publishCalls, long commandCalls, long cpuNanos) {

    /** Zeroes the command counts ({@code CONFIG RESETSTAT}); the CPU time is not reset. */
    static void reset(RedisServerProcess redis) {
        redis.command("CONFIG", "RESETSTAT");
    }

    /** @return the counts now */
    static RedisCounters read(RedisServerProcess redis) {
        long publish = 0;
        long all = 0;
        for (String line : redis.command("INFO", "commandstats").split("\r?\n")) {
            if (!line.startsWith("cmdstat_")) {
                continue;
            }
            int colon = line.indexOf(':');
            String name = line.substring("cmdstat_".length(), colon);
            long calls = field(line, "calls=");
            if (name.equals("publish")) {
                publish = calls;
            }
            String base = name.contains("|") ? name.substring(0, name.indexOf('|')) : name;
            if (!base.equals("config") && !base.equals("info")) {
                all += calls;
            }
        }
        double cpuSeconds = 0;
        for (String line : redis.command("INFO", "cpu").split("\r?\n")) {
            if (line.startsWith("used_cpu_user:") || line.startsWith("used_cpu_sys:")) {
                cpuSeconds += Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return new RedisCounters(publish, all, Math.round(cpuSeconds * 1e9));
    }

    private static long field(String line, String key) {
        int at = line.indexOf(key);
        if (at < 0) {
            throw new IllegalStateException("no " + key + " in " + line);
        }
        int from = at + key.length();
        int to = from;
        while (to < line.length() && Character.isDigit(line.charAt(to))) {
            to++;
        }
        return Long.parseLong(line.substring(from, to));
    }
}
