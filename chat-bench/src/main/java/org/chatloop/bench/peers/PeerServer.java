package org.chatloop.bench.peers;

/**
 * A chat server under benchmark, started in-process on 127.0.0.1 and an ephemeral port. Every peer
 * speaks the same minimal line protocol: each line a client sends (ending in {@code \n}) is relayed
 * to every connected client, the sender included, as {@code <NAME> LINE\n} where NAME is the
 * sender's {@code ip:port} (the floor relays raw bytes without the prefix). Clients must not depend
 * on greeting lines: a peer may send other lines (chatloop sends welcome and join notices), which
 * subscribers ignore.
 */
public interface PeerServer extends AutoCloseable {

    /** @return the port the server listens on */
    int port();

    /** Stops the server and releases its threads and sockets. */
    @Override
    void close();
}
