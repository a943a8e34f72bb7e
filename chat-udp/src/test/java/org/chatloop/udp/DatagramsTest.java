package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DatagramsTest {
    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static int stripped(String s) {
        byte[] b = bytes(s);
        return Datagrams.stripTerminator(b, b.length);
    }

    @Test
    void shouldStripOneTrailingLfOrCrLfAndNothingElse() {
        assertEquals(5, stripped("hello"));
        assertEquals(5, stripped("hello\n"));
        assertEquals(5, stripped("hello\r\n"));
        assertEquals(6, stripped("hello\n\n"));
        assertEquals(6, stripped("hello\r"));
        assertEquals(0, stripped(""));
        assertEquals(0, stripped("\n"));
        assertEquals(0, stripped("\r\n"));
        assertEquals(1, stripped("\r"));
    }

    @Test
    void shouldRecognisePingWithOrWithoutTerminatorOnly() {
        for (String s : new String[] {"#ping#", "#ping#\n", "#ping#\r\n"}) {
            byte[] b = bytes(s);
            assertTrue(Datagrams.isPing(b, Datagrams.stripTerminator(b, b.length)), s);
        }
        for (String s : new String[] {"#ping", "#ping# ", " #ping#", "#PING#", "#ping#\n\n", ""}) {
            byte[] b = bytes(s);
            assertFalse(Datagrams.isPing(b, Datagrams.stripTerminator(b, b.length)), s);
        }
    }

    @Test
    void shouldNameAddressesAsIpColonPort() throws Exception {
        assertEquals("127.0.0.1:9001",
                Datagrams.addressText(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 9001)));
        assertEquals("[::1]:5",
                Datagrams.addressText(new InetSocketAddress(InetAddress.getByName("::1"), 5)));
    }
}
