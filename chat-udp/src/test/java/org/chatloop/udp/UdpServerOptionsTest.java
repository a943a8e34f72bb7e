package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class UdpServerOptionsTest {
    private final UdpServerOptions d = UdpServerOptions.defaults();

    @Test
    void shouldDefaultToTheDocumentedValues() {
        assertEquals(new UdpServerOptions("127.0.0.1", 9001, 4096, 10_000, Duration.ofSeconds(10),
                65_536, UdpServerOptions.AddressValidation.AUTO, 0, 0, false), d);
    }

    @Test
    void shouldChangeOneSettingPerWither() {
        assertEquals("0.0.0.0", d.withHost("0.0.0.0").host());
        assertEquals(0, d.withPort(0).port());
        assertEquals(100, d.withMaxMessageBytes(100).maxMessageBytes());
        assertEquals(3, d.withMaxClients(3).maxClients());
        assertEquals(Duration.ofSeconds(1), d.withHeartbeatTimeout(Duration.ofSeconds(1))
                .heartbeatTimeout());
        assertEquals(7, d.withMaxQueuedDatagrams(7).maxQueuedDatagrams());
        assertEquals(d.withPort(0).withMaxClients(3), d.withMaxClients(3).withPort(0));
        assertEquals(UdpServerOptions.AddressValidation.ON,
                d.withAddressValidation(UdpServerOptions.AddressValidation.ON).addressValidation());
        assertEquals(5, d.withMaxLinesPerSecond(5).maxLinesPerSecond());
        assertEquals(2, d.withMaxClientsPerIp(2).maxClientsPerIp());
        assertEquals(true, d.withReusePort(true).reusePort());
        assertEquals(d, d.withReusePort(true).withReusePort(false));
    }

    @Test
    void shouldRejectEveryInvalidSetting() {
        assertThrows(NullPointerException.class, () -> d.withHost(null));
        assertThrows(IllegalArgumentException.class, () -> d.withHost(" "));
        assertThrows(IllegalArgumentException.class, () -> d.withPort(-1));
        assertThrows(IllegalArgumentException.class, () -> d.withPort(65_536));
        assertThrows(IllegalArgumentException.class, () -> d.withMaxMessageBytes(0));
        assertThrows(IllegalArgumentException.class, () -> d.withMaxMessageBytes(65_508));
        assertThrows(IllegalArgumentException.class, () -> d.withMaxClients(0));
        assertThrows(IllegalArgumentException.class, () -> d.withMaxQueuedDatagrams(0));
        assertThrows(NullPointerException.class, () -> d.withHeartbeatTimeout(null));
        assertThrows(IllegalArgumentException.class, () -> d.withHeartbeatTimeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> d.withHeartbeatTimeout(Duration.ofSeconds(-1)));
        assertThrows(NullPointerException.class, () -> d.withAddressValidation(null));
        assertThrows(IllegalArgumentException.class, () -> d.withMaxLinesPerSecond(-1));
        assertThrows(IllegalArgumentException.class, () -> d.withMaxClientsPerIp(-1));
    }

    @Test
    void shouldRunExpiryAtLeastOnceASecond() {
        long second = 1_000_000_000L;
        assertEquals(second, DatagramLoop.expiryPeriodNanos(10 * second));
        assertEquals(second / 2, DatagramLoop.expiryPeriodNanos(second));
        assertEquals(10_000_000L, DatagramLoop.expiryPeriodNanos(1_000_000L));
    }
}
