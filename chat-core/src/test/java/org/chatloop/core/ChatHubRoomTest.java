package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.chatloop.core.HubHarness.Peer;
import org.junit.jupiter.api.Test;

/** Rooms: the lobby, /join, /rooms and /who. */
class ChatHubRoomTest {
    private final HubHarness h = new HubHarness();

    @Test
    void shouldHaveAnEmptyLobbyBeforeAnyoneArrives() {
        assertEquals(Map.of("lobby", 0), h.roomSizes());
        assertEquals(0, h.clientCount());
    }

    @Test
    void shouldKeepLobbyWhenItsLastMemberLeaves() {
        Peer alice = h.connect();

        h.disconnect(alice, LeaveReason.DISCONNECTED);

        assertEquals(Map.of("lobby", 0), h.roomSizes());
    }

    @Test
    void shouldCreateRoomOnFirstJoin() {
        Peer alice = h.connectAs("alice");

        alice.says("/join games");

        assertEquals("games", alice.client.roomName());
        assertEquals(Map.of("lobby", 0, "games", 1), h.roomSizes());
    }

    @Test
    void shouldTellOldRoomThatClientLeftAndNewRoomThatItJoined() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        Peer carol = h.connectAs("carol");
        carol.says("/join games");
        h.clearAll();

        alice.says("/join games");

        assertEquals(List.of("* alice left (moved to games)"), bob.texts());
        assertEquals(List.of("* alice joined games"), carol.texts());
        assertEquals(List.of("* alice joined games"), alice.texts());
    }

    @Test
    void shouldRemoveEmptyRoomWhenLastMemberLeaves() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        alice.says("/join games");
        bob.says("/join games");

        alice.says("/join lobby");
        assertEquals(Map.of("lobby", 1, "games", 1), h.roomSizes());

        h.disconnect(bob, LeaveReason.DISCONNECTED);
        assertEquals(Map.of("lobby", 1), h.roomSizes());
    }

    @Test
    void shouldRemoveEmptyRoomWhenLastMemberMovesToAnotherRoom() {
        Peer alice = h.connectAs("alice");
        alice.says("/join games");

        alice.says("/join chess");

        assertEquals(Map.of("lobby", 0, "chess", 1), h.roomSizes());
    }

    @Test
    void shouldRemoveEmptyRoomWhenLastMemberQuits() {
        Peer alice = h.connectAs("alice");
        alice.says("/join games");

        alice.says("/quit");

        assertEquals(Map.of("lobby", 0), h.roomSizes());
    }

    @Test
    void shouldJoinExistingRoomWhateverTheCaseAndKeepItsFirstName() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        alice.says("/join Games");
        h.clearAll();

        bob.says("/join GAMES");

        assertEquals("Games", bob.client.roomName());
        assertEquals(Map.of("lobby", 0, "Games", 2), h.roomSizes());
        assertEquals(List.of("* bob joined Games"), alice.texts());
    }

    @Test
    void shouldNameTheRoomAsItIsKnownWhenTellingTheOldRoomWhereTheClientWent() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        Peer carol = h.connectAs("carol");
        alice.says("/join Games");
        h.clearAll();

        bob.says("/join games");

        assertEquals(List.of("* bob left (moved to Games)"), carol.texts());
    }

    @Test
    void shouldReportErrorWhenJoiningTheRoomClientIsIn() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();

        alice.says("/join LOBBY");

        assertEquals(1, alice.texts().size());
        assertTrue(alice.last().startsWith("! "), alice.last());
        assertTrue(bob.texts().isEmpty(), bob.texts().toString());
        assertEquals("lobby", alice.client.roomName());
    }

    @Test
    void shouldReportErrorForInvalidRoomNameAndStayPut() {
        Peer alice = h.connectAs("alice");
        alice.out.clear();

        alice.says("/join bad/room");

        assertTrue(alice.last().startsWith("! "), alice.last());
        assertEquals("lobby", alice.client.roomName());
        assertEquals(Map.of("lobby", 1), h.roomSizes());
    }

    @Test
    void shouldListRoomsWithMemberCountsSortedByName() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        Peer carol = h.connectAs("carol");
        bob.says("/join zoo");
        carol.says("/join Apples");
        h.connectAs("dave").says("/join zoo");
        alice.out.clear();

        alice.says("/rooms");

        assertEquals(List.of("* rooms: Apples (1), lobby (1), zoo (2)"), alice.texts());
    }

    @Test
    void shouldListMembersOfOwnRoomOnly() {
        Peer alice = h.connectAs("alice");
        h.connectAs("Bob");
        h.connectAs("carol").says("/join games");
        alice.out.clear();

        alice.says("/who");

        assertEquals(List.of("* in lobby (2): alice, Bob"), alice.texts());
    }

    @Test
    void shouldKeepEveryClientInExactlyOneRoomThroughRandomMoves() {
        List<Peer> peers = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            peers.add(h.connectAs("p" + i));
        }
        String[] rooms = {"lobby", "a", "b", "c", "D"};
        Random random = new Random(7);
        for (int step = 0; step < 2000; step++) {
            Peer p = peers.get(random.nextInt(peers.size()));
            p.says("/join " + rooms[random.nextInt(rooms.length)]);

            Map<String, Integer> sizes = h.roomSizes();
            assertEquals(peers.size(), sizes.values().stream().mapToInt(Integer::intValue).sum());
            assertTrue(sizes.containsKey("lobby"));
            assertFalse(sizes.entrySet().stream()
                    .anyMatch(e -> !e.getKey().equals("lobby") && e.getValue() == 0), sizes::toString);
            for (Peer q : peers) {
                assertTrue(sizes.containsKey(q.client.roomName()), q.client + " " + sizes);
            }
        }
        for (Peer p : peers) {
            p.out.clear();
            p.says("/who");
            String who = p.last();
            int count = h.roomSizes().get(p.client.roomName());
            assertTrue(who.startsWith("* in " + p.client.roomName() + " (" + count + "): "), who);
            assertTrue(who.contains(p.name()), who);
        }
    }
}
