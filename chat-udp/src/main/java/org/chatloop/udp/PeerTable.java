package org.chatloop.udp;

import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The registered source addresses, one {@link Peer} each, in the order they were last heard from:
 * a {@link LinkedHashMap} in access order, so hearing from a peer moves it to the tail and the
 * peers to expire are always at the head. Expiry then costs only the peers it removes, not a scan
 * of the table. Time is an argument (loop-clock nanoseconds), so tests can move it by hand; it
 * must not go backwards. (The limits on registrations, overall and per IP address, are kept
 * over every socket of the server by {@link ClientLimits}.)
 *
 * <p>Not thread safe: owned by its socket's loop thread ({@link DatagramLoop}).
 */
final class PeerTable {
    private final LinkedHashMap<SocketAddress, Peer> byAddress =
            new LinkedHashMap<>(64, 0.75f, true);

    /**
     * A datagram arrived from the address: refreshes its peer, if any.
     *
     * @return the peer, or null if the address is not registered
     */
    Peer heardFrom(SocketAddress address, long nowNanos) {
        Peer p = byAddress.get(address);
        if (p != null) {
            p.heard(nowNanos);
        }
        return p;
    }

    /** Adds a peer whose address is not registered yet, as heard from now. */
    void add(Peer peer, long nowNanos) {
        peer.heard(nowNanos);
        Peer old = byAddress.putIfAbsent(peer.address(), peer);
        if (old != null) {
            throw new IllegalStateException(peer.address() + " is already registered");
        }
    }

    /** @return whether the peer was registered (and is not any more) */
    boolean remove(Peer peer) {
        return byAddress.remove(peer.address(), peer);
    }

    int size() {
        return byAddress.size();
    }

    /**
     * Removes every peer not heard from for {@code timeoutNanos} or longer.
     *
     * @return the removed peers, least recently heard first
     */
    List<Peer> expire(long nowNanos, long timeoutNanos) {
        List<Peer> expired = List.of();
        Iterator<Peer> it = byAddress.values().iterator();
        while (it.hasNext()) {
            Peer p = it.next();
            if (nowNanos - p.lastHeardNanos() < timeoutNanos) {
                break;
            }
            it.remove();
            if (expired.isEmpty()) {
                expired = new ArrayList<>();
            }
            expired.add(p);
        }
        return expired;
    }

    /** @return every peer, least recently heard first, after removing them all */
    List<Peer> removeAll() {
        List<Peer> all = new ArrayList<>(byAddress.values());
        byAddress.clear();
        return all;
    }

    @Override
    public String toString() {
        return "PeerTable[" + byAddress.size() + " peers]";
    }
}
