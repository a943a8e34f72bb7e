package org.chatloop.udp;

import static org.chatloop.udp.UdpChatServerTest.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Address validation forced on over loopback ({@code auto} would leave it off there), the rate
 * limit and the limit per IP address.
 */
@Timeout(30)
class UdpAddressValidationTest {
    private UdpChatServer server;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    private void start(UdpServerOptions options) throws IOException {
        server = TestServers.start(options.withPort(0));
    }

    private void startValidating() throws IOException {
        start(UdpServerOptions.defaults()
                .withAddressValidation(UdpServerOptions.AddressValidation.ON));
        assertTrue(server.validatesAddresses());
    }

    private TestPeer peer() {
        TestPeer p = new TestPeer(server.localAddress());
        open.add(p);
        return p;
    }

    private static String tokenOf(String challenge) {
        assertTrue(challenge.matches("\\* verify [A-Za-z0-9_-]{8,64}"), challenge);
        return challenge.substring("* verify ".length());
    }

    /** Pings, answers the challenge, and waits for the welcome. */
    private TestPeer validated() {
        TestPeer p = peer();
        p.send("#ping#");
        String token = tokenOf(p.awaitLine(l -> true));
        p.send("#ping# " + token);
        p.awaitLine(l -> l.startsWith("* welcome " + p.name() + " "));
        return p;
    }

    @Test
    void shouldChallengeANewAddressOnceAndRegisterItWhenItEchoesTheToken() throws IOException {
        startValidating();
        TestPeer a = peer();
        a.send("hello before validation");
        String token = tokenOf(a.awaitLine(l -> true));
        a.assertQuiet(Duration.ofMillis(200)); // exactly one datagram: the challenge
        assertEquals(0, server.clientCount(), "not registered, nothing relayed");
        a.send("#ping# " + token + "\n");
        a.awaitLine(l -> l.startsWith("* welcome " + a.name() + " "));
        assertEquals(1, server.clientCount());

        // Validated clients chat as usual; the token ping is a heartbeat, never relayed.
        TestPeer b = validated();
        a.awaitLine("* " + b.name() + " joined lobby");
        a.send("#ping# " + token);
        b.send("hi a");
        a.awaitLine("<" + b.name() + "> hi a");
        a.send("hi b");
        b.awaitLine("<" + a.name() + "> hi b");
    }

    @Test
    void shouldRefuseAForgedTokenAndOneReplayedFromAnotherAddressWithAFreshChallenge()
            throws IOException {
        startValidating();
        TestPeer owner = peer();
        owner.send("#ping#");
        String ownersToken = tokenOf(owner.awaitLine(l -> true));

        TestPeer thief = peer();
        thief.send("#ping# " + ownersToken);
        String fresh = tokenOf(thief.awaitLine(l -> true));
        assertNotEquals(ownersToken, fresh, "a challenge of its own, for its own address");
        thief.send("#ping# AAAAAAAA");
        tokenOf(thief.awaitLine(l -> true));
        thief.send("#ping# " + "x".repeat(65));
        tokenOf(thief.awaitLine(l -> true));
        assertEquals(0, server.clientCount(), "no token but its own registers an address");

        owner.send("#ping# " + ownersToken);
        owner.awaitLine(l -> l.startsWith("* welcome " + owner.name() + " "));
        assertEquals(1, server.clientCount());
    }

    /**
     * An address that never answers its challenge (a spoofed victim) sends pings and commands
     * whose answers would be large, while a validated client floods its room: counted on the
     * receiving socket, the victim gets at most 3 times the bytes it sent, and only challenges.
     */
    @Test
    void shouldSendANeverAnsweringAddressAtMostThreeTimesItsBytesWhileAValidatedClientFloods()
            throws Exception {
        startValidating();
        TestPeer flooder = validated();
        TestPeer reader = validated();
        flooder.awaitLine("* " + reader.name() + " joined lobby");
        try (DatagramSocket victim = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            victim.setReceiveBufferSize(1 << 20);
            String[] requests = {"#ping#", "#ping#\n", "/who", "/rooms", "/help", "/join lobby",
                "x", "", "#ping# AAAAAAAA", "hello everyone in the lobby"};
            long sent = 0;
            long received = 0;
            int datagrams = 0;
            byte[] buf = new byte[65_536];
            String filler = "p".repeat(100);
            for (int i = 0; i < 2_000; i++) {
                flooder.send(i + " " + filler);
                if (i % 100 == 0) {
                    for (String r : requests) {
                        byte[] b = r.getBytes(StandardCharsets.US_ASCII);
                        victim.send(new DatagramPacket(b, b.length, server.localAddress()));
                        sent += b.length;
                    }
                }
            }
            reader.awaitLine(l -> l.equals("<" + flooder.name() + "> 1999 " + filler));
            // Drain what was sent to the victim, until nothing more comes for 300 ms.
            victim.setSoTimeout(300);
            while (true) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    victim.receive(p);
                } catch (SocketTimeoutException e) {
                    break;
                }
                received += p.getLength();
                datagrams++;
                String text = new String(buf, 0, p.getLength(), StandardCharsets.US_ASCII);
                assertTrue(text.matches("\\* verify [A-Za-z0-9_-]{8}\n"), text);
            }
            System.out.printf("address validation on: unvalidated address sent %d bytes, "
                    + "received %d bytes in %d datagrams: %.2fx%n", sent, received, datagrams,
                    (double) received / sent);
            assertTrue(received > 0, "challenges were sent");
            assertTrue(received <= 3 * sent, received + " bytes received for " + sent + " sent");
            assertEquals(2, server.clientCount(), "the victim was never registered");
        }
    }

    @Test
    void shouldValidateByItselfAsUdpChatClientAndLoseNoLineSentBeforeTheWelcome()
            throws Exception {
        startValidating();
        TestPeer watcher = validated();
        try (UdpChatClient client = UdpChatClient.connect(server.localAddress(),
                Duration.ofSeconds(5))) {
            client.send("right away");
            client.send("and again");
            String me = "127.0.0.1:" + client.localAddress().getPort();
            String first = client.lines().poll(5, TimeUnit.SECONDS);
            assertNotNull(first);
            assertTrue(first.startsWith("* welcome " + me + " "), "no challenge passed on: "
                    + first);
            watcher.awaitLine("* " + me + " joined lobby");
            assertEquals("<" + me + "> right away", watcher.awaitLine(l -> l.startsWith("<")));
            assertEquals("<" + me + "> and again", watcher.awaitLine(l -> l.startsWith("<")));
            watcher.assertQuiet(Duration.ofMillis(200)); // each line once
        }
    }

    @Test
    void shouldRegisterAtOnceOnLoopbackWithAuto() throws IOException {
        start(UdpServerOptions.defaults());
        assertFalse(server.validatesAddresses());
        TestPeer p = peer();
        p.send("#ping#");
        p.awaitLine(l -> l.startsWith("* welcome " + p.name() + " "));
        assertEquals(0, server.challengesSent());
    }

    @Test
    void shouldDropAndCountDatagramsPastTheRateLimit() throws IOException {
        start(UdpServerOptions.defaults().withMaxLinesPerSecond(10));
        TestPeer fast = peer().register();
        TestPeer other = peer().register();
        fast.awaitLine("* " + other.name() + " joined lobby");
        for (int i = 0; i < 50; i++) {
            fast.send("line " + i);
        }
        for (int i = 0; i < 10; i++) {
            assertEquals("<" + fast.name() + "> line " + i,
                    other.awaitLine(l -> l.startsWith("<")), "the burst, in order");
        }
        awaitTrue(() -> server.rateLimitedDatagrams() >= 38, Duration.ofSeconds(5),
                "the rest dropped and counted");
        assertTrue(server.rateLimitedDatagrams() <= 40, "at most the excess dropped: "
                + server.rateLimitedDatagrams());
        fast.send("#ping#"); // heartbeats are not limited
        other.send("other is not limited");
        other.awaitLine("<" + other.name() + "> other is not limited");
    }

    @Test
    void shouldRefuseARegistrationPastTheLimitPerAddress() throws IOException {
        start(UdpServerOptions.defaults().withMaxClientsPerIp(2));
        TestPeer first = peer().register();
        peer().register();
        TestPeer third = peer();
        third.send("#ping#");
        third.awaitLine("! too many connections from your address");
        assertEquals(2, server.clientCount());
        first.send("/quit");
        first.awaitLine("* bye");
        // On a server of several loops the place is given back on first's loop just after
        // "* bye" goes out, and third may be on another loop.
        awaitTrue(() -> server.clientCount() == 1, Duration.ofSeconds(1), "quit removal");
        third.send("#ping#");
        third.awaitLine(l -> l.startsWith("* welcome " + third.name() + " "));
    }
}
