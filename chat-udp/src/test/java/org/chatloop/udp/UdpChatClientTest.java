package org.chatloop.udp;

import static org.chatloop.udp.UdpChatServerTest.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class UdpChatClientTest {
    /**
     * The clients' heartbeat: well under the server's 1 s timeout, so that no test depends on how
     * fast the machine gets from one client's registration to the next step.
     */
    private static final Duration HEARTBEAT = Duration.ofMillis(200);
    private UdpChatServer server;

    @BeforeEach
    void startServer() throws Exception {
        server = TestServers.start(UdpServerOptions.defaults().withPort(0)
                .withHeartbeatTimeout(Duration.ofSeconds(1)));
    }

    @AfterEach
    void stopServer() {
        server.stop();
    }

    private static String next(BlockingQueue<String> lines) throws InterruptedException {
        String line = lines.poll(5, TimeUnit.SECONDS);
        assertNotNull(line, "no line within 5 s");
        return line;
    }

    @Test
    void shouldRegisterAtOnceAndSendAndReceiveLines() throws Exception {
        try (UdpChatClient client = UdpChatClient.connect(server.localAddress(), HEARTBEAT)) {
            String me = "127.0.0.1:" + client.localAddress().getPort();
            assertEquals("* welcome " + me + " (room lobby; /nick NAME to rename, /help for commands)",
                    next(client.lines()));
            client.send("hello");
            assertEquals("<" + me + "> hello", next(client.lines()));
            client.send("/nick carol");
            assertEquals("* " + me + " is now known as carol", next(client.lines()));
            assertEquals(server.localAddress(), client.serverAddress());
        }
    }

    @Test
    void shouldSendTheFirstMessageWithoutWaitingForTheWelcome() throws Exception {
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        try (UdpChatClient client = UdpChatClient.connect(server.localAddress(),
                HEARTBEAT, got::add)) {
            client.send("right away");
            assertTrue(next(got).startsWith("* welcome "));
            assertTrue(next(got).endsWith("> right away"));
            assertThrows(IllegalStateException.class, client::lines);
        }
    }

    @Test
    void shouldStayRegisteredPastTheServerTimeoutByHeartbeatsAlone() throws Exception {
        try (UdpChatClient client = UdpChatClient.connect(server.localAddress(), HEARTBEAT)) {
            assertTrue(next(client.lines()).startsWith("* welcome "));
            long until = System.nanoTime() + Duration.ofMillis(2_500).toNanos();
            while (System.nanoTime() < until) {
                assertEquals(1, server.clientCount(), "expired despite heartbeats");
                Thread.sleep(50);
            }
            assertEquals(null, client.lines().poll(), "a refresh is answered by nothing");
        }
        // Closed without /quit: its heartbeats stop and the server times it out.
        awaitTrue(() -> server.clientCount() == 0, Duration.ofSeconds(3), "expiry after close");
    }

    @Test
    void shouldEndItsLoopThreadOnCloseAndIgnoreLaterSends() throws Exception {
        UdpChatClient client = UdpChatClient.connect(server.localAddress(), HEARTBEAT);
        String threadName = "chat-udp-client-" + client.localAddress().getPort();
        assertTrue(threadExists(threadName));
        client.send("/quit");
        assertTrue(next(client.lines()).startsWith("* welcome "));
        assertEquals("* bye", next(client.lines()));
        client.close();
        client.close();
        assertFalse(threadExists(threadName));
        client.send("ignored");
        awaitTrue(() -> server.clientCount() == 0, Duration.ofSeconds(1), "quit");
    }

    @Test
    void shouldHearOtherClientsInTheRoom() throws Exception {
        try (UdpChatClient a = UdpChatClient.connect(server.localAddress(), HEARTBEAT)) {
            // a is in the lobby before b arrives: on two loops, a join at the same moment as
            // another loop's is not ordered with it (its notice may go out before a is there).
            assertTrue(next(a.lines()).startsWith("* welcome "));
            UdpChatClient b = UdpChatClient.connect(server.localAddress(), HEARTBEAT);
            try {
                assertTrue(next(b.lines()).startsWith("* welcome "));
                String bName = "127.0.0.1:" + b.localAddress().getPort();
                assertEquals("* " + bName + " joined lobby", next(a.lines()));
                b.send("hi a");
                assertEquals("<" + bName + "> hi a", next(a.lines()));
            } finally {
                b.close();
            }
        }
    }

    @Test
    void shouldRejectBadArguments() {
        InetSocketAddress addr = server.localAddress();
        assertThrows(IllegalArgumentException.class,
                () -> UdpChatClient.connect(addr, Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> UdpChatClient.connect(InetSocketAddress.createUnresolved("x", 1),
                        Duration.ofSeconds(1)));
        assertThrows(NullPointerException.class,
                () -> UdpChatClient.connect(addr, Duration.ofSeconds(1), null));
    }

    private static boolean threadExists(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals(name) && t.isAlive());
    }
}
