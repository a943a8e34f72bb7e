package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.atLeastOnce;
import static org.mockito.Mockito.clearInvocations;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;

import java.util.List;
import org.chatloop.core.HubHarness.Peer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mockito.ArgumentCaptor;
import org.mockito.InOrder;

/** The commands a client can send, as the hub applies them. */
class ChatHubCommandTest {
    private final HubHarness h = new HubHarness();

    @Test
    void shouldDeliverPrivateMessageToTargetInAnyRoomAndToNobodyElse() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        Peer carol = h.connectAs("carol");
        Peer dave = h.connectAs("dave");
        bob.says("/join games");
        dave.says("/join games");
        h.clearAll();

        alice.says("/msg BOB meet me  at 5");

        assertEquals(List.of("[private] <alice> meet me  at 5"), bob.texts());
        assertEquals(List.of("[private to bob] meet me  at 5"), alice.texts());
        assertTrue(carol.texts().isEmpty(), carol.texts().toString());
        assertTrue(dave.texts().isEmpty(), dave.texts().toString());
    }

    @Test
    void shouldDeliverPrivateMessageToSelfOnce() {
        Peer alice = h.connectAs("alice");
        alice.out.clear();

        alice.says("/msg alice note to self");

        assertEquals(List.of("[private] <alice> note to self"), alice.texts());
    }

    @Test
    void shouldDeliverPrivateMessageToClientKnownByItsAddress() {
        Peer alice = h.connectAs("alice");
        Peer anon = h.connect("10.1.2.3:4567");
        h.clearAll();

        alice.says("/msg 10.1.2.3:4567 hi");

        assertEquals(List.of("[private] <alice> hi"), anon.texts());
    }

    @Test
    void shouldReportErrorForPrivateMessageToUnknownName() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();

        alice.says("/msg nobody hello");

        assertEquals(List.of("! no such user: nobody"), alice.texts());
        assertTrue(bob.texts().isEmpty());
    }

    @Test
    void shouldStripControlCharactersFromPrivateMessages() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();

        alice.says("/msg bob \u001b[2Jhi\u0007 there\u009b");

        assertEquals(List.of("[private] <alice> [2Jhi there"), bob.texts());
        assertEquals(List.of("[private to bob] [2Jhi there"), alice.texts());
    }

    @Test
    void shouldAnswerHelpWithTheCommandListToTheAskerOnly() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();

        alice.says("/HELP");

        assertEquals(1, alice.texts().size());
        String help = alice.last();
        assertTrue(help.startsWith("* "), help);
        for (String cmd : List.of("/nick", "/join", "/rooms", "/who", "/msg", "/quit", "/help")) {
            assertTrue(help.contains(cmd), help + " lacks " + cmd);
        }
        assertTrue(bob.texts().isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/frobnicate", "/", "/ quit", "/quit now", "/rooms all", "/who me",
        "/help me", "/join", "/join a b", "/nick", "/msg", "/msg bob", "/msg bob    ", "/nicky bob"})
    void shouldAnswerUnknownCommandOrBadArgumentsWithAnErrorToTheSenderOnly(String line) {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();

        alice.says(line);

        assertEquals(1, alice.texts().size(), alice.texts().toString());
        assertTrue(alice.last().startsWith("! "), alice.last());
        assertTrue(bob.texts().isEmpty(), bob.texts().toString());
        assertTrue(alice.client.isConnected());
        assertEquals("alice", alice.name());
        assertEquals("lobby", alice.client.roomName());
    }

    @Test
    void shouldSayByeThenRemoveThenCloseOnQuit() {
        ChatHub hub = new ChatHub();
        ClientOutput output = mock(ClientOutput.class);
        RecordingOutput other = new RecordingOutput();
        Client quitter = hub.connect("10.0.0.1:1", output);
        hub.connect("10.0.0.2:2", other);
        hub.onLine(quitter, "/nick q");
        other.clear();
        // Remember, at the moment close() is called, whether the hub still had the client.
        boolean[] registeredAtClose = new boolean[1];
        doAnswer(inv -> {
            registeredAtClose[0] = hub.findClient("q").isPresent() || quitter.isConnected();
            return null;
        }).when(output).close();

        hub.onLine(quitter, "/Quit");

        InOrder order = inOrder(output);
        ArgumentCaptor<Frame> sent = ArgumentCaptor.forClass(Frame.class);
        order.verify(output, atLeastOnce()).send(sent.capture());
        order.verify(output).close();
        order.verifyNoMoreInteractions();
        assertEquals("* bye", sent.getValue().text());
        assertFalse(registeredAtClose[0], "client must be removed before close()");
        assertFalse(quitter.isConnected());
        assertEquals(1, hub.clientCount());
        assertEquals(List.of("* q left (quit)"), other.texts());
    }

    @Test
    void shouldIgnoreDisconnectAndLinesAfterQuit() {
        ChatHub hub = new ChatHub();
        ClientOutput output = mock(ClientOutput.class);
        RecordingOutput other = new RecordingOutput();
        Client quitter = hub.connect("10.0.0.1:1", output);
        hub.connect("10.0.0.2:2", other);
        hub.onLine(quitter, "/quit");
        other.clear();
        clearInvocations(output);

        hub.disconnect(quitter, LeaveReason.DISCONNECTED);
        hub.onLine(quitter, "still here?");
        hub.onLine(quitter, "/quit");

        verify(output, never()).send(any());
        verify(output, never()).close();
        assertTrue(other.texts().isEmpty(), other.texts().toString());
        assertEquals(1, hub.clientCount());
    }

    @Test
    void shouldNotCloseOutputWhenTransportReportsDisconnect() {
        ChatHub hub = new ChatHub();
        ClientOutput output = mock(ClientOutput.class);
        Client c = hub.connect("10.0.0.1:1", output);

        hub.disconnect(c, LeaveReason.CONNECTION_ERROR);

        verify(output, never()).close();
        assertFalse(c.isConnected());
        assertEquals(0, hub.clientCount());
    }
}
