package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.chatloop.core.HubHarness.Peer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random commands and arguments (huge, empty, Unicode, control characters, invalid UTF-8) from a
 * handful of clients: the hub never throws, answers every non-blank line to its sender with a
 * notice, an error, a room message or a private-message echo, never hands anyone a frame that
 * carries a control character or a second line, and keeps its registry and rooms consistent.
 */
class ChatHubFuzzTest {
    private static final String[] COMMANDS = {
        "quit", "nick", "join", "rooms", "who", "msg", "help", "QUIT", "Nick", "jOiN", "MSG",
        "bogus", "", "/", "nick\u0000", "n\u00efck", "\u212aick", "help\u001b[2J",
    };

    private static final String[] ODD = {
        "", " ", "\t", "\u00a0", "\u3000", "\u2028", "\u0085", "\u001b[31m", "\u001b]0;pwned\u0007",
        "\u0000", "\r", "\u007f", "\u009b", "\ud83d\ude00", "\ud83d", "\ude00", "\u202e", "\u200b",
        "\u212a", "e\u0301", "\ufeff", "\uffff", "lobby", "LOBBY", "dev", "alice", "ALICE", "bob",
        "127.0.0.1:40000", "127.0.0.1", "a:b", "x".repeat(32), "x".repeat(33), "_.-", "[private]",
        "* bob left (quit)", "<alice>", "~", "//", "/quit",
    };

    private final HubHarness h = new HubHarness();
    private final List<Peer> everyone = new ArrayList<>();

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 1_000_003, 20_240_601})
    void shouldAnswerEveryRandomLineWithoutThrowing(long seed) {
        Random rnd = new Random(seed);
        List<Peer> live = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            live.add(connect());
        }
        for (int step = 0; step < 2_000; step++) {
            Peer sender = live.get(rnd.nextInt(live.size()));
            byte[] line = rnd.nextInt(10) == 0 ? randomBytes(rnd)
                    : randomLine(rnd).getBytes(StandardCharsets.UTF_8);
            for (Peer p : everyone) {
                p.out.clear();
            }
            String what = "seed " + seed + " step " + step + " from " + sender.name() + ": "
                    + preview(line);
            try {
                h.onLine(sender, line, 0, line.length);
            } catch (RuntimeException e) {
                throw new AssertionError("threw on " + what, e);
            }
            checkAnswer(sender, line, what);
            for (Peer p : everyone) {
                for (Frame f : p.out.frames) {
                    checkFrame(f, what);
                }
            }
            if (!sender.client.isConnected()) {
                assertEquals("* bye", sender.last(), what);
                assertEquals(1, sender.out.closeCount, what);
                live.remove(sender);
                live.add(connect());
            }
            checkRegistry(live, what);
        }
    }

    private Peer connect() {
        Peer p = h.connect();
        everyone.add(p);
        return p;
    }

    /** What the sender must have got back for its line. */
    private static void checkAnswer(Peer sender, byte[] line, String what) {
        byte[] clean = new byte[Utf8Text.maxSanitizedLength(line.length)];
        int n = Utf8Text.sanitize(line, 0, line.length, clean, 0);
        boolean blank = new String(clean, 0, n, StandardCharsets.UTF_8).isBlank();
        List<String> got = sender.texts();
        if (blank) {
            assertTrue(got.isEmpty(), "a blank line is ignored, " + what + " got " + got);
            return;
        }
        if (got.isEmpty()) {
            fail("no answer to " + what);
        }
        String first = got.get(0);
        assertTrue(first.startsWith("* ") || first.startsWith("! ") || first.startsWith("<")
                || first.startsWith("[private"), "answer to " + what + ": " + first);
    }

    /** A frame is one line: UTF-8, one final newline, no control character but TAB. */
    private static void checkFrame(Frame f, String what) {
        assertTrue(f.length() >= 1 && f.byteAt(f.length() - 1) == '\n', what);
        byte[] bytes = new byte[f.length()];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = f.byteAt(i);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, 0, bytes.length - 1)).toString();
        } catch (CharacterCodingException e) {
            throw new AssertionError("a frame that is not UTF-8 after " + what, e);
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean control = (c < 0x20 && c != '\t') || c == 0x7f || (c >= 0x80 && c <= 0x9f);
            if (control) {
                fail("control character U+" + Integer.toHexString(c) + " in frame "
                        + preview(bytes) + " after " + what);
            }
        }
    }

    /** Registry and rooms agree with the clients the test believes connected. */
    private void checkRegistry(List<Peer> live, String what) {
        assertEquals(live.size(), h.clientCount(), what);
        int inRooms = 0;
        for (int size : h.roomSizes().values()) {
            assertTrue(size >= 0, what);
            inRooms += size;
        }
        assertEquals(live.size(), inRooms, "everyone is in exactly one room, " + what);
        assertTrue(h.roomSizes().containsKey(ChatHub.LOBBY), what);
        for (Peer p : live) {
            assertTrue(p.client.isConnected(), what);
            String name = p.name();
            assertTrue(name.equals(p.client.address()) || Names.isValid(name),
                    "a name is the address or a valid nick: " + name + ", " + what);
            assertEquals(p.client, h.findClient(name.toUpperCase(java.util.Locale.ROOT))
                    .orElseThrow(), what);
        }
    }

    private static String randomLine(Random rnd) {
        StringBuilder sb = new StringBuilder();
        int shape = rnd.nextInt(10);
        if (shape < 7) {
            sb.append('/').append(COMMANDS[rnd.nextInt(COMMANDS.length)]);
            int args = rnd.nextInt(4);
            for (int i = 0; i < args; i++) {
                sb.append(separator(rnd)).append(argument(rnd));
            }
            if (rnd.nextInt(5) == 0) {
                sb.append(separator(rnd));
            }
        } else if (shape == 7) {
            sb.append("//").append(argument(rnd));
        } else {
            sb.append(argument(rnd)).append(separator(rnd)).append(argument(rnd));
        }
        return sb.toString();
    }

    private static String separator(Random rnd) {
        switch (rnd.nextInt(6)) {
            case 0:
                return "\t";
            case 1:
                return "  ";
            case 2:
                return " \t ";
            case 3:
                return "\u0000 ";
            default:
                return " ";
        }
    }

    private static String argument(Random rnd) {
        switch (rnd.nextInt(8)) {
            case 0:
                return ODD[rnd.nextInt(ODD.length)];
            case 1: {
                // huge: up to 200k characters
                int n = rnd.nextInt(200_000);
                return String.valueOf((char) ('a' + rnd.nextInt(26))).repeat(n);
            }
            case 2:
                return "";
            case 3:
                return randomCodePoints(rnd, rnd.nextInt(40), true);
            case 4:
                return randomCodePoints(rnd, 1 + rnd.nextInt(33), false);
            case 5:
                return "user" + rnd.nextInt(5);
            default:
                return randomCodePoints(rnd, rnd.nextInt(10), rnd.nextBoolean());
        }
    }

    /** Code points from everywhere (controls, surrogates alone, planes beyond the BMP), or ASCII. */
    private static String randomCodePoints(Random rnd, int n, boolean anywhere) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (!anywhere) {
                sb.append((char) (0x20 + rnd.nextInt(0x5f)));
                continue;
            }
            switch (rnd.nextInt(5)) {
                case 0:
                    sb.append((char) rnd.nextInt(0x20));
                    break;
                case 1:
                    sb.append((char) (0x7f + rnd.nextInt(0x21)));
                    break;
                case 2:
                    sb.append((char) rnd.nextInt(0x10000)); // lone surrogates included
                    break;
                case 3:
                    sb.appendCodePoint(0x10000 + rnd.nextInt(0x100000));
                    break;
                default:
                    sb.append((char) (0x20 + rnd.nextInt(0x5f)));
            }
        }
        return sb.toString();
    }

    /** Raw bytes, often invalid UTF-8, sometimes a command prefix. */
    private static byte[] randomBytes(Random rnd) {
        byte[] b = new byte[rnd.nextInt(rnd.nextInt(10) == 0 ? 100_000 : 64)];
        rnd.nextBytes(b);
        if (b.length > 1 && rnd.nextBoolean()) {
            b[0] = '/';
        }
        return b;
    }

    private static String preview(byte[] line) {
        String s = new String(line, StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder();
        s.codePoints().limit(60).forEach(cp -> {
            if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return sb + (s.length() > 60 ? "... (" + line.length + " bytes)" : "");
    }
}
