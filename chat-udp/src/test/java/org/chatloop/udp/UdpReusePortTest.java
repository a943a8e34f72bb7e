package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link UdpServerOptions#reusePort()}: several servers on one port, as cluster nodes. */
@Timeout(30)
class UdpReusePortTest {
    private static final UdpServerOptions OPTIONS = UdpServerOptions.defaults().withPort(0);

    private final List<UdpChatServer> servers = new ArrayList<>();
    private final List<TestPeer> peers = new ArrayList<>();

    @BeforeAll
    static void requireReusePort() throws IOException {
        try (DatagramChannel ch = DatagramChannel.open()) {
            assumeTrue(ch.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT),
                    "SO_REUSEPORT is not supported on this platform");
        }
    }

    @AfterEach
    void tearDown() {
        for (TestPeer p : peers) {
            p.close();
        }
        for (UdpChatServer s : servers) {
            s.stop();
        }
    }

    private UdpChatServer start(UdpServerOptions options) throws IOException {
        UdpChatServer s = UdpChatServer.start(options);
        servers.add(s);
        return s;
    }

    @Test
    void shouldLetTwoServersWithReusePortBindOnePortAndWelcomeEverySource() throws IOException {
        UdpChatServer first = start(OPTIONS.withReusePort(true));
        int port = first.port();
        UdpChatServer second = start(OPTIONS.withReusePort(true).withPort(port));
        assertEquals(port, second.port());

        for (int i = 0; i < 20; i++) {
            TestPeer p = new TestPeer(first.localAddress());
            peers.add(p);
            p.register(); // fails unless one of the two welcomes it in time
        }
        // Each source is registered with one of the two (which one is the kernel's hash).
        UdpChatServerTest.awaitTrue(() -> first.clientCount() + second.clientCount() == 20,
                Duration.ofSeconds(10), "20 sources over both servers");
    }

    @Test
    void shouldRefuseASecondServerWithoutReusePort() throws IOException {
        UdpChatServer first = start(OPTIONS.withReusePort(true));
        IOException e = assertThrows(IOException.class,
                () -> start(OPTIONS.withPort(first.port())));
        assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("in use"),
                "address in use: " + e);
        // The first server still serves.
        TestPeer p = new TestPeer(first.localAddress());
        peers.add(p);
        p.register();
    }

    @Test
    void shouldRefuseReusePortNextToAServerWithoutIt() throws IOException {
        UdpChatServer first = start(OPTIONS);
        assertThrows(IOException.class,
                () -> start(OPTIONS.withReusePort(true).withPort(first.port())));
    }
}
