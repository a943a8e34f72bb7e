package org.chatloop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.chatloop.core.HubOptions;
import org.chatloop.tcp.TcpServerOptions;
import org.chatloop.tcp.WebSocketOptions;
import org.chatloop.udp.UdpServerOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** One process, one hub: TCP, UDP and WebSocket clients (and the seed's own) in the same rooms. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ChatServerTest {
    private ChatServer server;
    private final List<AutoCloseable> clients = new ArrayList<>();

    static ChatServerOptions allOnFreePorts() {
        return new ChatServerOptions(TcpServerOptions.defaults().withPort(0),
                UdpServerOptions.defaults().withPort(0), TcpServerOptions.defaults().withPort(0),
                WebSocketOptions.defaults(), HubOptions.defaults());
    }

    private <T extends AutoCloseable> T add(T c) {
        clients.add(c);
        return c;
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : clients) {
            c.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    /** Joins, renames to {@code nick} and waits until the rename is confirmed. */
    private static <T extends InteropPeers.Peer> T named(T c, String nick) throws Exception {
        c.lines.expect(l -> l.startsWith("* welcome "));
        c.send("/nick " + nick);
        c.lines.expect(l -> l.endsWith(" is now known as " + nick));
        return c;
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0} loop(s)")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
    void tcpUdpAndWebSocketClientsChatInOneRoom(int loops) throws Exception {
        server = ChatServer.start(allOnFreePorts(), loops);
        assertEquals(loops, server.loopCount());
        InteropPeers.Tcp nc = add(named(
                new InteropPeers.Tcp(server.tcpAddress().orElseThrow()), "nc"));
        InteropPeers.Udp udp = new InteropPeers.Udp(server.udpAddress().orElseThrow());
        add(udp);
        udp.send("#ping#");
        named(udp, "udp");
        InteropPeers.Ws ws = add(named(
                new InteropPeers.Ws(server.httpAddress().orElseThrow()), "web"));
        nc.lines.expect(l -> l.endsWith(" is now known as web"));

        nc.send("hello from nc");
        udp.lines.expectLine("<nc> hello from nc");
        ws.lines.expectLine("<nc> hello from nc");
        udp.send("hello from nc -u");
        nc.lines.expectLine("<udp> hello from nc -u");
        ws.lines.expectLine("<udp> hello from nc -u");
        ws.send("hello from a browser");
        nc.lines.expectLine("<web> hello from a browser");
        udp.lines.expectLine("<web> hello from a browser");

        ws.send("/join upstairs");
        // web is in the room before udp joins: on two loops, joins at the same moment on two
        // loops are not ordered with each other (see the README's architecture section).
        ws.lines.expect(l -> l.equals("* web joined upstairs"));
        udp.send("/join upstairs");
        ws.lines.expect(l -> l.equals("* udp joined upstairs"));
        udp.send("/who");
        udp.lines.expect(l -> l.startsWith("* in upstairs (2): ") && l.contains("udp")
                && l.contains("web"));
        ws.send("/msg nc psst");
        nc.lines.expectLine("[private] <web> psst");
    }

    @Test
    void theSeedsOwnClientsChatWithABrowserThroughOneServer(@TempDir Path dir) throws Exception {
        String python = findPython();
        assumeTrue(python != null, "python3 is not installed; the seed's clients cannot run");
        server = ChatServer.start(allOnFreePorts());
        Path tcpScript = dir.resolve("tcp_chat_client.py");
        Files.copy(Path.of("../chat-tcp/src/test/resources/seed/tcp_chat_client.py"), tcpScript);
        Path udpScript = dir.resolve("udp_chat_client.py");
        try (InputStream in = getClass().getResourceAsStream("/seed/udp_chat_client.py")) {
            Files.copy(in, udpScript);
        }
        InteropPeers.Ws web = add(named(
                new InteropPeers.Ws(server.httpAddress().orElseThrow()), "web"));
        InteropPeers.Process seedTcp = add(new InteropPeers.Process("seed tcp client",
                List.of(python, "-u", tcpScript.toString(), "127.0.0.1",
                String.valueOf(server.tcpAddress().orElseThrow().getPort()))));
        web.lines.expect(l -> l.endsWith(" joined lobby"));
        seedTcp.send("/nick seedtcp");
        web.lines.expect(l -> l.endsWith(" is now known as seedtcp"));
        InteropPeers.Process seedUdp = add(new InteropPeers.Process("seed udp client",
                List.of(python, "-u", udpScript.toString(), "127.0.0.1",
                String.valueOf(server.udpAddress().orElseThrow().getPort()))));
        // The seed's UDP client registers with its first heartbeat, 5 s after it starts.
        seedUdp.lines.expectLine("Please start speaking");
        web.lines.expect(l -> l.endsWith(" joined lobby"));
        seedUdp.send("/nick seedudp");
        web.lines.expect(l -> l.endsWith(" is now known as seedudp"));

        seedTcp.send("hello from the seed over tcp");
        web.lines.expectLine("<seedtcp> hello from the seed over tcp");
        seedUdp.lines.expect(l -> l.equals("<seedtcp> hello from the seed over tcp"));
        seedUdp.send("hello from the seed over udp");
        web.lines.expectLine("<seedudp> hello from the seed over udp");
        seedTcp.lines.expect(l -> l.contains("<seedudp> hello from the seed over udp"));
        web.send("hello seeds");
        seedTcp.lines.expect(l -> l.contains("<web> hello seeds"));
        seedUdp.lines.expect(l -> l.equals("<web> hello seeds"));

        seedTcp.send("/quit");
        web.lines.expectLine("* seedtcp left (quit)");
        assertTrue(seedTcp.awaitExit(), "the seed's TCP client ends after /quit");
    }

    @Test
    void aListenerThatCannotBindSaysWhichAndLeavesNothingRunning() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int udpPort;
            try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                udpPort = probe.getLocalPort();
            }
            ChatServerOptions options = new ChatServerOptions(
                    TcpServerOptions.defaults().withPort(0),
                    UdpServerOptions.defaults().withPort(udpPort),
                    TcpServerOptions.defaults().withPort(taken.getLocalPort()),
                    WebSocketOptions.defaults(), HubOptions.defaults());
            ChatServer.ListenerException e = assertThrows(ChatServer.ListenerException.class,
                    () -> ChatServer.start(options));
            assertEquals("http", e.listener());
            // The UDP socket bound before the failure was released.
            try (DatagramSocket again = new DatagramSocket(
                    new InetSocketAddress("127.0.0.1", udpPort))) {
                assertTrue(again.isBound());
            }
        }
    }

    @Test
    void aListenerThatIsOffIsNotBound() throws Exception {
        server = ChatServer.start(new ChatServerOptions(null, null,
                TcpServerOptions.defaults().withPort(0), WebSocketOptions.defaults(),
                HubOptions.defaults()));
        assertFalse(server.tcpAddress().isPresent());
        assertFalse(server.udpAddress().isPresent());
        add(named(new InteropPeers.Ws(server.httpAddress().orElseThrow()), "alone"));
        assertThrows(IllegalArgumentException.class, () -> new ChatServerOptions(null, null, null,
                WebSocketOptions.defaults(), HubOptions.defaults()));
    }

    @Test
    void theHubsRepliesFitTheShortestLineAnyListenerAccepts() throws Exception {
        server = ChatServer.start(new ChatServerOptions(
                TcpServerOptions.defaults().withPort(0).withMaxLineBytes(300),
                UdpServerOptions.defaults().withPort(0),
                TcpServerOptions.defaults().withPort(0), WebSocketOptions.defaults(),
                HubOptions.defaults()));
        InteropPeers.Ws ws = add(named(
                new InteropPeers.Ws(server.httpAddress().orElseThrow()), "w"));
        for (int i = 0; i < 40; i++) {
            add(new InteropPeers.Tcp(server.tcpAddress().orElseThrow())).lines.expect(
                    l -> l.startsWith("* welcome "));
        }
        ws.send("/who");
        String who = ws.lines.expect(l -> l.startsWith("* in lobby ("));
        assertTrue(who.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= 300,
                "a /who reply of " + who.length() + " bytes: " + who);
    }

    private static String findPython() {
        for (String candidate : new String[] {"python3", "python"}) {
            try {
                Process p = new ProcessBuilder(candidate, "--version").redirectErrorStream(true)
                        .start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return candidate;
                }
            } catch (IOException e) {
                // not this one
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }
}
