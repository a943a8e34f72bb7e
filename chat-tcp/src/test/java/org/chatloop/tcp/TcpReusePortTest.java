package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link TcpServerOptions#reusePort()}: several servers on one port, as cluster nodes. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpReusePortTest {
    private static final TcpServerOptions OPTIONS = TcpServerOptions.defaults().withPort(0)
            .withShutdownFlushTimeout(Duration.ofSeconds(1));

    private final List<TcpChatServer> servers = new ArrayList<>();
    private final List<LineClient> clients = new ArrayList<>();

    @BeforeAll
    static void requireReusePort() throws IOException {
        try (ServerSocketChannel ch = ServerSocketChannel.open()) {
            assumeTrue(ch.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT),
                    "SO_REUSEPORT is not supported on this platform");
        }
    }

    @AfterEach
    void tearDown() throws IOException {
        for (LineClient c : clients) {
            c.close();
        }
        for (TcpChatServer s : servers) {
            s.stop();
        }
    }

    private TcpChatServer start(TcpServerOptions options) throws IOException {
        TcpChatServer s = TestServers.start(options);
        servers.add(s);
        return s;
    }

    @Test
    void shouldBeOffByDefault() {
        assertFalse(TcpServerOptions.defaults().reusePort());
        assertTrue(OPTIONS.withReusePort(true).reusePort());
        assertEquals(OPTIONS, OPTIONS.withReusePort(true).withReusePort(false));
        assertTrue(OPTIONS.withReusePort(true).withPort(5).withMaxClients(3).reusePort(),
                "the other withers keep reusePort");
    }

    @Test
    void shouldLetTwoServersWithReusePortBindOnePortAndWelcomeEveryClient() throws IOException {
        TcpChatServer first = start(OPTIONS.withReusePort(true));
        int port = first.port();
        TcpChatServer second = start(OPTIONS.withReusePort(true).withPort(port));
        assertEquals(port, second.port());

        for (int i = 0; i < 20; i++) {
            LineClient c = new LineClient(port);
            clients.add(c);
            c.expect(l -> l.startsWith("* welcome ")); // fails unless welcomed in time
        }
        // Every client was accepted by one of the two (how the kernel spreads them is its hash).
        TcpChatServerTest.await("20 connections over both servers",
                () -> first.connectionCount() + second.connectionCount() == 20);
    }

    @Test
    void shouldRefuseASecondServerWithoutReusePort() throws IOException {
        TcpChatServer first = start(OPTIONS.withReusePort(true));
        IOException e = assertThrows(IOException.class,
                () -> start(OPTIONS.withPort(first.port())));
        assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("in use"),
                "address in use: " + e);
        // The first server still serves.
        LineClient c = LineClient.joined(first.port());
        clients.add(c);
    }

    @Test
    void shouldRefuseReusePortNextToAServerWithoutIt() throws IOException {
        TcpChatServer first = start(OPTIONS);
        assertThrows(IOException.class,
                () -> start(OPTIONS.withReusePort(true).withPort(first.port())));
    }
}
