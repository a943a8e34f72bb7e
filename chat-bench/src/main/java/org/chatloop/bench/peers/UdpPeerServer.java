package org.chatloop.bench.peers;

/**
 * A UDP chat server under benchmark, started in-process on 127.0.0.1 and an ephemeral port. Every
 * UDP peer speaks the same minimal datagram protocol: a datagram from a new address registers that
 * address; {@code #ping#} only registers (or refreshes) and is never relayed; any other datagram
 * (an optional trailing newline stripped) is relayed to every registered address, the sender
 * included, as one datagram {@code <NAME> TEXT\n} where NAME is the sender's {@code ip:port}.
 * Clients must not depend on greetings: a peer may send other datagrams (chatloop sends welcome
 * and join notices), which subscribers ignore.
 */
public interface UdpPeerServer extends AutoCloseable {

    /** @return the UDP port the server is bound to */
    int port();

    /**
     * @return datagrams the server itself gave up on (a full send queue, a failed send) since it
     *         started, or 0 if it cannot know; safe from any thread
     */
    long dropped();

    /** Stops the server and releases its threads and socket. */
    @Override
    void close();
}
