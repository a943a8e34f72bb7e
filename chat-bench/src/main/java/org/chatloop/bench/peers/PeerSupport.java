package org.chatloop.bench.peers;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/** Small helpers shared by the peers: the bind address, the line limit and the sender prefix. */
final class PeerSupport {
    /** Longest line a client may send, in bytes, terminator excluded. */
    static final int MAX_LINE_BYTES = 4096;
    /** Listen backlog for every peer, like chatloop's default. */
    static final int BACKLOG = 1024;

    private PeerSupport() {
    }

    /** @return 127.0.0.1 (never {@code ::1}, whatever the JVM prefers) */
    static InetAddress loopback() {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * The sender's name as chatloop spells it: {@code ip:port}, an IPv6 host in brackets.
     *
     * @param remote the peer address of the connection
     * @return the name
     */
    static String name(SocketAddress remote) {
        if (!(remote instanceof InetSocketAddress)) {
            return String.valueOf(remote);
        }
        InetSocketAddress a = (InetSocketAddress) remote;
        String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /**
     * @param remote the peer address of the connection
     * @return {@code "<NAME> "} in UTF-8 (angle brackets included, as chatloop sends it),
     *         computed once per connection
     */
    static byte[] prefix(SocketAddress remote) {
        return ("<" + name(remote) + "> ").getBytes(StandardCharsets.UTF_8);
    }
}
