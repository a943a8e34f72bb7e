package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The incremental validator agrees with the JDK's strict UTF-8 decoder, however input is cut. */
class Utf8ValidatorTest {

    private static boolean jdkValid(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    @Test
    void shouldAgreeWithTheJdkOnRandomInputCutAnywhere() {
        Random rnd = new Random(56);
        int valid = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] b = new byte[rnd.nextInt(12)];
            for (int j = 0; j < b.length; j++) {
                // Mostly bytes that start or continue multi-byte sequences, where the mistakes are.
                b[j] = (byte) (rnd.nextInt(4) == 0 ? rnd.nextInt(0x80) : 0x80 + rnd.nextInt(0x80));
            }
            boolean expected = jdkValid(b);
            valid += expected ? 1 : 0;
            assertEquals(expected, Utf8Validator.isValid(b, 0, b.length), java.util.HexFormat.of().formatHex(b));
            int cut = b.length == 0 ? 0 : rnd.nextInt(b.length + 1);
            Utf8Validator v = new Utf8Validator();
            boolean incremental = v.update(b, 0, cut) && v.update(b, cut, b.length - cut) && v.atBoundary();
            assertEquals(expected, incremental, "cut at " + cut);
        }
        assertEquals(true, valid > 500, "too few valid samples: " + valid);
    }

    @Test
    void shouldAcceptEveryCodePointAndRejectSurrogates() {
        for (int cp = 0; cp <= 0x10FFFF; cp += (cp < 0x10000 ? 1 : 97)) {
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                continue;
            }
            byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
            assertEquals(true, Utf8Validator.isValid(b, 0, b.length), Integer.toHexString(cp));
        }
        byte[] surrogate = {(byte) 0xED, (byte) 0xB0, (byte) 0x80};
        assertEquals(false, Utf8Validator.isValid(surrogate, 0, 3));
    }
}
