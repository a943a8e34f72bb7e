package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A flood of {@code #ping#} from more source ports than the server takes: it registers exactly up
 * to its limit, answers every other source {@code ! server full}, and goes on serving the clients
 * it has.
 */
@Timeout(30)
class UdpPingFloodTest {
    private static final int MAX_CLIENTS = 200;
    private static final int SOURCES = 300;

    private UdpChatServer server;
    private TestPeer keeper;

    @AfterEach
    void tearDown() {
        if (keeper != null) {
            keeper.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void shouldRegisterUpToTheLimitAnswerTheRestServerFullAndKeepServing() throws Exception {
        server = TestServers.start(UdpServerOptions.defaults().withPort(0)
                .withMaxClients(MAX_CLIENTS));
        keeper = new TestPeer(server.localAddress()).register();
        try (ClientSwarm swarm = new ClientSwarm(server.localAddress(), SOURCES)) {
            // Every source pings at once, with no pause; sources whose ping the kernel dropped
            // ping again until each has had an answer.
            swarm.floodPings(Duration.ofSeconds(15));
            assertEquals(MAX_CLIENTS - 1, swarm.welcomedCount(), "registered up to the limit");
            assertEquals(SOURCES - (MAX_CLIENTS - 1), swarm.fullCount(), "the rest told full");
            assertEquals(0, swarm.welcomedAndFullCount());
            assertEquals(MAX_CLIENTS, server.clientCount());

            // A second wave from every source while the registered client talks: refreshes for
            // the registered ones, "server full" again for the others, and the client is served.
            swarm.pingAll();
            keeper.send("still here");
            assertEquals("<" + keeper.name() + "> still here",
                    keeper.awaitLine(l -> l.startsWith("<" + keeper.name() + "> ")));
            swarm.drainFor(Duration.ofMillis(300));
            assertEquals(MAX_CLIENTS - 1, swarm.welcomedCount(), "no one registered twice");
            assertEquals(MAX_CLIENTS, server.clientCount());
            keeper.send("/who");
            String who = keeper.awaitLine(l -> l.startsWith("* in lobby ("));
            assertTrue(who.startsWith("* in lobby (" + MAX_CLIENTS + "): "), who);
        }
    }
}
