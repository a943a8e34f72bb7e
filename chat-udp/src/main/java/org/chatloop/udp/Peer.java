package org.chatloop.udp;

import java.net.InetSocketAddress;
import org.chatloop.core.Client;
import org.chatloop.core.ClientOutput;
import org.chatloop.core.Frame;
import org.chatloop.loop.TokenBucket;

/**
 * One registered source address: the transport side of a hub {@link Client}. Frames the hub hands
 * it go straight to the server's {@link DatagramSender}; {@link #close()} (the client sent
 * {@code /quit}) makes the server forget the address.
 *
 * <p>States: registered (in the peer table, {@link #client()} connected), then gone (removed by
 * {@code /quit}, expiry or shutdown), after which frames for it are ignored. Not thread safe:
 * owned by the server's loop thread.
 */
final class Peer implements ClientOutput {
    /** What a peer needs from its server. */
    interface Owner {
        void send(Frame frame, InetSocketAddress target);

        void quit(Peer peer);
    }

    private final InetSocketAddress address;
    private final Owner owner;
    private Client client;
    private long lastHeardNanos;
    private boolean gone;
    /** The rate limit, or null when there is none. */
    private TokenBucket bucket;

    Peer(InetSocketAddress address, Owner owner, long nowNanos) {
        this.address = address;
        this.owner = owner;
        this.lastHeardNanos = nowNanos;
    }

    InetSocketAddress address() {
        return address;
    }

    Client client() {
        return client;
    }

    void client(Client c) {
        client = c;
    }

    long lastHeardNanos() {
        return lastHeardNanos;
    }

    void heard(long nowNanos) {
        lastHeardNanos = nowNanos;
    }

    void limit(TokenBucket b) {
        bucket = b;
    }

    /** @return whether the peer may send one more line now (a token is taken if so) */
    boolean mayAct(long nowNanos) {
        return bucket == null || bucket.tryTake(nowNanos);
    }

    boolean isGone() {
        return gone;
    }

    void markGone() {
        gone = true;
    }

    @Override
    public void send(Frame frame) {
        if (!gone) {
            owner.send(frame, address);
        }
    }

    @Override
    public void close() {
        if (!gone) {
            owner.quit(this);
        }
    }

    @Override
    public String toString() {
        return "Peer[" + Datagrams.addressText(address) + (client == null ? "" : " " + client.name())
                + (gone ? ", gone" : "") + "]";
    }
}
