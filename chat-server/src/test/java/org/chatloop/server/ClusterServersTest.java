package org.chatloop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.chatloop.redis.RedisServerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two {@code chat-server} processes with {@code --cluster} over a real Redis: TCP and UDP clients
 * of both are one chat, and a node killed with SIGKILL has its members leave the other's rooms
 * within {@code --cluster-ttl}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterServersTest {
    private static final Pattern LISTENING =
            Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) \\((tcp|udp)\\)");
    private static RedisServerProcess redis;
    private final List<Node> nodes = new ArrayList<>();
    private final List<AutoCloseable> clients = new ArrayList<>();

    @BeforeAll
    static void startRedis() {
        redis = RedisServerProcess.startOrSkip();
    }

    @AfterAll
    static void stopRedis() {
        if (redis != null) {
            redis.close();
        }
    }

    @BeforeEach
    void emptyRedis() {
        redis.command("FLUSHALL");
    }

    @AfterEach
    void stopAll() throws Exception {
        InteropPeers.closeAll(clients.toArray(new AutoCloseable[0]));
        for (Node n : nodes) {
            n.process.destroyForcibly();
            n.process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** A {@code chat-server server --cluster} child process, run from this test's class path. */
    private static final class Node {
        final Process process;
        final BlockingQueue<String> out = new LinkedBlockingQueue<>();
        int tcpPort;
        int udpPort;

        Node(Process process) {
            this.process = process;
        }
    }

    private Node start(String name, String... extra) throws Exception {
        return startOn(name, 0, 0, extra);
    }

    private Node startOn(String name, int tcpPort, int udpPort, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                "org.chatloop.server.Main", "server", "--tcp-port", Integer.toString(tcpPort),
                "--udp-port", Integer.toString(udpPort),
                "--http-port", "-1", "--cluster", redis.uri(), "--node-name", name,
                "--cluster-ttl", "2"));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Node n = new Node(p);
        nodes.add(n);
        InteropPeers.pump(p.getInputStream(), "node-" + name, n.out::add, () -> { });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        List<String> seen = new ArrayList<>();
        while (n.tcpPort == 0 || n.udpPort == 0 || !seen.stream().anyMatch(l -> l.startsWith("cluster node "))) {
            String line = n.out.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError("node " + name + " did not start: " + seen);
            }
            seen.add(line);
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                if (m.group(2).equals("tcp")) {
                    n.tcpPort = Integer.parseInt(m.group(1));
                } else {
                    n.udpPort = Integer.parseInt(m.group(1));
                }
            }
        }
        return n;
    }

    private <T extends AutoCloseable> T add(T c) {
        clients.add(c);
        return c;
    }

    private InteropPeers.Tcp tcp(Node n, String nick) throws Exception {
        InteropPeers.Tcp c = add(new InteropPeers.Tcp(new InetSocketAddress("127.0.0.1", n.tcpPort)));
        named(c, nick);
        return c;
    }

    private static <T extends InteropPeers.Peer> T named(T c, String nick) throws IOException {
        c.lines.expect(l -> l.startsWith("* welcome "));
        c.send("/nick " + nick);
        c.lines.expect(l -> l.endsWith(" is now known as " + nick));
        return c;
    }

    /** Waits until {@code n} nodes subscribe to the room's channel. */
    private static void awaitSubscribers(String roomKey, int n) {
        redis.awaitSubscribers("chatloop:r:" + roomKey, n, java.time.Duration.ofSeconds(15));
    }

    @Test
    void tcpAndUdpClientsOfTwoServersAreOneChat() throws Exception {
        Node a = start("a");
        Node b = start("b", "--loops", "2");
        InteropPeers.Tcp alice = tcp(a, "alice");
        InteropPeers.Udp udp = add(new InteropPeers.Udp(new InetSocketAddress("127.0.0.1", b.udpPort)));
        udp.send("#ping#");
        named(udp, "ursula");
        InteropPeers.Tcp bob = tcp(b, "bob");
        awaitSubscribers("lobby", 2);

        alice.send("hello from a");
        udp.lines.expectLine("<alice> hello from a");
        bob.lines.expectLine("<alice> hello from a");
        udp.send("hello from udp on b");
        alice.lines.expectLine("<ursula> hello from udp on b");
        bob.send("/who");
        bob.lines.expect(l -> l.equals("* in lobby (3): alice, bob, ursula"));
        alice.send("/msg ursula psst");
        udp.lines.expectLine("[private] <alice> psst");
        bob.send("/nick alice");
        bob.lines.expectLine("! nick alice is taken");
    }

    @Test
    void twoServersOnOnePortWithReusePortAreOneChatAtOneAddress() throws Exception {
        Node a = start("a", "--reuse-port");
        Node b = startOn("b", a.tcpPort, a.udpPort, "--reuse-port");
        List<InteropPeers.Tcp> all = new ArrayList<>();
        // a's port is b's too: the kernel picks the node of each connection. Connect until both
        // have members (each subscribes to the lobby then); 2^-31 odds of 32 on one node.
        while (all.size() < 32 && redis.subscribers("chatloop:r:lobby") < 2) {
            all.add(tcp(a, "c" + all.size()));
        }
        awaitSubscribers("lobby", 2);
        all.get(0).send("one address");
        for (InteropPeers.Tcp c : all) {
            c.lines.expectLine("<c0> one address");
        }
        InteropPeers.Tcp last = all.get(all.size() - 1);
        last.send("/who");
        last.lines.expect(l -> l.startsWith("* in lobby (" + all.size() + "): c0, c1"));
    }

    @Test
    void aServerKilledWithSigkillLeavesTheOthersRoomsWithinTheTtl() throws Exception {
        Node a = start("a");
        Node b = start("b");
        InteropPeers.Tcp alice = tcp(a, "alice");
        tcp(b, "bob");
        awaitSubscribers("lobby", 2);
        // bob's rename reaches Redis a moment after bob is answered (asynchronously): killed
        // before that, b's members would be reaped under the old name. Wait until Redis has it.
        String who = "";
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!who.equals("* in lobby (2): alice, bob") && System.nanoTime() < until) {
            alice.send("/who");
            who = alice.lines.expect(l -> l.startsWith("* in lobby ("));
        }
        assertEquals("* in lobby (2): alice, bob", who);
        long killed = System.nanoTime();
        b.process.destroyForcibly(); // SIGKILL on Linux
        alice.lines.expectLine("* bob left (server lost)");
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
        assertTrue(ms <= 2500, "left after " + ms + " ms");
        InteropPeers.Tcp again = tcp(a, "bob");
        again.send("/who");
        again.lines.expectLine("* in lobby (2): alice, bob");
    }

    @Test
    void aServerStoppedWithSigtermTellsTheOthersItsMembersLeft() throws Exception {
        Node a = start("a");
        Node b = start("b");
        InteropPeers.Tcp alice = tcp(a, "alice");
        InteropPeers.Tcp bob = tcp(b, "bob");
        awaitSubscribers("lobby", 2);
        b.process.destroy(); // SIGTERM
        alice.lines.expectLine("* bob left (server shutting down)");
        bob.lines.expect(l -> l.contains("server shutting down"));
        assertTrue(b.process.waitFor(10, TimeUnit.SECONDS));
        tcp(a, "bob");
    }
}
