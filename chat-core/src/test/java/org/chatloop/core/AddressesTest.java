package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddressesTest {

    @ParameterizedTest
    @CsvSource({
        "127.0.0.1, 127.0.0.1:9001",
        "::1, [::1]:9001",
        "::, [::]:9001",
        "0:0:0:0:0:0:0:1, [::1]:9001",
        "2001:db8:0:0:0:0:2:1, [2001:db8::2:1]:9001",
        "2001:db8:0:1:1:1:1:1, [2001:db8:0:1:1:1:1:1]:9001", // one zero group stays
        "2001:0:0:1:0:0:0:1, [2001:0:0:1::1]:9001", // the longest run
        "2001:db8:0:0:1:0:0:1, [2001:db8::1:0:0:1]:9001", // the first of equal runs
        "2001:DB8:0:0:0:0:0:0, [2001:db8::]:9001",
        "fe80:0:0:0:0:0:0:0, [fe80::]:9001",
        "::ffff:10.0.0.1, 10.0.0.1:9001", // the JDK maps these to IPv4
    })
    void shouldFormatLikeRfc5952WithBracketsForIpv6(String ip, String expected)
            throws UnknownHostException {
        assertEquals(expected, Addresses.format(new InetSocketAddress(InetAddress.getByName(ip),
                9001)));
    }

    @ParameterizedTest
    @CsvSource({"example.invalid, example.invalid:80"})
    void shouldKeepTheNameOfAnUnresolvedAddress(String host, String expected) {
        assertEquals(expected, Addresses.format(InetSocketAddress.createUnresolved(host, 80)));
    }
}
