package org.chatloop.tcp;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import org.chatloop.loop.AddressCounts;

/**
 * Counts open connections per remote IP address (not per port) and refuses one past the limit.
 * Memory is one entry per address with a connection open, removed with its last connection, so
 * it is bounded by the open connections. A limit of 0 counts nothing.
 *
 * <p>Not thread safe: owned by the server's loop thread.
 */
final class PerAddressLimit {
    private final int limit;
    private final AddressCounts counts = new AddressCounts();
    private final Map<Object, InetAddress> owners = new HashMap<>();

    /** @param limit connections per address at most, 0 for no limit */
    PerAddressLimit(int limit) {
        this.limit = limit;
    }

    /**
     * Admits a connection from the address if the address is under the limit.
     *
     * @param owner the connection, to be passed to {@link #release} when it ends
     * @return whether it is admitted
     */
    boolean admit(Object owner, InetAddress address) {
        if (limit == 0) {
            return true;
        }
        if (counts.count(address) >= limit) {
            return false;
        }
        counts.add(address);
        owners.put(owner, address);
        return true;
    }

    /** The connection ended: forgets it (harmless if never admitted, or released twice). */
    void release(Object owner) {
        if (limit == 0) {
            return;
        }
        InetAddress address = owners.remove(owner);
        if (address == null) {
            return;
        }
        counts.remove(address);
    }

    /** @return addresses with a connection open */
    int addresses() {
        return counts.addresses();
    }

    @Override
    public String toString() {
        return "PerAddressLimit[" + (limit == 0 ? "off" : limit + " per address, "
                + counts.addresses() + " addresses") + "]";
    }
}
