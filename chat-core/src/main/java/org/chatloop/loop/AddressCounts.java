package org.chatloop.loop;

import java.net.InetAddress;
import java.util.HashMap;

/**
 * How many clients each IP address has now (whatever their ports), for per-address limits: one
 * entry per address with at least one client, removed with its last, so memory is bounded by the
 * clients. Used by the TCP server's connection limit and the UDP server's registration limit.
 *
 * <p>Not thread safe: owned by one loop thread.
 */
public final class AddressCounts {
    private final HashMap<InetAddress, int[]> counts = new HashMap<>();

    /** Creates an empty count. */
    public AddressCounts() {
    }

    /** @param address one more client from this address */
    public void add(InetAddress address) {
        counts.computeIfAbsent(address, a -> new int[1])[0]++;
    }

    /** @param address one client less from this address (ignored if it has none) */
    public void remove(InetAddress address) {
        int[] n = counts.get(address);
        if (n != null && --n[0] == 0) {
            counts.remove(address);
        }
    }

    /** @return the clients from this address now */
    public int count(InetAddress address) {
        int[] n = counts.get(address);
        return n == null ? 0 : n[0];
    }

    /** @return the addresses with at least one client */
    public int addresses() {
        return counts.size();
    }

    /** Forgets every count. */
    public void clear() {
        counts.clear();
    }

    @Override
    public String toString() {
        return "AddressCounts[" + counts.size() + " addresses]";
    }
}
