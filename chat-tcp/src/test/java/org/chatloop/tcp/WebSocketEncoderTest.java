package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.chatloop.core.Frame;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Server frames: exact bytes, header sizes, close reasons cut on a character boundary, and a round trip through the decoder. */
class WebSocketEncoderTest {

    /** Decodes a server frame (after masking it as a client would) with the decoder. */
    private static List<String> roundTrip(byte[] serverFrame) {
        return WebSocketDecoderTest.decode(1 << 20, ClientFrames.maskServerFrame(serverFrame));
    }

    @Test
    void shouldFrameAChatLineWithoutItsNewline() {
        byte[] out = WebSocketEncoder.text(Frame.line("hi"));
        assertArrayEquals(new byte[] {(byte) 0x81, 2, 'h', 'i'}, out);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 125, 126, 1000, 65535, 65536, 200_000})
    void shouldUseTwoFourOrTenByteHeaders(int payload) {
        Frame line = Frame.line("a".repeat(payload));
        byte[] out = WebSocketEncoder.text(line);
        int header = payload <= 125 ? 2 : payload <= 65535 ? 4 : 10;
        assertEquals(header, WebSocketEncoder.headerLength(payload));
        assertEquals(header + payload, out.length);
        assertEquals(out.length, WebSocketEncoder.textFrameLength(line));
        assertEquals((byte) 0x81, out[0]);
        if (header == 4) {
            assertEquals(126, out[1]);
            assertEquals(payload, ((out[2] & 0xFF) << 8) | (out[3] & 0xFF));
        } else if (header == 10) {
            assertEquals(127, out[1]);
            assertEquals(payload, ByteBuffer.wrap(out, 2, 8).getLong());
        } else {
            assertEquals(payload, out[1]);
        }
        assertEquals(List.of("TEXT " + "a".repeat(payload)), roundTrip(out));
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 125, 126, 70_000})
    void shouldWriteTheSameBytesIntoABuffer(int payload) {
        Frame line = Frame.line("é".repeat(payload / 2) + "b");
        byte[] expected = WebSocketEncoder.text(line);
        ByteBuffer dst = ByteBuffer.allocateDirect(expected.length + 3);
        dst.put((byte) 9);
        WebSocketEncoder.writeText(line, dst);
        assertEquals(expected.length + 1, dst.position());
        byte[] got = new byte[expected.length];
        dst.flip().position(1);
        dst.get(got);
        assertArrayEquals(expected, got);
    }

    @Test
    void shouldRefuseToWriteIntoATooSmallBuffer() {
        assertThrows(java.nio.BufferOverflowException.class,
                () -> WebSocketEncoder.writeText(Frame.line("hello"), ByteBuffer.allocate(6)));
    }

    @Test
    void shouldEchoAPingPayloadInAPong() {
        byte[] payload = {1, 2, 3};
        assertArrayEquals(new byte[] {(byte) 0x8A, 3, 1, 2, 3}, WebSocketEncoder.pong(payload, 0, 3));
        assertArrayEquals(new byte[] {(byte) 0x8A, 0}, WebSocketEncoder.pong(payload, 0, 0));
        assertEquals(List.of("PONG 010203"), roundTrip(WebSocketEncoder.pong(payload, 0, 3)));
        assertThrows(IllegalArgumentException.class, () -> WebSocketEncoder.pong(new byte[126], 0, 126));
    }

    @Test
    void shouldFrameACloseWithCodeAndReason() {
        byte[] out = WebSocketEncoder.close(1002, "bad");
        assertArrayEquals(new byte[] {(byte) 0x88, 5, 0x03, (byte) 0xEA, 'b', 'a', 'd'}, out);
        assertEquals(List.of("CLOSE 1002 bad"), roundTrip(out));
        assertArrayEquals(new byte[] {(byte) 0x88, 0}, WebSocketEncoder.close());
        assertThrows(IllegalArgumentException.class, () -> WebSocketEncoder.close(1005, ""));
    }

    @Test
    void shouldTruncateACloseReasonOnACharacterBoundary() {
        String reason = "a".repeat(122) + "é"; // 124 bytes: the é would be cut in half
        byte[] out = WebSocketEncoder.close(1000, reason);
        assertEquals(2 + 2 + 122, out.length);
        assertEquals(List.of("CLOSE 1000 " + "a".repeat(122)), roundTrip(out));
        byte[] exact = WebSocketEncoder.close(1000, "a".repeat(121) + "é"); // 123 bytes: fits
        assertEquals(2 + 125, exact.length);
        String emoji = "\uD83D\uDE00".repeat(40); // 160 bytes of 4-byte characters
        byte[] cut = WebSocketEncoder.close(1001, emoji);
        assertEquals(2 + 2 + 120, cut.length);
        assertEquals(List.of("CLOSE 1001 " + "\uD83D\uDE00".repeat(30)), roundTrip(cut));
    }

    @Test
    void shouldFrameRawTextAndPing() {
        byte[] utf8 = "ok".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(new byte[] {(byte) 0x81, 2, 'o', 'k'}, WebSocketEncoder.text(utf8, 0, 2));
        assertArrayEquals(new byte[] {(byte) 0x89, 1, 'k'}, WebSocketEncoder.ping(utf8, 1, 1));
    }
}
