package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.chatloop.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A hub on a loop gathers what is broadcast to a room during a pass and hands it to each member in
 * one call at the end of the pass (see {@link Room}): what each member sees, and in what order, is
 * the same as if every frame had been sent at once.
 */
class ChatHubPassGatheringTest {
    private final EventLoop loop = new EventLoop();
    private final ChatHub hub = new ChatHub(loop, HubOptions.defaults());
    private int port = 41000;

    /** Records frames, and each call with several frames (its array and count). */
    private static final class Output implements ClientOutput {
        final List<String> texts = new ArrayList<>();
        final List<Frame[]> arrays = new ArrayList<>();
        final List<Integer> counts = new ArrayList<>();
        Client client;

        @Override
        public void send(Frame frame) {
            texts.add(frame.text());
        }

        @Override
        public void send(Frame[] frames, int count) {
            arrays.add(frames);
            counts.add(count);
            for (int i = 0; i < count; i++) {
                texts.add(frames[i].text());
            }
        }

        @Override
        public void close() {
        }

        void clear() {
            texts.clear();
            arrays.clear();
            counts.clear();
        }
    }

    @AfterEach
    void closeLoop() {
        loop.close();
    }

    private Output connect(String nick) {
        Output out = new Output();
        out.client = hub.connect("10.0.0.9:" + port++, out);
        hub.onLine(out.client, "/nick " + nick);
        return out;
    }

    /** Runs {@code work} as a task of one pass, as a transport's read handler would. */
    private void inOnePass(Runnable work) {
        loop.execute(work);
        loop.runOnce(0);
    }

    @Test
    void shouldHandAPassOfRoomMessagesToEachMemberInOneCallWithOneSharedArray() {
        Output alice = connect("alice");
        Output bob = connect("bob");
        Output carol = connect("carol");
        List.of(alice, bob, carol).forEach(Output::clear);
        List<String> seenDuringThePass = new ArrayList<>();

        inOnePass(() -> {
            for (int i = 1; i <= 5; i++) {
                hub.onLine(alice.client, "m" + i);
            }
            seenDuringThePass.addAll(bob.texts);
        });

        assertEquals(List.of(), seenDuringThePass, "gathered until the end of the pass");
        List<String> expected = List.of("<alice> m1", "<alice> m2", "<alice> m3", "<alice> m4",
                "<alice> m5");
        for (Output o : List.of(alice, bob, carol)) {
            assertEquals(expected, o.texts);
            assertEquals(List.of(5), o.counts, "one call per member");
        }
        assertSame(bob.arrays.get(0), carol.arrays.get(0), "every member is given the same array");
    }

    @Test
    void shouldStartANewArrayForEveryPassSoThatATransportMayKeepOneAsAKey() {
        Output alice = connect("alice");
        Output bob = connect("bob");
        bob.clear();

        inOnePass(() -> {
            hub.onLine(alice.client, "a");
            hub.onLine(alice.client, "b");
        });
        Frame[] first = bob.arrays.get(0);
        inOnePass(() -> {
            hub.onLine(alice.client, "c");
            hub.onLine(alice.client, "d");
        });

        assertTrue(first != bob.arrays.get(1), "a new array");
        assertEquals("<alice> a<alice> b", first[0].text() + first[1].text(),
                "the first array was not changed by the second pass");
        assertEquals(List.of("<alice> a", "<alice> b", "<alice> c", "<alice> d"), bob.texts);
    }

    @Test
    void shouldKeepAMembersOwnFramesInOrderWithTheRoomMessagesAroundThem() {
        Output alice = connect("alice");
        Output bob = connect("bob");
        bob.clear();

        inOnePass(() -> {
            hub.onLine(alice.client, "one");
            hub.onLine(bob.client, "/bogus");
            hub.onLine(alice.client, "two");
            hub.send(bob.client, Frame.notice("from an extension"));
            hub.onLine(alice.client, "three");
        });

        assertEquals(List.of("<alice> one", "! unknown command /bogus (try /help)", "<alice> two",
                "* from an extension", "<alice> three"), bob.texts);
    }

    @Test
    void shouldGiveAJoinerOnlyWhatWasSaidAfterItJoinedAndALeaverWhatWasSaidBefore() {
        Output alice = connect("alice");
        Output bob = connect("bob");
        Output dave = connect("dave");
        hub.onLine(dave.client, "/join side");
        List.of(alice, bob, dave).forEach(Output::clear);

        inOnePass(() -> {
            hub.onLine(alice.client, "before");
            hub.onLine(dave.client, "/join lobby");
            hub.onLine(alice.client, "between");
            hub.onLine(bob.client, "/join side");
            hub.onLine(alice.client, "after");
        });

        assertEquals(List.of("<alice> between", "<alice> after"), dave.texts.stream()
                .filter(t -> t.startsWith("<alice>")).toList(), dave.texts.toString());
        assertEquals(List.of("<alice> before", "<alice> between"), bob.texts.stream()
                .filter(t -> t.startsWith("<alice>")).toList(), bob.texts.toString());
        assertTrue(bob.texts.indexOf("<alice> between") < indexOfFirst(bob.texts, "* bob joined"),
                bob.texts.toString());
        assertTrue(indexOfFirst(dave.texts, "* dave joined") < dave.texts.indexOf("<alice> between"),
                dave.texts.toString());
        assertEquals("<alice> after", alice.texts.get(alice.texts.size() - 1));
    }

    private static int indexOfFirst(List<String> texts, String prefix) {
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i).startsWith(prefix)) {
                return i;
            }
        }
        throw new AssertionError("no line starting with " + prefix + " in " + texts);
    }

    @Test
    void shouldHandOverEverySixtyFourFramesWithinALongPass() {
        Output alice = connect("alice");
        Output bob = connect("bob");
        bob.clear();

        inOnePass(() -> {
            for (int i = 0; i < 150; i++) {
                hub.onLine(alice.client, "n" + i);
            }
        });

        assertEquals(List.of(64, 64, 22), bob.counts);
        for (int i = 0; i < 150; i++) {
            assertEquals("<alice> n" + i, bob.texts.get(i));
        }
    }

    @Test
    void shouldSendAtOnceOutsideAPass() {
        Output alice = connect("alice");
        Output bob = connect("bob");
        bob.clear();

        hub.onLine(alice.client, "direct"); // a call from outside any pass of the loop

        assertEquals(List.of("<alice> direct"), bob.texts);
        assertEquals(List.of(), bob.counts);
    }

    @Test
    void shouldHandOverOnceThirtyTwoKibibytesHaveGathered() {
        Output alice = connect("alice");
        Output bob = connect("bob");
        bob.clear();
        String text = "x".repeat(900); // "<alice> " + 900 + "\n": 909 bytes a frame

        inOnePass(() -> {
            for (int i = 0; i < 40; i++) {
                hub.onLine(alice.client, text);
            }
        });

        assertEquals(List.of(37, 3), bob.counts, "36 frames are 32,724 bytes, 37 pass 32 KiB");
        assertEquals(40, bob.texts.size());
    }

    @Test
    void shouldHandOverWhatWasGatheredBeforeTellingTheOthersOfANewcomer() {
        Output alice = connect("alice");
        Output bob = connect("bob");
        bob.clear();
        Output[] newcomer = new Output[1];

        inOnePass(() -> {
            hub.onLine(alice.client, "x");
            newcomer[0] = new Output();
            newcomer[0].client = hub.connect("10.0.0.9:49999", newcomer[0]);
            hub.onLine(alice.client, "y");
        });

        assertEquals(List.of("<alice> x", "* 10.0.0.9:49999 joined lobby", "<alice> y"), bob.texts);
        assertEquals(List.of("<alice> y"), newcomer[0].texts.stream()
                .filter(t -> t.startsWith("<")).toList(), newcomer[0].texts.toString());
        assertTrue(newcomer[0].texts.get(0).startsWith("* welcome "), newcomer[0].texts.toString());
    }

    @Test
    void shouldGatherOnAHubMadeOffTheLoopThreadOnceTheLoopRuns() throws Exception {
        EventLoop other = new EventLoop();
        Thread thread = other.start("gathering-test-loop");
        try {
            ChatHub offThread = new ChatHub(other, HubOptions.defaults()); // from this thread
            Output alice = new Output();
            Output bob = new Output();
            other.callAndWait(() -> {
                alice.client = offThread.connect("10.0.0.9:1", alice);
                bob.client = offThread.connect("10.0.0.9:2", bob);
                return null;
            }, 5_000);
            other.callAndWait(() -> {
                bob.clear();
                offThread.onLine(alice.client, "one");
                offThread.onLine(alice.client, "two");
                return null;
            }, 5_000);
            // callAndWait returns once its task ran; the pass's hook runs right after it.
            List<Integer> counts = other.callAndWait(() -> List.copyOf(bob.counts), 5_000);
            assertEquals(List.of(2), counts, "gathered into one hand-over");
            assertEquals(List.of("<10.0.0.9:1> one", "<10.0.0.9:1> two"),
                    other.callAndWait(() -> List.copyOf(bob.texts), 5_000));
        } finally {
            other.stop();
            thread.join(5_000);
        }
    }
}
