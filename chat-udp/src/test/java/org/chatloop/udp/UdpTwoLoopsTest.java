package org.chatloop.udp;

import static org.chatloop.udp.UdpChatServerTest.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.chatloop.core.HubGroup;
import org.chatloop.core.HubOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A server on two loops: a socket each on one port ({@code SO_REUSEPORT}), to which the kernel
 * sends each source address for good, so that every client is registered once, on one loop, and
 * its room spans both.
 */
@Timeout(60)
class UdpTwoLoopsTest {
    private static final UdpServerOptions OPTIONS = UdpServerOptions.defaults().withPort(0);
    private static final int CLIENTS = 20;
    private static final Duration QUIET = Duration.ofMillis(50);

    private final List<UdpChatServer> servers = new ArrayList<>();
    private final List<TestPeer> peers = new ArrayList<>();
    private HubGroup group;

    @BeforeAll
    static void requireReusePort() throws IOException {
        try (DatagramChannel ch = DatagramChannel.open()) {
            assumeTrue(ch.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT),
                    "SO_REUSEPORT is not supported on this platform");
        }
    }

    @AfterEach
    void tearDown() {
        peers.forEach(TestPeer::close);
        servers.forEach(UdpChatServer::stop);
        if (group != null) {
            group.stop();
        }
    }

    private UdpChatServer start(UdpServerOptions options) throws IOException {
        UdpChatServer s = UdpChatServer.start(options, HubOptions.defaults(), 2);
        servers.add(s);
        return s;
    }

    /** Registers {@code n} peers, each from a port of its own, each welcomed under its name. */
    private List<TestPeer> register(InetSocketAddress server, int n) {
        List<TestPeer> made = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            TestPeer p = new TestPeer(server);
            peers.add(p);
            made.add(p.register());
        }
        return made;
    }

    /** @return the next {@code n} chat lines ({@code <NAME> TEXT}) the peer receives */
    private static List<String> chatLines(TestPeer p, int n) {
        List<String> lines = new ArrayList<>();
        while (lines.size() < n) {
            lines.add(p.awaitLine(l -> l.startsWith("<")));
        }
        return lines;
    }

    private static long count(TestPeer p, String prefix) {
        return p.seen().stream().filter(d -> d.startsWith(prefix)).count();
    }

    private static void assertOnBothSockets(UdpChatServer server) {
        int on0 = server.socket(0).clientCount();
        int on1 = server.socket(1).clientCount();
        // All 20 on one socket would be a 1 in 2^19 hash, or no spreading at all.
        assertTrue(on0 > 0 && on1 > 0, "clients spread over both sockets: " + on0 + " + " + on1);
    }

    @Test
    void shouldRegisterTwentySourcesOnceEachAndReachEveryMemberAcrossBothLoopsInOrder()
            throws Exception {
        UdpChatServer server = start(OPTIONS);
        assertEquals(2, server.socketCount());
        assertEquals(server.port(), server.socket(1).localAddress().getPort());
        List<TestPeer> all = register(server.localAddress(), CLIENTS);
        awaitTrue(() -> server.clientCount() == CLIENTS, Duration.ofSeconds(5), "20 registered");
        int on0 = server.socket(0).clientCount();
        int on1 = server.socket(1).clientCount();
        assertEquals(CLIENTS, on0 + on1);
        assertOnBothSockets(server);

        // Every member gets every member's line, whichever loop each is on.
        Set<String> said = new HashSet<>();
        for (int i = 0; i < CLIENTS; i++) {
            all.get(i).send("hello from " + i);
            said.add("<" + all.get(i).name() + "> hello from " + i);
        }
        for (TestPeer p : all) {
            assertEquals(said, new HashSet<>(chatLines(p, CLIENTS)), p.name());
        }

        // Each asks /who once: each gets its own answer, listing all 20.
        Set<String> names = new HashSet<>();
        all.forEach(p -> names.add(p.name()));
        for (TestPeer p : all) {
            p.send("/who");
        }
        String prefix = "* in lobby (" + CLIENTS + "): ";
        for (TestPeer p : all) {
            String who = p.awaitLine(l -> l.startsWith("* in lobby ("));
            assertTrue(who.startsWith(prefix), who);
            assertEquals(names, new HashSet<>(Arrays.asList(
                    who.substring(prefix.length()).split(", "))));
        }

        // A few keep talking, 50 lines each: they keep reaching the registration they have.
        List<TestPeer> talkers = all.subList(0, 4);
        for (int j = 0; j < 50; j++) {
            for (TestPeer t : talkers) {
                t.send("line " + j);
            }
        }
        for (TestPeer p : all) {
            Map<String, Integer> next = new HashMap<>();
            for (String line : chatLines(p, 50 * talkers.size())) {
                String sender = line.substring(1, line.indexOf('>'));
                int j = Integer.parseInt(line.substring(line.lastIndexOf(' ') + 1));
                int expected = next.getOrDefault(sender, 0);
                assertEquals(expected, j, p.name() + " got " + sender + "'s lines out of order");
                next.put(sender, j + 1);
            }
            assertEquals(talkers.size(), next.size(), p.name() + " heard every talker");
        }
        for (TestPeer p : all) {
            p.assertQuiet(QUIET);
            assertEquals(1, count(p, "* welcome "), p.name() + " welcomed once: " + p.seen());
            assertEquals(1, count(p, "* in lobby ("), p.name() + " got one /who answer, its own");
        }
        assertEquals(CLIENTS, server.clientCount());
        assertEquals(on0, server.socket(0).clientCount(), "no one moved to another socket");
        assertEquals(on1, server.socket(1).clientCount(), "no one moved to another socket");
        assertEquals(0, server.droppedDatagrams());
    }

    @Test
    void shouldTellTheClientsOfBothSocketsWhenStoppingAndCloseEveryOne() throws Exception {
        UdpChatServer server = start(OPTIONS);
        List<TestPeer> all = register(server.localAddress(), CLIENTS);
        assertOnBothSockets(server);
        server.stop();
        for (TestPeer p : all) {
            p.awaitLine("* server shutting down");
        }
        assertTrue(server.isClosed());
        assertEquals(0, server.clientCount());
        // Every socket of the port is closed: a socket without SO_REUSEPORT may bind it again.
        try (DatagramSocket again = new DatagramSocket(server.localAddress())) {
            assertEquals(server.port(), again.getLocalPort());
        }
    }

    @Test
    void shouldKeepTheClientLimitOverBothSockets() throws Exception {
        UdpChatServer server = start(OPTIONS.withMaxClients(CLIENTS));
        register(server.localAddress(), CLIENTS);
        assertOnBothSockets(server);
        for (int i = 0; i < 6; i++) {
            TestPeer late = new TestPeer(server.localAddress());
            peers.add(late);
            late.send("#ping#");
            assertEquals("! server full", late.awaitLine(l -> true));
        }
        assertEquals(CLIENTS, server.clientCount());
    }

    @Test
    void shouldServeAGroupItIsAttachedToAndLeaveItsLoopsRunning() throws Exception {
        group = HubGroup.create(2, HubOptions.defaults());
        UdpChatServer server = UdpChatServer.attach(group, OPTIONS);
        group.startLoops("udp-two-loops-test");
        assertEquals(2, server.socketCount());
        List<TestPeer> all = register(server.localAddress(), CLIENTS);
        assertOnBothSockets(server);
        all.get(0).send("across");
        for (TestPeer p : all) {
            assertEquals("<" + all.get(0).name() + "> across", chatLines(p, 1).get(0));
        }
        server.stop();
        for (TestPeer p : all) {
            p.awaitLine("* server shutting down");
        }
        assertTrue(!group.loop(0).isStopping() && !group.loop(1).isStopping(), "loops go on");
    }

    @Test
    void shouldRefuseAPortThatIsTakenUnlessAskedToShareIt() throws Exception {
        UdpChatServer first = start(OPTIONS);
        IOException e = assertThrows(IOException.class,
                () -> start(OPTIONS.withPort(first.port())));
        assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("in use"), e.toString());
        try (DatagramSocket plain = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            assertThrows(IOException.class,
                    () -> start(OPTIONS.withPort(plain.getLocalPort())));
        }
        register(first.localAddress(), 1); // the first still serves
    }

    @Test
    void shouldMakeOneReusePortGroupOfEverySocketOfTwoServers() throws Exception {
        UdpChatServer first = start(OPTIONS.withReusePort(true));
        UdpChatServer second = start(OPTIONS.withReusePort(true).withPort(first.port()));
        register(first.localAddress(), CLIENTS); // each welcomed by one of the four sockets
        awaitTrue(() -> first.clientCount() + second.clientCount() == CLIENTS,
                Duration.ofSeconds(5), "20 sources over both servers");
        for (TestPeer p : peers) {
            while (p.receive(QUIET) != null) {
                // the joins of those after it, on whichever server they are
            }
            assertEquals(1, count(p, "* welcome "), p.name() + " welcomed once: " + p.seen());
        }
    }
}
