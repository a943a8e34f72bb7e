package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The naming rule shared by nicks and rooms. */
class NamesTest {

    @ParameterizedTest
    @ValueSource(strings = {"a", "Z", "0", "_", ".", "-", "bob", "Bob_2.0-rc", "abcdefghijabcdefghijabcdefghij12"})
    void shouldAcceptOneToThirtyTwoAllowedCharacters(String name) {
        assertTrue(Names.isValid(name), name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abcdefghijabcdefghijabcdefghij123", "a b", "a\tb", "a/b", "a:b", "a~b", "caf\u00e9",
        "\u212Aate", "\uff41", "a\u0000", "#room", "a!"})
    void shouldRejectAnythingElse(String name) {
        assertFalse(Names.isValid(name), name);
    }

    @Test
    void shouldCompareNamesCaseInsensitively() {
        assertEquals(Names.key("Bob"), Names.key("bOB"));
        assertEquals(Names.key("LOBBY"), Names.key(ChatHub.LOBBY));
        assertNotEquals(Names.key("bob"), Names.key("bob2"));
    }

    @Test
    void shouldFoldOnlyAsciiLettersSoNoOtherCharacterCollidesWithAValidName() {
        // U+212A KELVIN SIGN and U+0130 LATIN CAPITAL I WITH DOT lower-case to ASCII in Java.
        assertNotEquals(Names.key("kate"), Names.key("\u212Aate"));
        assertNotEquals(Names.key("ian"), Names.key("\u0130an"));
        assertEquals("10.0.0.1:5000~3", Names.key("10.0.0.1:5000~3"));
    }
}
