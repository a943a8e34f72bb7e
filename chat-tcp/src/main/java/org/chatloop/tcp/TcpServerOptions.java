package org.chatloop.tcp;

import java.time.Duration;
import java.util.Objects;
import javax.net.ssl.SSLContext;

/**
 * Settings of a {@link TcpChatServer}. Immutable; start from {@link #defaults()} and change what
 * you need with the {@code with...} methods.
 *
 * @param host the address to bind, {@code 127.0.0.1} by default
 * @param port the port to bind, 9001 by default; 0 takes a free port
 * @param backlog the listen backlog, 1024 by default, so a burst of connects is not dropped
 * @param maxLineBytes the longest line a client may send, in bytes before the terminator
 *                     (4096 by default); longer lines are discarded with an error
 * @param maxClients connections served at once (10000 by default); beyond it a new connection
 *                   gets {@code ! server full} and is closed
 * @param maxPendingBytes a connection's unsent output past which it is disconnected as too slow
 *                        (1 MiB by default). Past a quarter of it the connection is congested:
 *                        the server stops reading from the members of its room (TCP then slows
 *                        their senders down) until it drains to a sixteenth
 * @param slowConsumerTimeout how long a connection may stay congested before it is disconnected
 *                            as too slow (5 s by default), so that one reader who stops cannot
 *                            hold its room up for longer
 * @param shutdownFlushTimeout how long {@link TcpChatServer#stop()} waits for pending output to
 *                             reach clients before it closes them anyway (2 s by default)
 * @param maxLinesPerSecond flood control: lines a client may send per second, with a burst of as
 *                          many (0, the default, is no limit). A client past it is simply read
 *                          later: its lines are delayed, never dropped, and TCP slows it down
 * @param maxClientsPerIp connections from one IP address at once (0, the default, is no limit);
 *                        a further one gets {@code ! too many connections from your address} and
 *                        is closed
 * @param idleTimeout how long a connection may send nothing at all after connecting before it is
 *                    closed ({@link Duration#ZERO}, the default, is never)
 * @param keepAliveIdle TCP keepalive on accepted sockets: idle time before the first probe (60 s
 *                      by default; {@link Duration#ZERO} turns keepalive off). With the interval
 *                      and count below, a peer that vanished without a FIN is found within
 *                      60 + 6 x 10 = 120 s instead of the kernel's default of over two hours,
 *                      for one small probe per idle connection a minute
 * @param keepAliveInterval time between unanswered probes (10 s by default)
 * @param keepAliveCount unanswered probes before the connection is dropped (6 by default)
 * @param tls the TLS context holding the server's certificate and key (for example from
 *            {@link PemTls#serverContext}), or {@code null} (the default) for plain TCP. Only
 *            TLS 1.3 and 1.2 are enabled, with the context's default cipher suites
 * @param handshakeTimeout how long a TLS client may take to finish its handshake before it is
 *                         closed (10 s by default); a TLS client joins the lobby only
 *                         once its handshake is done
 * @param reusePort whether the listener sets {@code SO_REUSEPORT} before it binds (false by
 *                  default), so that several servers (say the nodes of a cluster, in processes
 *                  of their own) can bind the same host and port, each with this option on, and
 *                  the kernel spreads new connections over them. Binding fails with an
 *                  {@link java.io.IOException} where the platform does not support the option
 */
public record TcpServerOptions(String host, int port, int backlog, int maxLineBytes,
                               int maxClients, int maxPendingBytes, Duration slowConsumerTimeout,
                               Duration shutdownFlushTimeout, int maxLinesPerSecond,
                               int maxClientsPerIp, Duration idleTimeout, Duration keepAliveIdle,
                               Duration keepAliveInterval, int keepAliveCount, SSLContext tls,
                               Duration handshakeTimeout, boolean reusePort) {

    /** Validates every setting. */
    public TcpServerOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(shutdownFlushTimeout, "shutdownFlushTimeout");
        Objects.requireNonNull(slowConsumerTimeout, "slowConsumerTimeout");
        if (slowConsumerTimeout.isNegative()) {
            throw new IllegalArgumentException("slowConsumerTimeout must not be negative");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535: " + port);
        }
        requirePositive("backlog", backlog);
        requirePositive("maxLineBytes", maxLineBytes);
        requirePositive("maxClients", maxClients);
        requirePositive("maxPendingBytes", maxPendingBytes);
        if (shutdownFlushTimeout.isNegative()) {
            throw new IllegalArgumentException("shutdownFlushTimeout must not be negative");
        }
        requireNotNegative("maxLinesPerSecond", maxLinesPerSecond);
        requireNotNegative("maxClientsPerIp", maxClientsPerIp);
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        if (idleTimeout.isNegative()) {
            throw new IllegalArgumentException("idleTimeout must not be negative");
        }
        requireWholeSeconds("keepAliveIdle", keepAliveIdle, 0);
        requireWholeSeconds("keepAliveInterval", keepAliveInterval, 1);
        requirePositive("keepAliveCount", keepAliveCount);
        Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("handshakeTimeout must be positive");
        }
    }

    private static void requireNotNegative(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must not be negative: " + value);
        }
    }

    /** Keepalive times are whole seconds for the kernel. */
    private static void requireWholeSeconds(String name, Duration d, long minSeconds) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.toSeconds() < minSeconds || d.toNanos() % 1_000_000_000L != 0
                || d.toSeconds() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + " must be a whole number of seconds, at "
                    + "least " + minSeconds + ": " + d);
        }
    }

    private static void requirePositive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be positive: " + value);
        }
    }

    /**
     * @return the defaults: 127.0.0.1:9001, backlog 1024, 4096-byte lines, 10000 clients, 1 MiB,
     *         no line rate, address or idle limit, keepalive 60 s + 6 x 10 s, plain TCP, no
     *         {@code SO_REUSEPORT}
     */
    public static TcpServerOptions defaults() {
        return new TcpServerOptions("127.0.0.1", 9001, 1024, 4096, 10_000, 1 << 20,
                Duration.ofSeconds(5), Duration.ofSeconds(2), 0, 0, Duration.ZERO,
                Duration.ofSeconds(60), Duration.ofSeconds(10), 6, null, Duration.ofSeconds(10),
                false);
    }

    /** @return these options with another host */
    public TcpServerOptions withHost(String h) {
        return new TcpServerOptions(h, port, backlog, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout,
                maxLinesPerSecond, maxClientsPerIp, idleTimeout, keepAliveIdle, keepAliveInterval,
                keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /** @return these options with another port (0 for any free port) */
    public TcpServerOptions withPort(int p) {
        return new TcpServerOptions(host, p, backlog, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout,
                maxLinesPerSecond, maxClientsPerIp, idleTimeout, keepAliveIdle, keepAliveInterval,
                keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /** @return these options with another listen backlog */
    public TcpServerOptions withBacklog(int b) {
        return new TcpServerOptions(host, port, b, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout,
                maxLinesPerSecond, maxClientsPerIp, idleTimeout, keepAliveIdle, keepAliveInterval,
                keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /** @return these options with another line limit */
    public TcpServerOptions withMaxLineBytes(int n) {
        return new TcpServerOptions(host, port, backlog, n, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout,
                maxLinesPerSecond, maxClientsPerIp, idleTimeout, keepAliveIdle, keepAliveInterval,
                keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /** @return these options with another connection limit */
    public TcpServerOptions withMaxClients(int n) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, n, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout,
                maxLinesPerSecond, maxClientsPerIp, idleTimeout, keepAliveIdle, keepAliveInterval,
                keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /** @return these options with another bound on each connection's unsent output */
    public TcpServerOptions withMaxPendingBytes(int n) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, maxClients, n,
                slowConsumerTimeout, shutdownFlushTimeout,
                maxLinesPerSecond, maxClientsPerIp, idleTimeout, keepAliveIdle, keepAliveInterval,
                keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /** @return these options with another time a connection may stay congested */
    public TcpServerOptions withSlowConsumerTimeout(Duration d) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, maxClients, maxPendingBytes,
                d, shutdownFlushTimeout,
                maxLinesPerSecond, maxClientsPerIp, idleTimeout, keepAliveIdle, keepAliveInterval,
                keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /** @return these options with another shutdown flush timeout */
    public TcpServerOptions withShutdownFlushTimeout(Duration d) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, d,
                maxLinesPerSecond, maxClientsPerIp, idleTimeout, keepAliveIdle, keepAliveInterval,
                keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /** @return these options with another line rate per client (0 for none) */
    public TcpServerOptions withMaxLinesPerSecond(int n) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout, n, maxClientsPerIp, idleTimeout,
                keepAliveIdle, keepAliveInterval, keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /** @return these options with another limit of connections per IP address (0 for none) */
    public TcpServerOptions withMaxClientsPerIp(int n) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout, maxLinesPerSecond, n, idleTimeout,
                keepAliveIdle, keepAliveInterval, keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /** @return these options with another idle timeout for silent connections (zero for none) */
    public TcpServerOptions withIdleTimeout(Duration d) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout, maxLinesPerSecond, maxClientsPerIp, d,
                keepAliveIdle, keepAliveInterval, keepAliveCount, tls, handshakeTimeout, reusePort);
    }

    /**
     * @return these options with other TCP keepalive settings (an idle time of zero turns
     *         keepalive off)
     */
    public TcpServerOptions withKeepAlive(Duration idle, Duration interval, int count) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout, maxLinesPerSecond, maxClientsPerIp,
                idleTimeout, idle, interval, count, tls,
                handshakeTimeout, reusePort);
    }

    /** @return these options serving TLS with {@code context} ({@code null}: plain TCP) */
    public TcpServerOptions withTls(SSLContext context) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout, maxLinesPerSecond, maxClientsPerIp,
                idleTimeout, keepAliveIdle, keepAliveInterval, keepAliveCount, context,
                handshakeTimeout, reusePort);
    }

    /** @return these options with another TLS handshake timeout */
    public TcpServerOptions withHandshakeTimeout(Duration d) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout, maxLinesPerSecond, maxClientsPerIp,
                idleTimeout, keepAliveIdle, keepAliveInterval, keepAliveCount, tls, d, reusePort);
    }

    /**
     * @return these options with {@code SO_REUSEPORT} on or off, so that several servers can
     *         bind one port (see {@link #reusePort()})
     */
    public TcpServerOptions withReusePort(boolean on) {
        return new TcpServerOptions(host, port, backlog, maxLineBytes, maxClients, maxPendingBytes,
                slowConsumerTimeout, shutdownFlushTimeout, maxLinesPerSecond, maxClientsPerIp,
                idleTimeout, keepAliveIdle, keepAliveInterval, keepAliveCount, tls,
                handshakeTimeout, on);
    }
}
