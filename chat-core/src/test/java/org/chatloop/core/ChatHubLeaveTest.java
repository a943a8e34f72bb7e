package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.chatloop.core.HubHarness.Peer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Clients leaving: the reasons, who is told, and what is forgotten. */
class ChatHubLeaveTest {
    private final HubHarness h = new HubHarness();

    @ParameterizedTest
    @CsvSource({
        "QUIT, quit",
        "DISCONNECTED, disconnected",
        "TIMED_OUT, timed out",
        "TOO_SLOW, too slow",
        "CONNECTION_ERROR, connection error"})
    void shouldAnnounceLeaveWithItsReasonToTheRoomOnly(LeaveReason reason, String text) {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        Peer carol = h.connectAs("carol");
        carol.says("/join games");
        h.clearAll();

        h.disconnect(alice, reason);

        assertEquals(List.of("* alice left (" + text + ")"), bob.texts());
        assertTrue(carol.texts().isEmpty(), carol.texts().toString());
        assertTrue(alice.texts().isEmpty(), "the leaver is not told: " + alice.texts());
        assertEquals(text, reason.text());
    }

    @Test
    void shouldAnnounceNothingOnShutdown() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();

        h.disconnect(alice, LeaveReason.SHUTDOWN);

        assertTrue(bob.texts().isEmpty(), bob.texts().toString());
        assertFalse(alice.client.isConnected());
        assertEquals(1, h.clientCount());
    }

    @Test
    void shouldIgnoreSecondDisconnectOfTheSameClient() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.disconnect(alice, LeaveReason.DISCONNECTED);
        h.clearAll();

        h.disconnect(alice, LeaveReason.TIMED_OUT);

        assertTrue(bob.texts().isEmpty(), bob.texts().toString());
        assertEquals(List.of(bob.client), h.clients());
    }

    @Test
    void shouldIgnoreLinesFromAClientThatLeft() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.disconnect(alice, LeaveReason.DISCONNECTED);
        h.clearAll();

        alice.says("hello?");
        alice.says("/nick ghost");

        assertTrue(bob.texts().isEmpty(), bob.texts().toString());
        assertTrue(alice.texts().isEmpty(), alice.texts().toString());
        assertTrue(h.findClient("ghost").isEmpty());
    }

    @Test
    void shouldRejectNullReasonWithoutCorruptingTheRegistry() {
        Peer alice = h.connectAs("alice");

        assertThrows(NullPointerException.class, () -> h.disconnect(alice, null));

        assertTrue(alice.client.isConnected());
        assertSame(alice.client, h.findClient("alice").orElseThrow());
        assertEquals("lobby", alice.client.roomName());
    }

    @Test
    void shouldKeepRoomMembershipConsistentWhenMembersLeaveFromTheMiddle() {
        Peer a = h.connectAs("a");
        Peer b = h.connectAs("b");
        Peer c = h.connectAs("c");
        Peer d = h.connectAs("d");

        h.disconnect(b, LeaveReason.DISCONNECTED);
        h.disconnect(a, LeaveReason.DISCONNECTED);
        h.clearAll();
        d.says("still there?");

        assertEquals(List.of("<d> still there?"), c.texts());
        assertEquals(List.of("<d> still there?"), d.texts());
        c.says("/who");
        assertEquals("* in lobby (2): c, d", c.last());
    }

    @Test
    void shouldBroadcastToEveryConnectedClientWhateverItsRoom() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        Peer gone = h.connectAs("gone");
        bob.says("/join games");
        h.disconnect(gone, LeaveReason.DISCONNECTED);
        h.clearAll();
        Frame notice = Frame.notice("server going down");

        h.broadcastAll(notice);

        assertEquals(List.of(notice), alice.out.frames);
        assertEquals(List.of(notice), bob.out.frames);
        assertSame(notice, alice.out.frames.get(0));
        assertTrue(gone.texts().isEmpty());
    }
}
