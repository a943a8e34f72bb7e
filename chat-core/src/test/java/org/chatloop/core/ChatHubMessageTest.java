package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.chatloop.core.HubHarness.Peer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Room messages: who gets them, how they look on the wire, how they are sanitised and encoded. */
class ChatHubMessageTest {
    private final HubHarness h = new HubHarness();

    @Test
    void shouldSendLineToEveryMemberOfSendersRoomSenderIncluded() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        Peer carol = h.connectAs("carol");
        carol.says("/join games");
        h.clearAll();

        alice.says("hello there");

        assertEquals(List.of("<alice> hello there"), alice.texts());
        assertEquals(List.of("<alice> hello there"), bob.texts());
        assertTrue(carol.texts().isEmpty(), carol.texts().toString());
    }

    @Test
    void shouldPrefixMessageWithAddressUntilNickIsSet() {
        Peer anon = h.connect("10.9.8.7:6543");
        anon.out.clear();

        anon.says("hi");

        assertEquals(List.of("<10.9.8.7:6543> hi"), anon.texts());
    }

    @Test
    void shouldPrefixMessageWithNewNickAfterRename() {
        Peer p = h.connectAs("old");
        p.says("/nick new");
        p.out.clear();

        p.says("hi");

        assertEquals(List.of("<new> hi"), p.texts());
    }

    @Test
    void shouldEncodeMessageAsOneUtf8LineEndingInNewline() {
        Peer alice = h.connectAs("alice");
        alice.out.clear();

        alice.says("gr\u00fc\u00dfe \u4e16\u754c \ud83d\ude00");

        Frame f = alice.out.frames.get(0);
        byte[] expected = "<alice> gr\u00fc\u00dfe \u4e16\u754c \ud83d\ude00\n".getBytes(StandardCharsets.UTF_8);
        assertEquals(expected.length, f.length());
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], f.byteAt(i), "byte " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "\t", "  \t  ", "\u001b", "\r", "\u0000\u0000", "\u3000", " \u2003 \r\u0085"})
    void shouldIgnoreEmptyAndWhitespaceOnlyLines(String line) {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();

        alice.says(line);

        assertTrue(alice.texts().isEmpty(), alice.texts().toString());
        assertTrue(bob.texts().isEmpty(), bob.texts().toString());
    }

    @Test
    void shouldKeepLeadingAndTrailingSpacesOfANonBlankLine() {
        Peer alice = h.connectAs("alice");
        alice.out.clear();

        alice.says("  indented\t ");

        assertEquals(List.of("<alice>   indented\t "), alice.texts());
    }

    @Test
    void shouldSendDoubleSlashLineAsTextWithOneSlash() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();

        alice.says("//shrug");
        alice.says("//");
        alice.says("//quit");

        assertEquals(List.of("<alice> /shrug", "<alice> /", "<alice> /quit"), bob.texts());
        assertEquals(bob.texts(), alice.texts());
        assertTrue(alice.client.isConnected());
    }

    @Test
    void shouldNotTreatLineWithLeadingSpaceAsCommand() {
        Peer alice = h.connectAs("alice");
        alice.out.clear();

        alice.says(" /quit");

        assertEquals(List.of("<alice>  /quit"), alice.texts());
        assertTrue(alice.client.isConnected());
    }

    @Test
    void shouldStripTerminalEscapeAndControlCharactersFromEveryonesCopyIncludingSenders() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();

        alice.says("\u001b[31mred\u001b[0m\rfake\u0000\u0008\u007f\u0085\u009b2J\ttab");

        List<String> expected = List.of("<alice> [31mred[0mfake2J\ttab");
        assertEquals(expected, alice.texts());
        assertEquals(expected, bob.texts());
    }

    @Test
    void shouldReplaceInvalidUtf8WithReplacementCharacterForEveryone() {
        Peer alice = h.connectAs("alice");
        Peer bob = h.connectAs("bob");
        h.clearAll();

        // 'a', lone continuation, overlong '/', 'b', encoded surrogate, 'c', truncated 3-byte sequence
        alice.saysBytes((byte) 'a', (byte) 0x80, (byte) 0xC0, (byte) 0xAF, (byte) 'b',
                (byte) 0xED, (byte) 0xA0, (byte) 0x80, (byte) 'c', (byte) 0xE2, (byte) 0x82);

        String expected = "<alice> a\ufffd\ufffd\ufffdb\ufffd\ufffd\ufffdc\ufffd";
        assertEquals(List.of(expected), alice.texts());
        assertEquals(List.of(expected), bob.texts());
    }

    @Test
    void shouldTreatLineThatIsOnlyInvalidUtf8AsText() {
        Peer alice = h.connectAs("alice");
        alice.out.clear();

        alice.saysBytes((byte) 0xFF);

        assertEquals(List.of("<alice> \ufffd"), alice.texts());
    }

    @Test
    void shouldReadOnlyTheGivenSliceOfTheBuffer() {
        Peer alice = h.connectAs("alice");
        alice.out.clear();
        byte[] buf = "xxhello\nyy".getBytes(StandardCharsets.US_ASCII);

        h.onLine(alice, buf, 2, 5);

        assertEquals(List.of("<alice> hello"), alice.texts());
    }

    @Test
    void shouldHandleLinesLongerThanTheHubsScratchBuffer() {
        Peer alice = h.connectAs("alice");
        alice.out.clear();
        String big = "\u00e9".repeat(20_000) + "\u0001" + "\ufffe".repeat(10);

        alice.says(big);

        assertEquals(List.of("<alice> " + "\u00e9".repeat(20_000) + "\ufffe".repeat(10)), alice.texts());
    }

    @Test
    void shouldHandTheSameFrameInstanceToEveryMemberExactlyOnce() {
        List<Peer> members = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            members.add(h.connectAs("m" + i));
        }
        Peer outsider = h.connectAs("outsider");
        outsider.says("/join elsewhere");
        h.clearAll();

        members.get(123).says("one frame for all");

        Frame first = members.get(0).out.frames.get(0);
        assertEquals("<m123> one frame for all", first.text());
        for (Peer m : members) {
            assertEquals(1, m.out.frames.size(), m.name());
            assertSame(first, m.out.frames.get(0), m.name());
        }
        assertTrue(outsider.texts().isEmpty());
    }

    @Test
    void shouldHandTheSameNoticeInstanceToEveryMemberWhenSomeoneLeaves() {
        List<Peer> members = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            members.add(h.connectAs("m" + i));
        }
        h.clearAll();

        h.disconnect(members.get(0), LeaveReason.TIMED_OUT);

        Frame first = members.get(1).out.frames.get(0);
        assertEquals("* m0 left (timed out)", first.text());
        for (Peer m : members.subList(1, members.size())) {
            assertEquals(1, m.out.frames.size(), m.name());
            assertSame(first, m.out.frames.get(0), m.name());
        }
        assertTrue(members.get(0).texts().isEmpty());
    }

    @Test
    void shouldLeaveSendersBufferUntouched() {
        Peer alice = h.connectAs("alice");
        byte[] buf = "\u001b[1mbold".getBytes(StandardCharsets.UTF_8);
        byte[] copy = buf.clone();

        h.onLine(alice, buf, 0, buf.length);

        assertEquals(new String(copy, StandardCharsets.UTF_8), new String(buf, StandardCharsets.UTF_8));
    }
}
