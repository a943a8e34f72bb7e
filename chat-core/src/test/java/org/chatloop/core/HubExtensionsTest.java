package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.chatloop.core.HubHarness.Peer;
import org.junit.jupiter.api.Test;

/**
 * The hub's extension points: commands of your own, a policy, kicking, and the counters. On one
 * hub (they are set per hub); {@link #aGroupConfiguresEveryShardAndSumsTheirStats} covers shards.
 */
class HubExtensionsTest {
    private final HubHarness h = new HubHarness(1);

    @Test
    void aRegisteredCommandRunsAndIsListedByHelp() {
        h.hub.registerCommand("me", "/me ACTION", (hub, client, args) ->
                hub.sendToRoom(client, Frame.line("* " + client.name() + " " + args)));
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();
        alice.says("/ME   waves at everyone");
        assertEquals("* alice waves at everyone", bob.last());
        assertEquals("* alice waves at everyone", alice.last());
        bob.says("/help");
        assertTrue(bob.last().endsWith("; also: /me ACTION"), bob.last());
        bob.says("/unknown");
        assertEquals("! unknown command /unknown (try /help)", bob.last());
    }

    @Test
    void builtInsInvalidNamesAndDuplicatesAreRefused() {
        ChatCommand nothing = (hub, client, args) -> { };
        assertThrows(IllegalArgumentException.class,
                () -> h.hub.registerCommand("Nick", "/nick", nothing));
        assertThrows(IllegalArgumentException.class,
                () -> h.hub.registerCommand("two words", "/x", nothing));
        h.hub.registerCommand("topic", "/topic TEXT", nothing);
        assertThrows(IllegalArgumentException.class,
                () -> h.hub.registerCommand("TOPIC", "/topic", nothing));
    }

    @Test
    void aCommandThatThrowsIsReportedAndTheHubGoesOn() {
        h.hub.registerCommand("boom", "/boom", (hub, client, args) -> {
            throw new IllegalStateException("bug in a command");
        });
        Peer alice = h.connectAs("alice");
        alice.says("/boom now");
        assertEquals("! command failed: /boom", alice.last());
        alice.says("still here");
        assertEquals("<alice> still here", alice.last());
    }

    @Test
    void aPolicyRefusesArrivalsNicksAndMessagesWithItsReasons() {
        h.hub.policy(new ClientPolicy() {
            @Override
            public Decision onArrive(String address) {
                return address.startsWith("10.6.6.") ? Decision.refuse("banned") : Decision.ACCEPT;
            }

            @Override
            public Decision onNick(Client client, String nick) {
                return nick.equalsIgnoreCase("admin") ? Decision.refuse("admin is reserved")
                        : Decision.ACCEPT;
            }

            @Override
            public String onMessage(Client client, String text) {
                return text.contains("spam") ? null : text.replace("darn", "d**n");
            }
        });
        Peer watcher = h.connectAs("watcher");
        h.clearAll();
        Peer banned = h.connect("10.6.6.1:4000");
        assertEquals(List.of("! banned"), banned.texts());
        assertEquals(1, banned.out.closeCount);
        assertFalse(banned.client.isConnected());
        assertEquals(List.of(), watcher.texts(), "nobody hears of a refused arrival");
        assertEquals(1, h.clientCount());

        Peer alice = h.connect();
        alice.says("/nick admin");
        assertEquals("! admin is reserved", alice.last());
        assertTrue(alice.name().startsWith("127.0.0.1:"));
        alice.says("/nick alice");
        h.clearAll();
        alice.says("buy spam");
        assertEquals(List.of("! message refused"), alice.texts());
        assertEquals(List.of(), watcher.texts());
        alice.says("oh darn");
        assertEquals("<alice> oh d**n", watcher.last());
        assertEquals(1, h.hub.stats().messages(), "the refused line is not counted");
    }

    @Test
    void aKickedClientIsToldTheRoomSeesItAndItsNickIsFree() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();
        assertTrue(h.hub.kick(bob.client, "flooding"));
        assertEquals(List.of("! kicked: flooding"), bob.texts());
        assertEquals(1, bob.out.closeCount, "the transport is asked to close it");
        assertEquals("* bob left (kicked)", alice.last());
        assertFalse(h.hub.kick(bob.client, "again"), "a client that left cannot be kicked");
        Peer other = h.connectAs("bob");
        assertEquals("bob", other.name());
    }

    @Test
    void statsCountArrivalsMessagesDeliveriesAndTooSlowDrops() throws Exception {
        Peer a = h.connectAs("a");
        Peer b = h.connectAs("b");
        Peer c = h.connectAs("c");
        HubStats before = h.hub.stats();
        a.says("one");
        b.says("two");
        h.hub.disconnect(c.client, LeaveReason.TOO_SLOW);
        HubStats[] seen = new HubStats[1];
        Thread other = new Thread(() -> seen[0] = h.hub.stats());
        other.start();
        other.join(5_000);
        HubStats s = seen[0];
        assertEquals(2, s.clients());
        assertEquals(3, s.arrivals());
        assertEquals(2, s.messages());
        // Two messages to three members, then the leave notice to the two left.
        assertEquals(before.deliveries() + 3 + 3 + 2, s.deliveries());
        assertEquals(1, s.tooSlow());
        assertEquals(0, s.congestedClients());
    }

    @Test
    void aGroupConfiguresEveryShardAndSumsTheirStats() throws Exception {
        HubGroup group = HubGroup.start(2, HubOptions.defaults(), "ext-test");
        try {
            group.configure(hub -> hub.registerCommand("me", "/me ACTION", (hb, client, args) ->
                    hb.sendToRoom(client, Frame.line("* " + client.name() + " " + args))));
            ShardedHubTest.Output[] outs = new ShardedHubTest.Output[2];
            CountDownLatch joined = new CountDownLatch(2);
            for (int i = 0; i < 2; i++) {
                int shard = i;
                outs[i] = new ShardedHubTest.Output();
                group.loop(i).execute(() -> {
                    outs[shard].client = group.hub(shard).connect("10.0.0." + shard + ":1",
                            outs[shard]);
                    joined.countDown();
                });
            }
            assertTrue(joined.await(10, TimeUnit.SECONDS));
            group.loop(1).execute(() -> group.hub(1).onLine(outs[1].client, "/me dances"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!outs[0].has("* 10.0.0.1:1 dances") && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            assertTrue(outs[0].has("* 10.0.0.1:1 dances"), outs[0].snapshot().toString());
            HubStats sum = group.stats();
            assertEquals(2, sum.clients());
            assertEquals(2, sum.arrivals());
        } finally {
            group.stop();
        }
    }
}
