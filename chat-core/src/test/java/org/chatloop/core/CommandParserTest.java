package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The command language, parsed without a hub. */
class CommandParserTest {

    private static String errorOf(String line) {
        return assertInstanceOf(Command.Invalid.class, CommandParser.parse(line), line).error();
    }

    @Test
    void shouldParseEveryCommand() {
        assertEquals(new Command.Quit(), CommandParser.parse("/quit"));
        assertEquals(new Command.Nick("bob"), CommandParser.parse("/nick bob"));
        assertEquals(new Command.Join("games"), CommandParser.parse("/join games"));
        assertEquals(new Command.Rooms(), CommandParser.parse("/rooms"));
        assertEquals(new Command.Who(), CommandParser.parse("/who"));
        assertEquals(new Command.Msg("bob", "hi there"), CommandParser.parse("/msg bob hi there"));
        assertEquals(new Command.Help(), CommandParser.parse("/help"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/QUIT", "/Quit", "/qUiT"})
    void shouldMatchCommandNamesInAnyCase(String line) {
        assertEquals(new Command.Quit(), CommandParser.parse(line));
    }

    @Test
    void shouldMatchEveryCommandNameInUpperCaseAndKeepArgumentCase() {
        assertEquals(new Command.Nick("Bob"), CommandParser.parse("/NICK Bob"));
        assertEquals(new Command.Join("Games"), CommandParser.parse("/JOIN Games"));
        assertEquals(new Command.Rooms(), CommandParser.parse("/ROOMS"));
        assertEquals(new Command.Who(), CommandParser.parse("/WHO"));
        assertEquals(new Command.Msg("Bob", "Hi"), CommandParser.parse("/MSG Bob Hi"));
        assertEquals(new Command.Help(), CommandParser.parse("/HELP"));
    }

    @Test
    void shouldFoldOnlyAsciiCaseInCommandNames() {
        // U+212A KELVIN SIGN lower-cases to 'k' in Java; "/nic\u212A" is not "/nick".
        assertInstanceOf(Command.Invalid.class, CommandParser.parse("/nic\u212A bob"));
        assertInstanceOf(Command.Invalid.class, CommandParser.parse("/\u0130\u0130"));
    }

    @Test
    void shouldSeparateArgumentsBySpacesOrTabsAndIgnoreTrailingOnes() {
        assertEquals(new Command.Nick("bob"), CommandParser.parse("/nick\t  bob \t"));
        assertEquals(new Command.Quit(), CommandParser.parse("/quit   "));
        assertEquals(new Command.Msg("bob", "a \t b  "), CommandParser.parse("/msg \tbob\t a \t b  "));
    }

    @Test
    void shouldTreatNonCommandLinesAsText() {
        assertEquals(new Command.Say("hello"), CommandParser.parse("hello"));
        assertEquals(new Command.Say(" /quit"), CommandParser.parse(" /quit"));
        assertEquals(new Command.Say("/shrug"), CommandParser.parse("//shrug"));
        assertEquals(new Command.Say("/"), CommandParser.parse("//"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/quit now|/quit",
        "/rooms x|/rooms",
        "/who x|/who",
        "/help x|/help",
        "/nick|/nick NAME",
        "/nick   |/nick NAME",
        "/nick a b|/nick NAME",
        "/join|/join ROOM",
        "/join a b|/join ROOM",
        "/msg|/msg NAME TEXT",
        "/msg bob|/msg NAME TEXT",
        "/msg bob   \t |/msg NAME TEXT"})
    void shouldAnswerMissingOrExtraArgumentsWithUsage(String line, String form) {
        assertEquals("usage: " + form, errorOf(line));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/nick bad!", "/nick " + "abcdefghij" + "abcdefghij" + "abcdefghij" + "abc",
        "/nick caf\u00e9", "/nick a:b"})
    void shouldRejectInvalidNickWithTheNamingRule(String line) {
        String error = errorOf(line);

        assertTrue(error.startsWith("invalid nick"), error);
        assertTrue(error.contains(Names.RULE), error);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/join #games", "/join room/1", "/join rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"})
    void shouldRejectInvalidRoomNameWithTheNamingRule(String line) {
        String error = errorOf(line);

        assertTrue(error.startsWith("invalid room name"), error);
        assertTrue(error.contains(Names.RULE), error);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/frob", "/", "/ nick bob", "/quitt", "/nicks bob", "/?"})
    void shouldRejectUnknownCommandsAndPointToHelp(String line) {
        String error = errorOf(line);

        assertTrue(error.startsWith("unknown command /"), error);
        assertTrue(error.contains("/help"), error);
    }

    @Test
    void shouldShortenAVeryLongUnknownCommandName() {
        String error = errorOf("/" + "x".repeat(500));

        assertTrue(error.length() < 100, error);
        assertTrue(error.contains("..."), error);
    }

    @Test
    void shouldNotSplitASurrogatePairWhenShorteningAnUnknownCommandName() {
        String name = "x".repeat(31) + "\ud83d\ude00" + "y".repeat(10);

        String error = errorOf("/" + name);

        for (int i = 0; i < error.length(); i++) {
            char c = error.charAt(i);
            if (Character.isHighSurrogate(c)) {
                assertTrue(i + 1 < error.length() && Character.isLowSurrogate(error.charAt(i + 1)), error);
            } else {
                assertTrue(!Character.isLowSurrogate(c) || Character.isHighSurrogate(error.charAt(i - 1)), error);
            }
        }
    }

    @Test
    void shouldNeverThrowOnRandomInput() {
        Random random = new Random(0xC0FFEEL);
        String[] starts = {"/", "//", "/nick ", "/join ", "/msg ", "/MSG a ", "/quit", "/who", "/rooms ", "/help\t", ""};
        for (int t = 0; t < 20_000; t++) {
            StringBuilder sb = new StringBuilder(starts[random.nextInt(starts.length)]);
            int len = random.nextInt(40);
            for (int i = 0; i < len; i++) {
                sb.append(randomChar(random));
            }
            String line = sb.toString();

            Command c = assertDoesNotThrow(() -> CommandParser.parse(line), () -> "input: " + escape(line));
            assertNotNull(c, line);
            if (!line.startsWith("/")) {
                assertEquals(new Command.Say(line), c);
            }
            if (c instanceof Command.Nick nick) {
                assertTrue(Names.isValid(nick.name()), nick.toString());
            } else if (c instanceof Command.Join join) {
                assertTrue(Names.isValid(join.room()), join.toString());
            } else if (c instanceof Command.Msg msg) {
                assertTrue(!msg.target().isEmpty() && !msg.text().isBlank(), msg.toString());
            }
        }
    }

    private static char randomChar(Random random) {
        switch (random.nextInt(8)) {
            case 0: return ' ';
            case 1: return '\t';
            case 2: return (char) random.nextInt(0x20);
            case 3: return (char) (0x7F + random.nextInt(0x21));
            case 4: return (char) (0xD800 + random.nextInt(0x800));
            case 5: return (char) random.nextInt(0x10000);
            case 6: return '/';
            default: return (char) ('a' + random.nextInt(26));
        }
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c >= 0x20 && c < 0x7F ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return sb.toString();
    }
}
