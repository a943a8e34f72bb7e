package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A chat over two hub shards on two real loop threads ({@link HubGroup}): what crosses shards
 * (room messages in order, once; nick races; /who, /rooms, /msg; leaving) and the bus's batching.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ShardedHubTest {
    private final HubGroup group = HubGroup.start(2, HubOptions.defaults()
            .withAnnounceLimit(Integer.MAX_VALUE), "shard-test");

    @AfterEach
    void stop() {
        group.stop();
    }

    /** An output another thread reads: frames land on a loop thread. */
    static final class Output implements ClientOutput {
        final ConcurrentLinkedQueue<String> texts = new ConcurrentLinkedQueue<>();
        volatile Client client;

        @Override
        public void send(Frame frame) {
            texts.add(frame.text());
        }

        @Override
        public void close() {
        }

        List<String> snapshot() {
            return new ArrayList<>(texts);
        }

        boolean has(String text) {
            return texts.contains(text);
        }
    }

    /** Runs {@code task} on shard {@code i}'s loop and waits for it. */
    private void on(int i, Runnable task) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        group.loop(i).execute(() -> {
            try {
                task.run();
            } finally {
                done.countDown();
            }
        });
        assertTrue(done.await(10, TimeUnit.SECONDS), "shard " + i + " ran the task");
    }

    private Output connect(int shard, String address) throws InterruptedException {
        Output out = new Output();
        on(shard, () -> out.client = group.hub(shard).connect(address, out));
        return out;
    }

    private void say(int shard, Output who, String line) throws InterruptedException {
        on(shard, () -> group.hub(shard).onLine(who.client, line));
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(2);
        }
    }

    @Test
    void aRoomSpreadOverShardsGetsEveryMessageOnceAndInOrder() throws Exception {
        Output sender = connect(0, "10.0.0.1:1");
        Output local = connect(0, "10.0.0.2:1");
        List<Output> remote = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            remote.add(connect(1, "10.0.1." + i + ":1"));
        }
        say(0, sender, "/nick sender");
        int n = 2_000;
        on(0, () -> {
            for (int i = 0; i < n; i++) {
                group.hub(0).onLine(sender.client, "m" + i);
            }
        });
        List<Output> all = new ArrayList<>(remote);
        all.add(local);
        for (Output o : all) {
            await("every message reached " + o.client, () -> o.has("<sender> m" + (n - 1)));
            List<String> got = new ArrayList<>();
            for (String t : o.snapshot()) {
                if (t.startsWith("<sender> ")) {
                    got.add(t);
                }
            }
            assertEquals(n, got.size(), "each message once");
            for (int i = 0; i < n; i++) {
                assertEquals("<sender> m" + i, got.get(i), "in order");
            }
        }
    }

    @Test
    void twoShardsRacingForANickGiveItToExactlyOne() throws Exception {
        for (int round = 0; round < 50; round++) {
            Output a = connect(0, "10.0.0.1:" + (1000 + round));
            Output b = connect(1, "10.0.0.2:" + (1000 + round));
            CountDownLatch go = new CountDownLatch(1);
            String nick = "racer" + round;
            CountDownLatch both = new CountDownLatch(2);
            group.loop(0).execute(() -> {
                awaitQuietly(go);
                group.hub(0).onLine(a.client, "/nick " + nick);
                both.countDown();
            });
            group.loop(1).execute(() -> {
                awaitQuietly(go);
                group.hub(1).onLine(b.client, "/nick " + nick);
                both.countDown();
            });
            go.countDown();
            assertTrue(both.await(10, TimeUnit.SECONDS));
            String taken = "! nick " + nick + " is taken";
            int winners = (a.client.name().equals(nick) ? 1 : 0)
                    + (b.client.name().equals(nick) ? 1 : 0);
            assertEquals(1, winners, "exactly one holds " + nick);
            assertTrue(a.has(taken) ^ b.has(taken), "the other is told it is taken");
        }
    }

    private static void awaitQuietly(CountDownLatch l) {
        try {
            l.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void whoRoomsAndMsgSeeEveryShard() throws Exception {
        Output alice = connect(0, "10.0.0.1:1");
        Output bob = connect(1, "10.0.0.2:1");
        say(0, alice, "/nick alice");
        say(1, bob, "/nick Bob");
        say(0, alice, "/join dev");
        say(1, bob, "/join DEV");
        await("bob's join reached alice", () -> alice.has("* Bob joined dev"));
        say(0, alice, "/who");
        await("who", () -> alice.has("* in dev (2): alice, Bob"));
        say(1, bob, "/rooms");
        await("rooms", () -> bob.has("* rooms: dev (2), lobby (0)"));
        say(0, alice, "/msg bob psst");
        await("private message crossed", () -> bob.has("[private] <alice> psst"));
        assertTrue(alice.has("[private to Bob] psst"), alice.snapshot().toString());
        say(1, bob, "hi alice");
        await("room message crossed back", () -> alice.has("<Bob> hi alice"));
    }

    @Test
    void aClientThatLeavesLeavesEveryShardsViewAndFreesItsNick() throws Exception {
        Output watcher = connect(0, "10.0.0.1:1");
        Output gone = connect(1, "10.0.0.2:1");
        say(1, gone, "/nick gone");
        await("rename seen", () -> watcher.has("* 10.0.0.2:1 is now known as gone"));
        on(1, () -> group.hub(1).disconnect(gone.client, LeaveReason.TOO_SLOW));
        await("leave seen", () -> watcher.has("* gone left (too slow)"));
        say(0, watcher, "/who");
        await("who without it", () -> watcher.has("* in lobby (1): 10.0.0.1:1"));
        say(0, watcher, "/nick gone");
        await("the nick is free", () -> watcher.has("* 10.0.0.1:1 is now known as gone"));
    }

    @Test
    void theBusHandsAPassWorthOfFramesToEachShardWithOneExecute() {
        LocalRoomBus bus = new LocalRoomBus();
        AtomicInteger executes = new AtomicInteger();
        List<Runnable> queued = new ArrayList<>();
        List<String> delivered = new ArrayList<>();
        RoomBus.Receiver quiet = new RoomBus.Receiver() {
            @Override
            public void onRoomFrame(String roomKey, Frame frame) {
            }

            @Override
            public void onClientFrame(long clientId, Frame frame) {
            }
        };
        RoomBus.Receiver recording = new RoomBus.Receiver() {
            @Override
            public void onRoomFrame(String roomKey, Frame frame) {
                delivered.add(roomKey + ":" + frame.text());
            }

            @Override
            public void onClientFrame(long clientId, Frame frame) {
                delivered.add(clientId + ":" + frame.text());
            }
        };
        RoomBus.Port a = bus.connect(quiet, Runnable::run);
        RoomBus.Port b = bus.connect(recording, task -> {
            executes.incrementAndGet();
            queued.add(task);
        });
        a.subscribe("r");
        b.subscribe("r");
        for (int i = 0; i < 100; i++) {
            a.publish("r", Frame.line("m" + i));
        }
        a.send(b.shard(), 7, Frame.line("direct"));
        a.publish("elsewhere", Frame.line("nobody"));
        assertEquals(0, executes.get(), "nothing handed over before the end of the pass");
        a.flush();
        assertEquals(1, executes.get(), "one hand-off for the whole pass");
        queued.forEach(Runnable::run);
        assertEquals(101, delivered.size());
        assertEquals("r:m0", delivered.get(0));
        assertEquals("r:m99", delivered.get(99));
        assertEquals("7:direct", delivered.get(100));
        a.flush();
        assertEquals(1, executes.get(), "an empty pass hands nothing over");
        b.unsubscribe("r");
        a.publish("r", Frame.line("after"));
        a.flush();
        assertEquals(1, executes.get(), "an unsubscribed shard gets nothing");
        assertEquals(1, bus.subscribers("r").length);
    }
}
