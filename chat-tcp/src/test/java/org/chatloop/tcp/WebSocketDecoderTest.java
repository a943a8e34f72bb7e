package org.chatloop.tcp;

import static org.chatloop.tcp.ClientFrames.utf8;
import static org.chatloop.tcp.Recorder.hex;
import static org.chatloop.tcp.WebSocketDecoder.OP_BINARY;
import static org.chatloop.tcp.WebSocketDecoder.OP_CLOSE;
import static org.chatloop.tcp.WebSocketDecoder.OP_CONTINUATION;
import static org.chatloop.tcp.WebSocketDecoder.OP_PING;
import static org.chatloop.tcp.WebSocketDecoder.OP_PONG;
import static org.chatloop.tcp.WebSocketDecoder.OP_TEXT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Frame decoder: every case of RFC 6455 section 5 that a server checks, each at every split point. */
class WebSocketDecoderTest {
    private static final int MAX = 4096;

    /** Feeds {@code input} whole and returns the events. */
    static List<String> decode(int max, byte[] input) {
        Recorder r = new Recorder();
        new WebSocketDecoder(max).feed(input, 0, input.length, r);
        return r.events;
    }

    /**
     * Decodes {@code input} whole, split at every byte boundary, one byte at a time and through a
     * direct buffer, asserts each gives {@code expected}, and returns nothing else.
     */
    static void assertEverySplit(int max, byte[] input, List<String> expected) {
        assertEquals(expected, decode(max, input), "whole");
        for (int split = 0; split <= input.length; split++) {
            Recorder r = new Recorder();
            WebSocketDecoder d = new WebSocketDecoder(max);
            d.feed(input, 0, split, r);
            d.feed(input, split, input.length - split, r);
            assertEquals(expected, r.events, "split at " + split);
        }
        Recorder r = new Recorder();
        WebSocketDecoder d = new WebSocketDecoder(max);
        for (int i = 0; i < input.length; i++) {
            d.feed(input, i, 1, r);
        }
        assertEquals(expected, r.events, "one byte at a time");
        Recorder direct = new Recorder();
        ByteBuffer buf = ByteBuffer.allocateDirect(input.length).put(input).flip();
        new WebSocketDecoder(max).feed(buf, direct);
        assertEquals(expected, direct.events, "direct buffer");
        assertFalse(buf.hasRemaining());
    }

    private static void assertError(int code, byte[] input) {
        assertEverySplit(MAX, input, List.of("ERROR " + code));
    }

    private static byte[] repeat(char c, int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }

    @Test
    void shouldDeliverOneTextMessagePerFrame() {
        assertEverySplit(MAX, new ClientFrames().text("hello").text("").text("bye").build(),
                List.of("TEXT hello", "TEXT ", "TEXT bye"));
    }

    @Test
    void shouldDecodeSixteenAndSixtyFourBitLengths() {
        String s200 = "x".repeat(200);
        String s70k = "y".repeat(70_000);
        assertEverySplit(100_000, new ClientFrames().text(s200).text(s70k).build(),
                List.of("TEXT " + s200, "TEXT " + s70k));
    }

    @Test
    void shouldAcceptNonMinimalLengthEncodings() {
        byte[] in = new ClientFrames()
                .raw(0x80 | OP_TEXT, true, utf8("ab"), 2)
                .raw(0x80 | OP_TEXT, true, utf8("cd"), 8)
                .build();
        assertEverySplit(MAX, in, List.of("TEXT ab", "TEXT cd"));
    }

    @Test
    void shouldReassembleFragmentsWithInterleavedControlFrames() {
        byte[] in = new ClientFrames()
                .frame(false, OP_TEXT, utf8("one "))
                .ping("p1")
                .frame(false, OP_CONTINUATION, utf8("two "))
                .pong("p2")
                .frame(false, OP_CONTINUATION, new byte[0])
                .frame(true, OP_CONTINUATION, utf8("three"))
                .text("next")
                .build();
        assertEverySplit(MAX, in, List.of("PING " + hex("p1"), "PONG " + hex("p2"),
                "TEXT one two three", "TEXT next"));
    }

    @Test
    void shouldValidateUtf8AcrossFragments() {
        byte[] euro = utf8("€"); // E2 82 AC
        byte[] smile = utf8("\uD83D\uDE00"); // F0 9F 98 80
        byte[] in = new ClientFrames()
                .frame(false, OP_TEXT, new byte[] {'a', euro[0]})
                .frame(false, OP_CONTINUATION, new byte[] {euro[1]})
                .ping("")
                .frame(false, OP_CONTINUATION, new byte[] {euro[2], smile[0], smile[1]})
                .frame(true, OP_CONTINUATION, new byte[] {smile[2], smile[3], (byte) 'z'})
                .build();
        assertEverySplit(MAX, in, List.of("PING ", "TEXT a€\uD83D\uDE00z"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"c0af", "c1bf", "e08080", "eda080", "edbfbf", "f08f8080", "f4908080",
        "f5808080", "ff", "80", "e282", "f09f98", "c3", "41e2824141"})
    void shouldCloseWith1007OnInvalidUtf8(String hexBytes) {
        byte[] bad = java.util.HexFormat.of().parseHex(hexBytes);
        assertError(1007, new ClientFrames().frame(true, OP_TEXT, bad).text("never").build());
    }

    @Test
    void shouldCloseWith1007WhenAFragmentBreaksACharacterStartedInTheLast() {
        byte[] in = new ClientFrames()
                .frame(false, OP_TEXT, new byte[] {(byte) 0xE2, (byte) 0x82})
                .frame(true, OP_CONTINUATION, utf8("A"))
                .build();
        assertError(1007, in);
    }

    @Test
    void shouldReportPingPayloadUpTo125Bytes() {
        String p125 = "p".repeat(125);
        assertEverySplit(MAX, new ClientFrames().ping("").ping("hi").ping(p125).build(),
                List.of("PING ", "PING " + hex("hi"), "PING " + hex(p125)));
    }

    @ParameterizedTest
    @ValueSource(ints = {OP_PING, OP_PONG, OP_CLOSE})
    void shouldRejectControlFramesOver125Bytes(int opcode) {
        assertError(1002, new ClientFrames().frame(true, opcode, repeat('c', 126)).build());
        // Even a 125-byte payload sent with a 16-bit length is over: the 7-bit field says 126.
        assertError(1002, new ClientFrames().raw(0x80 | opcode, true, repeat('c', 5), 2).build());
    }

    @ParameterizedTest
    @ValueSource(ints = {OP_PING, OP_PONG, OP_CLOSE})
    void shouldRejectFragmentedControlFrames(int opcode) {
        assertError(1002, new ClientFrames().frame(false, opcode, utf8("x")).build());
    }

    @Test
    void shouldParseCloseFramesAndIgnoreWhatFollows() {
        assertEverySplit(MAX, new ClientFrames().close(1000, "bye").text("ignored").build(),
                List.of("CLOSE 1000 bye"));
        assertEverySplit(MAX, new ClientFrames().frame(true, OP_CLOSE, new byte[0]).text("x").build(),
                List.of("CLOSE 1005 "));
        assertEverySplit(MAX, new ClientFrames().close(4999, "é".repeat(61)).build(),
                List.of("CLOSE 4999 " + "é".repeat(61)));
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999})
    void shouldAcceptValidCloseCodes(int code) {
        assertEquals(List.of("CLOSE " + code + " r"), decode(MAX, new ClientFrames().close(code, "r").build()));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535})
    void shouldRejectInvalidCloseCodesWith1002(int code) {
        assertError(1002, new ClientFrames().close(code, "").build());
    }

    @Test
    void shouldRejectAOneByteClosePayload() {
        assertError(1002, new ClientFrames().frame(true, OP_CLOSE, new byte[] {3}).build());
    }

    @Test
    void shouldRejectACloseReasonThatIsNotUtf8With1007() {
        assertError(1007, new ClientFrames()
                .frame(true, OP_CLOSE, new byte[] {0x03, (byte) 0xE8, (byte) 0xC0, (byte) 0x80}).build());
    }

    @Test
    void shouldRejectUnmaskedFrames() {
        assertError(1002, new ClientFrames().raw(0x80 | OP_TEXT, false, utf8("hi"), 0).build());
        assertError(1002, new ClientFrames().raw(0x80 | OP_PING, false, new byte[0], 0).build());
    }

    @ParameterizedTest
    @ValueSource(ints = {0x40, 0x20, 0x10, 0x70})
    void shouldRejectReservedBits(int rsv) {
        assertError(1002, new ClientFrames().raw(0x80 | rsv | OP_TEXT, true, utf8("hi"), 0).build());
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF})
    void shouldRejectUnknownOpcodes(int opcode) {
        assertError(1002, new ClientFrames().frame(true, opcode, utf8("x")).build());
    }

    @Test
    void shouldCloseWith1003OnBinaryMessages() {
        assertEverySplit(MAX, new ClientFrames().text("ok").frame(true, OP_BINARY, new byte[] {1, 2}).build(),
                List.of("TEXT ok", "ERROR 1003"));
    }

    @Test
    void shouldRejectContinuationWithoutAMessage() {
        assertError(1002, new ClientFrames().frame(true, OP_CONTINUATION, utf8("x")).build());
        assertEverySplit(MAX, new ClientFrames().text("done").frame(false, OP_CONTINUATION, utf8("x")).build(),
                List.of("TEXT done", "ERROR 1002"));
    }

    @ParameterizedTest
    @ValueSource(ints = {OP_TEXT, OP_BINARY})
    void shouldRejectANewDataFrameInsideAFragmentedMessage(int opcode) {
        assertError(1002, new ClientFrames().frame(false, OP_TEXT, utf8("a")).frame(true, opcode, utf8("b")).build());
    }

    @Test
    void shouldRejectA64BitLengthWithTheHighBitSet() {
        assertError(1002, new ClientFrames().bytes(0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1).build());
    }

    @Test
    void shouldReportOneErrorAndIgnoreAllFurtherInput() {
        Recorder r = new Recorder();
        WebSocketDecoder d = new WebSocketDecoder(MAX);
        byte[] bad = new ClientFrames().raw(0x81, false, utf8("x"), 0).text("after").build();
        d.feed(bad, 0, bad.length, r);
        byte[] more = new ClientFrames().text("more").frame(true, OP_BINARY, new byte[1]).build();
        d.feed(more, 0, more.length, r);
        assertEquals(List.of("ERROR 1002"), r.events);
        assertTrue(d.isDone());
    }

    @Test
    void shouldAcceptAMessageOfExactlyTheLimit() {
        String s = "m".repeat(MAX);
        assertEverySplit(MAX, new ClientFrames().text(s).build(), List.of("TEXT " + s));
    }

    @Test
    void shouldDiscardAnOverLongFrameAndKeepTheConnection() {
        byte[] in = new ClientFrames().text("m".repeat(11)).text("ok").build();
        assertEverySplit(10, in, List.of("TOO_LONG", "TEXT ok"));
    }

    @Test
    void shouldDiscardAMessageThatOutgrowsTheLimitAcrossFragments() {
        byte[] in = new ClientFrames()
                .frame(false, OP_TEXT, utf8("12345678"))
                .frame(false, OP_CONTINUATION, utf8("9"))
                .ping("a")
                .frame(false, OP_CONTINUATION, utf8("0123"))
                .ping("b")
                .frame(false, OP_CONTINUATION, utf8("more"))
                .frame(true, OP_CONTINUATION, utf8("end"))
                .text("0123456789")
                .build();
        assertEverySplit(10, in, List.of("PING " + hex("a"), "TOO_LONG", "PING " + hex("b"), "TEXT 0123456789"));
    }

    @Test
    void shouldStillRejectProtocolErrorsWhileDiscarding() {
        byte[] in = new ClientFrames()
                .frame(false, OP_TEXT, repeat('x', 20))
                .frame(true, OP_TEXT, utf8("new message inside"))
                .build();
        assertEverySplit(10, in, List.of("TOO_LONG", "ERROR 1002"));
    }

    @Test
    void shouldDiscardAMebibyteMessageWithBoundedMemoryThenDeliverTheNext() {
        ClientFrames frames = new ClientFrames();
        int fragment = 64 * 1024;
        for (int i = 0; i < 16; i++) {
            frames.frame(i == 15, i == 0 ? OP_TEXT : OP_CONTINUATION, repeat('z', fragment));
            if (i == 7) {
                frames.ping("mid");
            }
        }
        frames.frame(true, OP_TEXT, repeat('w', 1 << 20)); // and one single 1 MiB frame
        frames.text("next line");
        byte[] in = frames.build();
        Recorder r = new Recorder();
        WebSocketDecoder d = new WebSocketDecoder(MAX);
        int maxBuffered = 0;
        for (int off = 0; off < in.length; off += 8192) {
            d.feed(in, off, Math.min(8192, in.length - off), r);
            maxBuffered = Math.max(maxBuffered, d.bufferedBytes());
        }
        assertEquals(List.of("TOO_LONG", "PING " + hex("mid"), "TOO_LONG", "TEXT next line"), r.events);
        assertTrue(maxBuffered <= MAX + 256, "retained " + maxBuffered);
    }

    @Test
    void shouldKeepNoLargeBufferAfterALargeMessage() {
        WebSocketDecoder d = new WebSocketDecoder(1 << 20);
        byte[] in = new ClientFrames().text("q".repeat(100_000)).build();
        Recorder r = new Recorder();
        d.feed(in, 0, in.length, r);
        assertEquals(1, r.events.size());
        assertTrue(d.bufferedBytes() <= 256, "retained " + d.bufferedBytes());
    }

    @Test
    void shouldDecodeEveryValidStreamTheSameAtEveryBoundary() {
        byte[] in = new ClientFrames()
                .text("héllo wörld")
                .frame(false, OP_TEXT, utf8("frag"))
                .ping("interleaved")
                .frame(true, OP_CONTINUATION, utf8("mented ✓"))
                .pong("")
                .text("x".repeat(300))
                .close(1001, "going away")
                .build();
        assertEverySplit(MAX, in, List.of("TEXT héllo wörld", "PING " + hex("interleaved"),
                "TEXT fragmented ✓", "PONG ", "TEXT " + "x".repeat(300), "CLOSE 1001 going away"));
    }

    @Test
    void toStringShowsState() {
        assertTrue(new WebSocketDecoder(10).toString().contains("state=0"));
    }

    @Test
    void longPayloadsUnmaskTheSameWordAtATimeAsByteByByteAtEverySplit() {
        // Lengths around the 16-byte threshold of the word-at-a-time path, and splits that start
        // the word loop at every phase of the mask key.
        for (int len = 0; len <= 70; len++) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < len; i++) {
                text.append((char) ('a' + (i * 7 + len) % 26));
            }
            byte[] frames = new ClientFrames().text(text.toString()).text("after").build();
            assertEverySplit(4096, frames, List.of("TEXT " + text, "TEXT after"));
        }
    }
}
