package org.chatloop.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import org.junit.jupiter.api.Test;

/** Frames: the factories, their sanitising, and the ways a transport reads a frame out. */
class FrameTest {

    private static byte[] bytesOf(Frame f) {
        ByteBuffer b = ByteBuffer.allocate(f.length());
        f.copyTo(b);
        return b.array();
    }

    @Test
    void shouldPrefixNoticeWithStarAndEndWithNewline() {
        Frame f = Frame.notice("hello");

        assertEquals("* hello", f.text());
        assertArrayEquals("* hello\n".getBytes(UTF_8), bytesOf(f));
    }

    @Test
    void shouldPrefixErrorWithBang() {
        assertArrayEquals("! nope\n".getBytes(UTF_8), bytesOf(Frame.error("nope")));
    }

    @Test
    void shouldEndPlainLineWithNewlineOnly() {
        assertArrayEquals("<a> x\n".getBytes(UTF_8), bytesOf(Frame.line("<a> x")));
        assertArrayEquals("\n".getBytes(UTF_8), bytesOf(Frame.line("")));
    }

    @Test
    void shouldStripControlCharactersInEveryFactory() {
        String nasty = "a\u001b[31mb\r\nc\u0000d\u007fe\u0085f\u009b\tg";

        assertEquals("* a[31mbcdef\tg", Frame.notice(nasty).text());
        assertEquals("! a[31mbcdef\tg", Frame.error(nasty).text());
        assertEquals("a[31mbcdef\tg", Frame.line(nasty).text());
    }

    @Test
    void shouldCarryNoLineBreakBeforeTheFinalNewline() {
        Frame f = Frame.line("one\ntwo\rthree\u2028four");

        for (int i = 0; i < f.length() - 1; i++) {
            assertTrue(f.byteAt(i) != '\n' && f.byteAt(i) != '\r', "byte " + i);
        }
        assertEquals('\n', f.byteAt(f.length() - 1));
        assertEquals("onetwothree\u2028four", f.text());
    }

    @Test
    void shouldEncodeNonAsciiTextAsUtf8() {
        Frame f = Frame.notice("caf\u00e9 \ud83d\ude00");

        assertArrayEquals("* caf\u00e9 \ud83d\ude00\n".getBytes(UTF_8), bytesOf(f));
        assertEquals("* caf\u00e9 \ud83d\ude00\n".getBytes(UTF_8).length, f.length());
    }

    @Test
    void shouldCopyPartOfTheFrame() {
        Frame f = Frame.line("abcdef");
        ByteBuffer dst = ByteBuffer.allocate(10);

        f.copyTo(2, dst, 3);

        assertEquals(3, dst.position());
        assertEquals("cde", new String(dst.array(), 0, 3, UTF_8));
    }

    @Test
    void shouldRefuseToOverflowTheDestination() {
        Frame f = Frame.line("abcdef");
        ByteBuffer small = ByteBuffer.allocate(3);

        assertThrows(BufferOverflowException.class, () -> f.copyTo(small));
        assertEquals(0, small.position());
    }

    @Test
    void shouldExposeOnlyReadOnlyViewsThatDoNotChangeTheFrame() {
        Frame f = Frame.line("abc");
        ByteBuffer view = f.asReadOnlyBuffer();

        assertTrue(view.isReadOnly());
        assertThrows(ReadOnlyBufferException.class, () -> view.put(0, (byte) 'z'));
        view.get(new byte[2]);
        ByteBuffer second = f.asReadOnlyBuffer();
        assertEquals(0, second.position(), "each view has its own position");
        assertEquals(4, second.remaining());
        assertEquals("abc", f.text());
    }

    @Test
    void shouldShowTextInToString() {
        assertTrue(Frame.notice("hi").toString().contains("* hi"));
    }
}
