package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.mock;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class PeerTableTest {
    private static final long TIMEOUT = 10_000;
    private final Peer.Owner owner = mock(Peer.Owner.class);
    private final PeerTable table = new PeerTable();

    private Peer peer(int port, long now) {
        Peer p = new Peer(new InetSocketAddress("127.0.0.1", port), owner, now);
        table.add(p, now);
        return p;
    }

    @Test
    void shouldExpireOnlyPeersSilentForTheTimeoutLeastRecentlyHeardFirst() {
        Peer a = peer(1, 0);
        Peer b = peer(2, 100);
        Peer c = peer(3, 200);
        assertSame(a, table.heardFrom(a.address(), 5_000));

        assertEquals(List.of(), table.expire(10_099, TIMEOUT));
        assertEquals(List.of(b), table.expire(10_100, TIMEOUT));
        assertEquals(List.of(c, a), table.expire(15_000, TIMEOUT));
        assertEquals(0, table.size());
    }

    @Test
    void shouldKnowOnlyRegisteredAddressesAndEachOnce() {
        Peer a = peer(1, 0);
        assertNull(table.heardFrom(new InetSocketAddress("127.0.0.1", 2), 1));
        assertThrows(IllegalStateException.class,
                () -> table.add(new Peer(new InetSocketAddress("127.0.0.1", 1), owner, 0), 0));
        assertEquals(1, table.size());
        assertTrue(table.remove(a));
        assertFalse(table.remove(a));
        assertNull(table.heardFrom(a.address(), 2));
    }

    @Test
    void shouldHandEveryPeerBackOnRemoveAll() {
        Peer a = peer(1, 0);
        Peer b = peer(2, 0);
        assertEquals(List.of(a, b), table.removeAll());
        assertEquals(0, table.size());
    }
}
