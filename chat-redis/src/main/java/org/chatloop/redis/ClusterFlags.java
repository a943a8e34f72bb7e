package org.chatloop.redis;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The cluster flags the servers' entry points share ({@code chat-tcp.jar server},
 * {@code chat-udp.jar server}, {@code chat-server.jar server}), as a picocli mixin:
 * {@code --cluster redis://HOST:PORT}, {@code --node-name NAME}, {@code --cluster-ttl SECONDS}.
 * The defaults come from {@link ClusterOptions}. picocli is an optional dependency of this module:
 * only an entry point that uses this class needs it.
 */
public final class ClusterFlags {
    @Option(names = "--cluster", paramLabel = "redis://HOST:PORT", description = "join the "
            + "chat of every server with this Redis: the same rooms, names, /who, /rooms and "
            + "/msg across them")
    String cluster;
    @Option(names = "--node-name", paramLabel = "NAME", description = "this server's name in "
            + "the cluster (default: the host's name and the process id)")
    String nodeName;
    @Option(names = "--cluster-ttl", paramLabel = "SECONDS", description = "a server that stops "
            + "answering has its members leave every room within this time "
            + "(default: ${DEFAULT-VALUE})")
    long clusterTtl = ClusterOptions.DEFAULT_TTL.toSeconds();

    /** Makes the flags with their defaults (picocli fills them). */
    public ClusterFlags() {
    }

    /**
     * @param spec the command, to name a bad flag in its error
     * @return the cluster settings, or null without {@code --cluster}
     * @throws ParameterException (exit 2) on a bad value, naming the flag
     */
    public ClusterOptions options(CommandSpec spec) {
        if (cluster == null) {
            if (nodeName != null) {
                throw new ParameterException(spec.commandLine(), "--node-name needs --cluster");
            }
            return null;
        }
        URI uri;
        try {
            uri = new URI(cluster);
        } catch (URISyntaxException e) {
            throw bad(spec, "--cluster", "'" + cluster + "' is not redis://HOST:PORT");
        }
        if (clusterTtl < 1 || clusterTtl > 3600) {
            throw bad(spec, "--cluster-ttl", clusterTtl + " is not in 1..3600");
        }
        ClusterOptions o;
        try {
            o = ClusterOptions.of(uri).withTtl(Duration.ofSeconds(clusterTtl));
        } catch (IllegalArgumentException e) {
            throw bad(spec, "--cluster", "'" + cluster + "': " + e.getMessage());
        }
        if (nodeName != null) {
            try {
                o = o.withNodeName(nodeName);
            } catch (IllegalArgumentException e) {
                throw bad(spec, "--node-name", e.getMessage());
            }
        }
        return o;
    }

    /**
     * Joins the cluster of {@code --cluster}, for a server of {@code loops} loops. Blocks a few
     * seconds at most: call it before binding, not on a loop thread.
     *
     * @param spec the command, to name a bad flag in its error
     * @param loops the server's loops
     * @return the node, or null without {@code --cluster}
     * @throws ParameterException (exit 2) on a bad value
     * @throws IllegalStateException with a one-line message if Redis cannot be reached
     */
    public RedisCluster join(CommandSpec spec, int loops) {
        ClusterOptions o = options(spec);
        if (o == null) {
            return null;
        }
        if (loops > 255) {
            throw bad(spec, "--loops", "at most 255 with --cluster");
        }
        return RedisCluster.connect(o);
    }

    /**
     * @param cluster the node, or null
     * @param stop how the server stops
     * @return what stops the server: first the node leaves the cluster (so that the other nodes
     *         hear this one's members leave), then {@code stop}
     */
    public static Runnable leavingFirst(RedisCluster cluster, Runnable stop) {
        return () -> {
            if (cluster != null) {
                cluster.close();
            }
            stop.run();
        };
    }

    /**
     * @param cluster a node that joined
     * @return the line an entry point prints once it joined: {@code cluster node N (NAME) via URI}
     */
    public static String joined(RedisCluster cluster) {
        return "cluster node " + cluster.nodeNumber() + " (" + cluster.nodeName() + ") via "
                + cluster.redis();
    }

    private static ParameterException bad(CommandSpec spec, String option, String why) {
        return new ParameterException(spec.commandLine(), "Invalid value for option '" + option
                + "': " + why);
    }
}
