package org.chatloop.udp;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a {@link UdpChatServer}. Immutable; start from {@link #defaults()} and change what
 * you need with the {@code with...} methods.
 *
 * @param host the address to bind, {@code 127.0.0.1} by default
 * @param port the port to bind, 9001 by default; 0 takes a free port
 * @param maxMessageBytes the largest datagram a client may send, in bytes, the optional trailing
 *                        newline included (4096 by default, at most 65507); a larger one gets
 *                        {@code ! message too long (max N bytes)}
 * @param maxClients source addresses registered at once (10000 by default); a further sender
 *                   gets {@code ! server full}
 * @param heartbeatTimeout how long a client may stay silent (no {@code #ping#}, no message) before
 *                         it is removed as timed out (10 s by default, at least 1 ms)
 * @param maxQueuedDatagrams datagrams waiting for room in the socket's send buffer (65536 by
 *                           default); beyond it datagrams are dropped and counted
 * @param addressValidation whether a new source address must prove it receives what is sent to
 *                          it before it is registered ({@link AddressValidation#AUTO} by default:
 *                          on unless the server is bound to a loopback address)
 * @param maxLinesPerSecond datagrams (other than heartbeats) a registered client may send per
 *                          second, with a burst of as many; past it they are dropped and counted
 *                          (0, the default, is no limit)
 * @param maxClientsPerIp registrations from one IP address at once (0, the default, is no
 *                        limit); a further one gets {@code ! too many connections from your
 *                        address}
 * @param reusePort whether the channel sets {@code SO_REUSEPORT} before it binds (false by
 *                  default), so that several servers (say the nodes of a cluster, in processes
 *                  of their own) can bind the same host and port, each with this option on, and
 *                  the kernel spreads source addresses over them (a given source keeps reaching
 *                  the same server while the set of servers stays the same). Binding fails with
 *                  an {@link java.io.IOException} where the platform does not support the option.
 *                  (A server on several loops binds its own sockets with the option either way;
 *                  this lets it join a port that other servers have.)
 */
public record UdpServerOptions(String host, int port, int maxMessageBytes, int maxClients,
                               Duration heartbeatTimeout, int maxQueuedDatagrams,
                               AddressValidation addressValidation, int maxLinesPerSecond,
                               int maxClientsPerIp, boolean reusePort) {

    /**
     * Whether the server validates source addresses: the first datagram from an unvalidated
     * address is answered with one {@code * verify TOKEN} datagram, and the address is registered
     * once it sends {@code #ping# TOKEN}; until then it is sent at most 3 times the bytes it sent.
     */
    public enum AddressValidation {
        /** Always validate. */
        ON,
        /** Never validate: any datagram registers its source (spoofable: see docs/SECURITY.md). */
        OFF,
        /** Validate unless bound to a loopback address, where no one can spoof a source. */
        AUTO
    }

    /** The largest UDP payload over IPv4, and so the largest {@code maxMessageBytes}. */
    public static final int MAX_DATAGRAM_BYTES = 65_507;

    /**
     * Validates every setting.
     *
     * @param host the address to bind
     * @param port the port to bind, 0..65535
     * @param maxMessageBytes the largest datagram accepted, 1..65507
     * @param maxClients registered addresses at most, at least 1
     * @param heartbeatTimeout silence after which a client is removed, at least 1 ms
     * @param maxQueuedDatagrams datagrams waiting for the socket at most, at least 1
     * @param addressValidation on, off, or auto (on unless bound to loopback)
     * @param maxLinesPerSecond datagrams a client may send per second, 0 for no limit
     * @param maxClientsPerIp registrations per IP address at most, 0 for no limit
     * @param reusePort whether to set {@code SO_REUSEPORT} before binding
     * @throws IllegalArgumentException if a setting is out of range
     */
    public UdpServerOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(heartbeatTimeout, "heartbeatTimeout");
        Objects.requireNonNull(addressValidation, "addressValidation");
        if (maxLinesPerSecond < 0) {
            throw new IllegalArgumentException("maxLinesPerSecond must not be negative: "
                    + maxLinesPerSecond);
        }
        if (maxClientsPerIp < 0) {
            throw new IllegalArgumentException("maxClientsPerIp must not be negative: "
                    + maxClientsPerIp);
        }
        if (host.isBlank()) {
            throw new IllegalArgumentException("host must not be blank");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535: " + port);
        }
        if (maxMessageBytes < 1 || maxMessageBytes > MAX_DATAGRAM_BYTES) {
            throw new IllegalArgumentException(
                    "maxMessageBytes must be in 1.." + MAX_DATAGRAM_BYTES + ": " + maxMessageBytes);
        }
        requirePositive("maxClients", maxClients);
        requirePositive("maxQueuedDatagrams", maxQueuedDatagrams);
        if (heartbeatTimeout.toMillis() < 1) {
            throw new IllegalArgumentException(
                    "heartbeatTimeout must be at least 1 ms: " + heartbeatTimeout);
        }
    }

    private static void requirePositive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be positive: " + value);
        }
    }

    /**
     * @return the defaults: 127.0.0.1:9001, 4096-byte messages, 10000 clients, 10 s heartbeat
     *         timeout, 65536 queued datagrams, address validation auto, no rate or address
     *         limit, no {@code SO_REUSEPORT}
     */
    public static UdpServerOptions defaults() {
        return new UdpServerOptions("127.0.0.1", 9001, 4096, 10_000, Duration.ofSeconds(10),
                65_536, AddressValidation.AUTO, 0, 0, false);
    }

    /**
     * @param h the address to bind
     * @return these options with another host
     */
    public UdpServerOptions withHost(String h) {
        return new UdpServerOptions(h, port, maxMessageBytes, maxClients, heartbeatTimeout,
                maxQueuedDatagrams, addressValidation,
                maxLinesPerSecond, maxClientsPerIp, reusePort);
    }

    /**
     * @param p the port, 0 for any free port
     * @return these options with another port (0 for any free port)
     */
    public UdpServerOptions withPort(int p) {
        return new UdpServerOptions(host, p, maxMessageBytes, maxClients, heartbeatTimeout,
                maxQueuedDatagrams, addressValidation,
                maxLinesPerSecond, maxClientsPerIp, reusePort);
    }

    /**
     * @param n the largest datagram accepted
     * @return these options with another datagram size limit
     */
    public UdpServerOptions withMaxMessageBytes(int n) {
        return new UdpServerOptions(host, port, n, maxClients, heartbeatTimeout,
                maxQueuedDatagrams, addressValidation,
                maxLinesPerSecond, maxClientsPerIp, reusePort);
    }

    /**
     * @param n registered addresses at most
     * @return these options with another limit on registered addresses
     */
    public UdpServerOptions withMaxClients(int n) {
        return new UdpServerOptions(host, port, maxMessageBytes, n, heartbeatTimeout,
                maxQueuedDatagrams, addressValidation,
                maxLinesPerSecond, maxClientsPerIp, reusePort);
    }

    /**
     * @param d silence after which a client is removed
     * @return these options with another heartbeat timeout
     */
    public UdpServerOptions withHeartbeatTimeout(Duration d) {
        return new UdpServerOptions(host, port, maxMessageBytes, maxClients, d,
                maxQueuedDatagrams, addressValidation,
                maxLinesPerSecond, maxClientsPerIp, reusePort);
    }

    /**
     * @param n datagrams waiting for the socket at most
     * @return these options with another bound on the send queue
     */
    public UdpServerOptions withMaxQueuedDatagrams(int n) {
        return new UdpServerOptions(host, port, maxMessageBytes, maxClients, heartbeatTimeout, n,
                addressValidation, maxLinesPerSecond, maxClientsPerIp, reusePort);
    }

    /**
     * @param v on, off, or auto (on unless bound to loopback)
     * @return these options with another address validation setting
     */
    public UdpServerOptions withAddressValidation(AddressValidation v) {
        return new UdpServerOptions(host, port, maxMessageBytes, maxClients, heartbeatTimeout,
                maxQueuedDatagrams, v, maxLinesPerSecond, maxClientsPerIp, reusePort);
    }

    /**
     * @param n datagrams a client may send per second, 0 for no limit
     * @return these options with another rate limit per client
     */
    public UdpServerOptions withMaxLinesPerSecond(int n) {
        return new UdpServerOptions(host, port, maxMessageBytes, maxClients, heartbeatTimeout,
                maxQueuedDatagrams, addressValidation, n, maxClientsPerIp, reusePort);
    }

    /**
     * @param n registrations per IP address at most, 0 for no limit
     * @return these options with another limit of registrations per address
     */
    public UdpServerOptions withMaxClientsPerIp(int n) {
        return new UdpServerOptions(host, port, maxMessageBytes, maxClients, heartbeatTimeout,
                maxQueuedDatagrams, addressValidation, maxLinesPerSecond, n, reusePort);
    }

    /**
     * @param on whether to set {@code SO_REUSEPORT} before binding
     * @return these options with {@code SO_REUSEPORT} on or off, so that several servers can
     *         bind one port (see {@link #reusePort()})
     */
    public UdpServerOptions withReusePort(boolean on) {
        return new UdpServerOptions(host, port, maxMessageBytes, maxClients, heartbeatTimeout,
                maxQueuedDatagrams, addressValidation, maxLinesPerSecond, maxClientsPerIp, on);
    }
}
