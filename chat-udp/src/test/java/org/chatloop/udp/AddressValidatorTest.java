package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Tokens without sockets: time is an argument. */
class AddressValidatorTest {
    private static final long S = TimeUnit.SECONDS.toNanos(1);
    private final AddressValidator v = new AddressValidator(new SecureRandom());
    private final InetSocketAddress a =
            new InetSocketAddress(InetAddress.getLoopbackAddress(), 4000);

    private static String token(String challenge) {
        assertTrue(challenge.startsWith("* verify ") && challenge.endsWith("\n"), challenge);
        return challenge.substring("* verify ".length(), challenge.length() - 1);
    }

    private boolean valid(InetSocketAddress who, String token, long now) {
        byte[] b = token.getBytes(StandardCharsets.US_ASCII);
        return v.isValid(who, b, 0, b.length, now);
    }

    @Test
    void shouldIssueAShortUrlSafeTokenNoLargerThanThreeTimesAPing() {
        String challenge = v.challenge(a, 0).text();
        assertEquals(AddressValidator.CHALLENGE_BYTES, v.challenge(a, 0).length());
        assertTrue(AddressValidator.CHALLENGE_BYTES <= 3 * "#ping#".length());
        assertTrue(AddressValidator.CHALLENGE_BYTES <= 3 * AddressValidator.MIN_ANSWERED_BYTES);
        assertTrue(token(challenge + "\n").matches("[A-Za-z0-9_-]{8,64}"), challenge);
    }

    @Test
    void shouldAcceptATokenInItsSlotAndTheNextAndRefuseItLater() {
        long issued = 1_005 * S; // 15 s into the slot [990 s, 1020 s)
        String t = token(v.challenge(a, issued).text() + "\n");
        assertTrue(valid(a, t, issued));
        assertTrue(valid(a, t, issued + 44 * S), "the previous slot is still accepted");
        assertFalse(valid(a, t, issued + 45 * S), "expired two slots on");
    }

    @Test
    void shouldRefuseAnotherAddressesTokenAndAForgedOne() {
        String t = token(v.challenge(a, 0).text() + "\n");
        InetSocketAddress otherPort = new InetSocketAddress(a.getAddress(), 4001);
        assertFalse(valid(otherPort, t, 0), "replayed from another port");
        assertNotEquals(t, token(v.challenge(otherPort, 0).text() + "\n"));
        assertFalse(valid(a, "AAAAAAAA", 0));
        assertFalse(valid(a, t.substring(1), 0), "wrong length");
        AddressValidator otherServer = new AddressValidator(new SecureRandom());
        byte[] b = t.getBytes(StandardCharsets.US_ASCII);
        assertFalse(otherServer.isValid(a, b, 0, b.length, 0), "another server's key");
    }

    @Test
    void shouldValidateUnlessBoundToLoopbackWhenAuto() throws Exception {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        InetAddress any = InetAddress.getByName("0.0.0.0");
        InetAddress lan = InetAddress.getByName("192.0.2.1");
        assertFalse(DatagramLoop.validates(UdpServerOptions.AddressValidation.AUTO, loopback));
        assertFalse(DatagramLoop.validates(UdpServerOptions.AddressValidation.AUTO,
                InetAddress.getByName("::1")));
        assertTrue(DatagramLoop.validates(UdpServerOptions.AddressValidation.AUTO, any));
        assertTrue(DatagramLoop.validates(UdpServerOptions.AddressValidation.AUTO, lan));
        assertTrue(DatagramLoop.validates(UdpServerOptions.AddressValidation.ON, loopback));
        assertFalse(DatagramLoop.validates(UdpServerOptions.AddressValidation.OFF, lan));
    }

    @Test
    void shouldRecogniseAPingWithAToken() {
        byte[] p = "#ping# Ab-_09zZ".getBytes(StandardCharsets.US_ASCII);
        assertEquals(7, Datagrams.pingTokenOffset(p, p.length));
        assertTrue(Datagrams.isHeartbeat(p, p.length));
        byte[] bad = "#ping# no spaces".getBytes(StandardCharsets.US_ASCII);
        assertEquals(-1, Datagrams.pingTokenOffset(bad, bad.length));
        assertFalse(Datagrams.isHeartbeat(bad, bad.length));
        byte[] bare = "#ping# ".getBytes(StandardCharsets.US_ASCII);
        assertEquals(-1, Datagrams.pingTokenOffset(bare, bare.length));
        assertEquals("Ab-_09zZ", UdpChatClient.challengeToken("* verify Ab-_09zZ"));
        assertEquals(null, UdpChatClient.challengeToken("* verify not a token"));
        assertEquals(null, UdpChatClient.challengeToken("<x> * verify abcdefgh"));
    }
}
