package org.chatloop.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class AddressCountsTest {

    @Test
    void shouldCountPerAddressAndForgetAnAddressWithItsLastClient() throws Exception {
        InetAddress a = InetAddress.getByName("127.0.0.1");
        InetAddress b = InetAddress.getByName("127.0.0.2");
        AddressCounts counts = new AddressCounts();

        counts.add(a);
        counts.add(a);
        counts.add(b);
        assertEquals(2, counts.count(a));
        assertEquals(1, counts.count(b));
        assertEquals(2, counts.addresses());

        counts.remove(a);
        counts.remove(b);
        counts.remove(b); // one too many: ignored
        assertEquals(1, counts.count(a));
        assertEquals(0, counts.count(b));
        assertEquals(1, counts.addresses());
    }
}
