package org.chatloop.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two nodes of one cluster over a real Redis (started here), each with its own loops: rooms,
 * names, {@code /who}, {@code /rooms} and {@code /msg} span them, and every failure the cluster
 * handles is made to happen.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ClusterTest {
    private static RedisServerProcess redis;
    private final List<ClusterNode> nodes = new ArrayList<>();

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
    void stopNodes() {
        for (ClusterNode n : nodes) {
            n.close();
        }
    }

    private ClusterOptions options(String name) {
        return ClusterOptions.of(URI.create(redis.uri())).withNodeName(name);
    }

    private ClusterNode node(ClusterOptions o, int loops) {
        ClusterNode n = ClusterNode.start(o, loops);
        nodes.add(n);
        return n;
    }

    private ClusterNode node(String name) {
        return node(options(name), 2);
    }

    /** Waits until {@code n} nodes subscribe to the room's channel (a subscription is async). */
    private static void awaitSubscribers(String roomKey, int n) {
        redis.awaitSubscribers("chatloop:r:" + roomKey, n, ClusterNode.WAIT);
    }

    @Test
    void roomMessagesCrossNodesBothWaysInOrder() {
        ClusterNode a = node("a");
        ClusterNode b = node("b");
        ClusterNode.Member alice = a.named(0, "alice");
        ClusterNode.Member bob = b.named(1, "bob");
        awaitSubscribers("lobby", 2);
        for (int i = 0; i < 50; i++) {
            alice.say("from alice " + i);
        }
        bob.say("from bob");
        for (int i = 0; i < 50; i++) {
            bob.awaitLine("<alice> from alice " + i);
        }
        alice.awaitLine("<bob> from bob");
        List<String> seen = bob.lines.stream().filter(l -> l.startsWith("<alice>")).toList();
        assertEquals(50, seen.size(), "each message once: " + seen);
        for (int i = 0; i < 50; i++) {
            assertEquals("<alice> from alice " + i, seen.get(i));
        }
    }

    @Test
    void aNickRaceAcrossNodesHasOneWinner() {
        ClusterNode a = node("a");
        ClusterNode b = node("b");
        for (int round = 0; round < 5; round++) {
            ClusterNode.Member x = a.connect(round % 2);
            ClusterNode.Member y = b.connect(round % 2);
            String nick = "racer" + round;
            String xn = x.client.name();
            String yn = y.client.name();
            Thread t = new Thread(() -> x.say("/nick " + nick));
            t.start();
            y.say("/nick " + nick);
            String xr = x.await(l -> l.equals("* " + xn + " is now known as " + nick)
                    || l.equals("! nick " + nick + " is taken"), "an answer");
            String yr = y.await(l -> l.equals("* " + yn + " is now known as " + nick)
                    || l.equals("! nick " + nick + " is taken"), "an answer");
            int won = (xr.contains("is now known as") ? 1 : 0) + (yr.contains("is now known as") ? 1 : 0);
            assertEquals(1, won, "exactly one wins: " + xr + " / " + yr);
            assertTrue(xr.contains("taken") || yr.contains("taken"), xr + " / " + yr);
        }
    }

    @Test
    void whoRoomsAndMsgSeeEveryNode() {
        ClusterNode a = node("a");
        ClusterNode b = node("b");
        ClusterNode.Member alice = a.named(0, "alice");
        ClusterNode.Member bob = b.named(1, "bob");
        ClusterNode.Member carol = b.named(0, "carol");
        bob.say("/join Den");
        bob.awaitContaining("joined Den");
        alice.say("/join Den");
        alice.awaitContaining("alice joined Den");
        // Bob's membership reaches Redis asynchronously, a moment after bob was answered: ask
        // again (bounded) until the listing has caught up.
        String who = "";
        long deadline = System.nanoTime() + ClusterNode.WAIT.toNanos();
        while (!who.equals("* in Den (2): alice, bob") && System.nanoTime() < deadline) {
            int before = alice.lineCount();
            alice.say("/who");
            who = alice.awaitAfter(before, l -> l.startsWith("* in Den ("), "the /who answer");
        }
        assertEquals("* in Den (2): alice, bob", who);
        alice.say("/rooms");
        String rooms = alice.await(l -> l.startsWith("* rooms: "), "listing the rooms");
        assertTrue(rooms.contains("Den (2)"), rooms);
        assertTrue(rooms.contains("lobby (1)"), rooms);
        alice.say("/msg carol psst");
        carol.awaitLine("[private] <alice> psst");
        alice.awaitLine("[private to carol] psst");
        carol.say("/msg ALICE back");
        alice.awaitLine("[private] <carol> back");
        alice.say("/msg nobody hello");
        alice.awaitContaining("no such user: nobody");
    }

    @Test
    void aNodeThatDiesLeavesEveryRoomAndFreesItsNamesWithinTheTtl() {
        ClusterNode a = node(options("a").withTtl(Duration.ofSeconds(2)), 1);
        ClusterNode b = node(options("b").withTtl(Duration.ofSeconds(2)), 1);
        ClusterNode.Member alice = a.named("alice");
        ClusterNode.Member bob = b.named("bob");
        awaitSubscribers("lobby", 2);
        long died = System.nanoTime();
        b.cluster.crashForTest();
        alice.awaitLine("* bob left (server lost)");
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - died);
        assertTrue(tookMs <= 2000 + 500, "left after " + tookMs + " ms");
        ClusterNode.Member other = a.connect();
        other.nick("bob");
        alice.say("/who");
        alice.awaitLine("* in lobby (2): alice, bob");
    }

    @Test
    void aNodeThatStopsTellsTheOthersItsMembersLeft() {
        ClusterNode a = node("a");
        ClusterNode b = node("b");
        ClusterNode.Member alice = a.named("alice");
        ClusterNode.Member bob = b.named("bob");
        awaitSubscribers("lobby", 2);
        b.close();
        nodes.remove(b);
        alice.awaitLine("* bob left (server shutting down)");
        ClusterNode.Member other = a.connect();
        other.nick("bob");
    }

    @Test
    void redisStoppedAndStartedEveryNodeKeepsLocalChatAndResumes() {
        ClusterNode a = node(options("a").withReconnectDelay(Duration.ofMillis(200)), 2);
        ClusterNode b = node(options("b").withReconnectDelay(Duration.ofMillis(200)), 2);
        ClusterNode.Member alice = a.named(0, "alice");
        ClusterNode.Member anne = a.named(1, "anne");
        ClusterNode.Member bob = b.named(0, "bob");
        awaitSubscribers("lobby", 2);

        redis.stop();
        alice.awaitContaining("cluster link down");
        bob.awaitContaining("cluster link down");
        alice.say("still here");
        anne.awaitLine("<alice> still here");
        // Both nodes hand out one name while apart: the earlier claim keeps it.
        alice.nick("zed");
        long claimed = System.currentTimeMillis();
        while (System.currentTimeMillis() <= claimed + 1) {
            Thread.onSpinWait();
        }
        bob.nick("zed");

        redis.restart();
        alice.awaitContaining("cluster link back");
        bob.awaitContaining("cluster link back");
        assertEquals(1, count(alice, "cluster link down"), alice.lines.toString());
        assertEquals(1, count(alice, "cluster link back"), alice.lines.toString());
        bob.awaitContaining("! the name zed was given to someone on another server too");
        awaitSubscribers("lobby", 2);
        alice.say("across again");
        bob.awaitLine("<zed> across again");
        bob.say("/who");
        bob.awaitContaining("* in lobby (3): ");
        assertTrue(alice.lines.stream().noneMatch(l -> l.startsWith("!")), alice.lines.toString());
    }

    private static void awaitLink(ClusterNode n, boolean up) {
        long deadline = System.nanoTime() + ClusterNode.WAIT.toNanos();
        while (n.cluster.isLinkUp() != up) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the link of " + n.cluster + " is not " + (up ? "up" : "down"));
            }
            ClusterNode.pause();
        }
    }

    @Test
    void aMemberWhoLeavesWhileTheLinkIsDownIsGoneFromRedisOnceItIsBack() {
        ClusterNode a = node(options("a").withReconnectDelay(Duration.ofSeconds(1)), 1);
        ClusterNode b = node(options("b").withReconnectDelay(Duration.ofSeconds(1)), 1);
        ClusterNode.Member alice = a.named("alice");
        ClusterNode.Member bob = b.named("bob");
        redis.command("CLIENT", "KILL", "TYPE", "normal");
        awaitLink(b, false);
        bob.say("/quit");
        awaitLink(b, true);
        // The restore runs on b's cluster thread once the link is back: ask until it has.
        long deadline = System.nanoTime() + ClusterNode.WAIT.toNanos();
        String who = who(alice);
        while (!who.equals("* in lobby (1): alice") && System.nanoTime() < deadline) {
            ClusterNode.pause();
            who = who(alice);
        }
        assertEquals("* in lobby (1): alice", who);
        ClusterNode.Member other = a.connect();
        other.nick("bob");
    }

    /** Sends {@code /who} and returns its answer. */
    private static String who(ClusterNode.Member m) {
        long before = m.lines.stream().filter(l -> l.startsWith("* in ")).count();
        m.say("/who");
        long deadline = System.nanoTime() + ClusterNode.WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            List<String> now = List.copyOf(m.lines);
            List<String> answers = now.stream().filter(l -> l.startsWith("* in ")).toList();
            if (answers.size() > before) {
                return answers.get(answers.size() - 1);
            }
            ClusterNode.pause();
        }
        throw new AssertionError("no /who answer: " + m.lines);
    }

    @Test
    void aRoomJoinedWhileTheSubscriptionIsDownIsSubscribedOnceItIsBack() {
        ClusterNode a = node(options("a").withReconnectDelay(Duration.ofSeconds(1)), 1);
        ClusterNode b = node(options("b").withReconnectDelay(Duration.ofSeconds(1)), 1);
        ClusterNode.Member alice = a.named("alice");
        ClusterNode.Member bob = b.named("bob");
        awaitSubscribers("lobby", 2);
        redis.command("CLIENT", "KILL", "TYPE", "pubsub");
        bob.awaitContaining("cluster link down");
        bob.say("/join attic");
        bob.awaitContaining("bob joined attic");
        bob.awaitContaining("cluster link back");
        alice.awaitContaining("cluster link back");
        alice.say("/join attic");
        alice.awaitContaining("alice joined attic");
        awaitSubscribers("attic", 2);
        alice.say("up here");
        bob.awaitLine("<alice> up here");
    }

    @Test
    void aDroppedSubscriptionIsReportedAsLostMessages() {
        ClusterNode a = node(options("a").withReconnectDelay(Duration.ofSeconds(1)), 1);
        ClusterNode b = node(options("b").withReconnectDelay(Duration.ofSeconds(1)), 1);
        ClusterNode.Member alice = a.named("alice");
        ClusterNode.Member bob = b.named("bob");
        awaitSubscribers("lobby", 2);
        alice.say("before");
        bob.awaitLine("<alice> before");

        redis.command("CLIENT", "KILL", "TYPE", "pubsub");
        bob.awaitContaining("cluster link down");
        for (int i = 0; i < 5; i++) {
            alice.say("during " + i);
        }
        bob.awaitContaining("cluster link back");
        awaitSubscribers("lobby", 2);
        alice.say("after");
        bob.awaitLine("<alice> after");
        long during = bob.lines.stream().filter(l -> l.startsWith("<alice> during")).count();
        int lost = lostCount(bob);
        assertTrue(lost > 0, "the gap is reported: " + bob.lines);
        assertEquals(5, during + lost, bob.lines.toString());
        assertEquals(lost, b.cluster.stats().lost());
    }

    @Test
    void aNodeThatFallsBehindDropsWithinItsBoundAndSaysHowManyWereLost() throws Exception {
        ClusterNode a = node("a");
        ClusterNode b = node(options("b").withMaxInboundBytes(64 * 1024), 1);
        ClusterNode.Member alice = a.named("alice");
        ClusterNode.Member bob = b.named("bob");
        awaitSubscribers("lobby", 2);

        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        b.group.loop(0).execute(() -> {
            blocked.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(blocked.await(10, TimeUnit.SECONDS));
        long before = b.cluster.stats().received();
        String pad = "x".repeat(100);
        int sent = 2000;
        for (int i = 0; i < sent; i++) {
            alice.say(i + " " + pad);
        }
        alice.awaitLine("<alice> " + (sent - 1) + " " + pad);
        long deadline = System.nanoTime() + ClusterNode.WAIT.toNanos();
        while (b.cluster.stats().received() < before + sent && System.nanoTime() < deadline) {
            ClusterNode.pause();
        }
        release.countDown();
        assertEquals(before + sent, b.cluster.stats().received(), b.cluster.stats().toString());
        alice.say("after");
        bob.awaitLine("<alice> after");
        List<Integer> got = new ArrayList<>();
        for (String l : bob.lines) {
            Matcher m = Pattern.compile("^<alice> (\\d+) x+$").matcher(l);
            if (m.matches()) {
                got.add(Integer.parseInt(m.group(1)));
            }
        }
        int lost = lostCount(bob);
        assertTrue(lost > 0, "frames beyond the bound are dropped: " + b.cluster.stats());
        assertEquals(sent, got.size() + lost, "delivered + reported lost = sent");
        for (int i = 1; i < got.size(); i++) {
            assertTrue(got.get(i) > got.get(i - 1), "in order: " + got);
        }
        assertEquals(lost, b.cluster.stats().dropped());
    }

    @Test
    void oneRedisPublishPerRoomMessage() {
        ClusterNode a = node("a");
        ClusterNode b = node("b");
        ClusterNode.Member alice = a.named(0, "alice");
        ClusterNode.Member bob = b.named(0, "bob");
        ClusterNode.Member carol = b.named(1, "carol");
        awaitSubscribers("lobby", 2);
        redis.command("CONFIG", "RESETSTAT");
        for (int i = 0; i < 100; i++) {
            alice.say("m" + i);
        }
        bob.awaitLine("<alice> m99");
        carol.awaitLine("<alice> m99");
        String stats = redis.command("INFO", "commandstats");
        Matcher m = Pattern.compile("cmdstat_publish:calls=(\\d+)").matcher(stats);
        assertTrue(m.find(), stats);
        assertEquals(100, Integer.parseInt(m.group(1)), stats);
    }

    private static long count(ClusterNode.Member m, String part) {
        return m.lines.stream().filter(l -> l.contains(part)).count();
    }

    private static int lostCount(ClusterNode.Member m) {
        int lost = 0;
        Pattern p = Pattern.compile("^\\* (\\d+) messages? in this room did not arrive.*");
        for (String l : m.lines) {
            Matcher x = p.matcher(l);
            if (x.matches()) {
                lost += Integer.parseInt(x.group(1));
            }
        }
        return lost;
    }
}
