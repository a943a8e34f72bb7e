package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.chatloop.core.HubHarness.Peer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The client registry: ids, names, addresses and nicks. */
class ChatHubRegistryTest {
    private final HubHarness h = new HubHarness();

    @Test
    void shouldNameClientByItsAddressUntilItSetsANick() {
        Peer alice = h.connect("10.0.0.1:5000");

        assertEquals("10.0.0.1:5000", alice.name());
        assertEquals("10.0.0.1:5000", alice.client.address());
        assertSame(alice.client, h.findClient("10.0.0.1:5000").orElseThrow());
    }

    @Test
    void shouldWelcomeNewClientByNameAndPutItInLobby() {
        Peer alice = h.connect("10.0.0.1:5000");

        assertEquals(1, alice.texts().size());
        assertTrue(alice.last().startsWith("* welcome 10.0.0.1:5000 "), alice.last());
        assertEquals(ChatHub.LOBBY, alice.client.roomName());
        assertTrue(alice.client.isConnected());
    }

    @Test
    void shouldTellLobbyButNotTheNewcomerThatItJoined() {
        Peer alice = h.connect("10.0.0.1:5000");
        Peer bob = h.connect("10.0.0.2:6000");

        assertEquals("* 10.0.0.2:6000 joined lobby", alice.last());
        assertEquals(1, bob.texts().size(), "bob only gets his welcome: " + bob.texts());
    }

    @Test
    void shouldGiveEveryClientAUniqueIdAndFindItById() {
        Peer a = h.connect();
        Peer b = h.connect();
        Peer c = h.connect();

        Set<Long> ids = h.clients().stream().map(Client::id).collect(Collectors.toSet());
        assertEquals(Set.of(a.client.id(), b.client.id(), c.client.id()), ids);
        assertEquals(3, h.clientCount());
    }

    @Test
    void shouldMakeNameUniqueWhenTwoClientsArriveFromTheSameAddress() {
        Peer first = h.connect("10.0.0.1:5000");
        Peer second = h.connect("10.0.0.1:5000");

        assertNotEquals(first.name().toLowerCase(), second.name().toLowerCase());
        assertSame(first.client, h.findClient("10.0.0.1:5000").orElseThrow());
        assertSame(second.client, h.findClient(second.name()).orElseThrow());
        assertEquals("10.0.0.1:5000", second.client.address());
    }

    @Test
    void shouldRenameClientAndTellItsRoom() {
        Peer alice = h.connect("10.0.0.1:5000");
        Peer bob = h.connect();
        h.clearAll();

        alice.says("/nick alice");

        assertEquals("alice", alice.name());
        assertEquals(List.of("* 10.0.0.1:5000 is now known as alice"), alice.texts());
        assertEquals(List.of("* 10.0.0.1:5000 is now known as alice"), bob.texts());
        assertSame(alice.client, h.findClient("alice").orElseThrow());
        assertTrue(h.findClient("10.0.0.1:5000").isEmpty(), "old name must be free again");
    }

    @Test
    void shouldFindClientByNickInAnyCase() {
        Peer alice = h.connectAs("Alice");

        assertSame(alice.client, h.findClient("ALICE").orElseThrow());
        assertSame(alice.client, h.findClient("alice").orElseThrow());
    }

    @Test
    void shouldRefuseNickThatAnotherClientHasInAnyCase() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connect();
        String bobName = bob.name();
        h.clearAll();

        bob.says("/nick ALICE");

        assertEquals(bobName, bob.name());
        assertTrue(bob.last().startsWith("! "), bob.last());
        assertTrue(bob.last().contains("taken"), bob.last());
        assertTrue(alice.texts().isEmpty(), "nobody else hears a refused rename");
        assertSame(alice.client, h.findClient("alice").orElseThrow());
    }

    @Test
    void shouldLetClientChangeTheCaseOfItsOwnNick() {
        Peer alice = h.connectAs("alice");

        alice.says("/nick ALICE");

        assertEquals("ALICE", alice.name());
        assertSame(alice.client, h.findClient("alice").orElseThrow());
        assertEquals(1, h.clientCount());
    }

    @Test
    void shouldReportErrorWhenClientTakesTheNickItAlreadyHas() {
        Peer alice = h.connectAs("alice");
        alice.out.clear();

        alice.says("/nick alice");

        assertEquals(1, alice.texts().size());
        assertTrue(alice.last().startsWith("! "), alice.last());
        assertEquals("alice", alice.name());
    }

    @Test
    void shouldFreeNickWhenItsOwnerRenamesAgain() {
        Peer alice = h.connectAs("alice");
        alice.says("/nick alicia");
        Peer bob = h.connect();

        bob.says("/nick alice");

        assertEquals("alice", bob.name());
        assertSame(alice.client, h.findClient("alicia").orElseThrow());
        assertSame(bob.client, h.findClient("alice").orElseThrow());
    }

    @Test
    void shouldAcceptNickOfExactlyThirtyTwoCharactersOfTheAllowedSet() {
        String nick = "Az09_.-" + "x".repeat(25);
        Peer p = h.connectAs(nick);

        assertEquals(32, nick.length());
        assertEquals(nick, p.name());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/nick abcdefghijabcdefghijabcdefghijabc", "/nick bad!nick", "/nick b\u00e4r",
        "/nick a:b", "/nick \u212Aate", "/nick", "/nick a b"})
    void shouldRejectInvalidNickWithAnErrorAndKeepTheOldName(String line) {
        Peer p = h.connect();
        String before = p.name();
        p.out.clear();

        p.says(line);

        assertEquals(1, p.texts().size(), p.texts().toString());
        assertTrue(p.last().startsWith("! "), p.last());
        assertEquals(before, p.name());
    }

    @Test
    void shouldNotMatchNickThroughNonAsciiCaseFolding() {
        // U+212A KELVIN SIGN lower-cases to an ASCII 'k' in Java; names are ASCII-only and compare
        // case-insensitively in ASCII, so it must not reach "kate".
        Peer kate = h.connectAs("kate");
        Peer bob = h.connectAs("bob");
        kate.out.clear();
        bob.out.clear();

        bob.says("/msg \u212Aate hello");

        assertTrue(h.findClient("\u212Aate").isEmpty());
        assertTrue(kate.texts().isEmpty(), kate.texts().toString());
        assertTrue(bob.last().startsWith("! no such user"), bob.last());
    }

    @Test
    void shouldForgetClientByIdAndNameWhenItLeaves() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connect();

        h.disconnect(alice, LeaveReason.DISCONNECTED);

        assertFalse(alice.client.isConnected());
        assertTrue(h.findClient("alice").isEmpty());
        assertEquals(List.of(bob.client), h.clients());
        assertEquals(1, h.clientCount());
        assertEquals(null, alice.client.roomName());
    }
}
