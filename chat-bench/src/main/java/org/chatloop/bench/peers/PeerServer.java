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

    /**
     * Whether a thread of this JVM, by its name, is one of this server's I/O threads: its event
     * loop(s), or for a thread-per-client server its acceptor and client threads. The fan-out
     * benchmark sums these threads' CPU time to report the server's CPU per delivery.
     *
     * @param threadName a live thread's name
     * @return whether the thread serves this server; false for every thread by default (no CPU
     *         figure)
     */
    default boolean isServerThread(String threadName) {
        return false;
    }

    /** Stops the server and releases its threads and sockets. */
    @Override
    void close();
}
