package org.chatloop.udp;

import java.net.InetAddress;
import java.util.List;
import org.chatloop.loop.AddressCounts;

/**
 * The bounds on registered clients that a {@link UdpChatServer} keeps over all its sockets, one
 * per loop: at most {@link UdpServerOptions#maxClients()} in all and at most
 * {@link UdpServerOptions#maxClientsPerIp()} from one IP address (0: no limit), whichever
 * socket each source address reaches. A registration takes a place before its peer is added and
 * gives it back when the peer is removed.
 *
 * <p>Thread safe: the sockets' loops call it only to register or remove a peer (never for a
 * datagram of a registered one), under one short lock; {@link #count()} reads a volatile.
 */
final class ClientLimits {
    /** What {@link #admit} decided. */
    enum Admission {
        /** A place is taken: register the address. */
        ADMITTED,
        /** {@code maxClients} are registered. */
        SERVER_FULL,
        /** {@code maxClientsPerIp} are registered from the address's IP. */
        TOO_MANY_FROM_ADDRESS
    }

    private final int maxClients;
    private final int maxPerIp;
    /** Registered clients per IP address; guarded by this, and only kept if maxPerIp > 0. */
    private final AddressCounts perIp = new AddressCounts();
    /** Registered clients on every socket; written under the lock. */
    private volatile int count;

    ClientLimits(UdpServerOptions options) {
        this.maxClients = options.maxClients();
        this.maxPerIp = options.maxClientsPerIp();
    }

    /** Takes a place for a new registration from {@code ip}, if the limits allow. */
    synchronized Admission admit(InetAddress ip) {
        if (count >= maxClients) {
            return Admission.SERVER_FULL;
        }
        if (maxPerIp > 0) {
            if (perIp.count(ip) >= maxPerIp) {
                return Admission.TOO_MANY_FROM_ADDRESS;
            }
            perIp.add(ip);
        }
        count++;
        return Admission.ADMITTED;
    }

    /** Gives back the places of peers just removed. */
    synchronized void release(List<Peer> removed) {
        if (removed.isEmpty()) {
            return;
        }
        if (maxPerIp > 0) {
            for (Peer p : removed) {
                perIp.remove(p.address().getAddress());
            }
        }
        count -= removed.size();
    }

    /** @return the clients registered now, on every socket; safe from any thread */
    int count() {
        return count;
    }

    @Override
    public String toString() {
        return "ClientLimits[" + count + " of " + maxClients
                + (maxPerIp > 0 ? ", " + maxPerIp + " per IP" : "") + "]";
    }
}
