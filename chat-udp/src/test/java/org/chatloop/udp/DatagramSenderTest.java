package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.chatloop.core.Frame;
import org.junit.jupiter.api.Test;
import org.mockito.InOrder;

class DatagramSenderTest {
    private static final InetSocketAddress A = new InetSocketAddress("127.0.0.1", 1);
    private static final InetSocketAddress B = new InetSocketAddress("127.0.0.1", 2);
    private static final InetSocketAddress C = new InetSocketAddress("127.0.0.1", 3);

    private final DatagramSender.Wire wire = mock(DatagramSender.Wire.class);

    /** What the wire was handed, as text, and whether the buffer was direct. */
    private final List<String> sent = new ArrayList<>();
    private final Map<ByteBuffer, Boolean> buffers = new IdentityHashMap<>();

    private void recordSends(int... results) throws IOException {
        int[] call = {0};
        when(wire.send(any(), any())).thenAnswer(inv -> {
            int result = call[0] < results.length ? results[call[0]] : 1;
            call[0]++;
            ByteBuffer b = inv.getArgument(0);
            buffers.put(b, b.isDirect());
            if (result == 0) {
                return 0; // no room: the buffer is not consumed
            }
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            sent.add(new String(bytes, StandardCharsets.UTF_8) + " -> "
                    + ((InetSocketAddress) inv.getArgument(1)).getPort());
            return bytes.length;
        });
    }

    @Test
    void shouldSendABroadcastFrameWithOneCopyIntoOneDirectBuffer() throws IOException {
        recordSends();
        DatagramSender sender = new DatagramSender(wire, 16, 1 << 20);
        Frame frame = Frame.line("<x> hello");
        for (SocketAddress to : new SocketAddress[] {A, B, C}) {
            sender.send(frame, to);
        }
        assertEquals(List.of("<x> hello\n -> 1", "<x> hello\n -> 2", "<x> hello\n -> 3"), sent);
        assertEquals(1, sender.frameCopies(), "one copy per frame, not per recipient");
        assertEquals(1, buffers.size(), "one reusable buffer");
        assertTrue(buffers.values().iterator().next(), "a direct buffer: no JDK temporary copy");
        sender.send(Frame.line("next"), A);
        assertEquals(2, sender.frameCopies());
        verify(wire, never()).writeInterest(true);
        assertEquals(0, sender.dropped());
    }

    @Test
    void shouldQueueWhenTheSocketIsFullAskForWriteInterestOnceAndKeepOrder() throws IOException {
        recordSends(1, 0);
        DatagramSender sender = new DatagramSender(wire, 16, 1 << 20);
        Frame one = Frame.line("one");
        Frame two = Frame.line("two");
        sender.send(one, A);
        sender.send(one, B); // no room
        sender.send(two, A); // queued behind it, though the socket might have room now
        sender.send(two, B);
        assertEquals(List.of("one\n -> 1"), sent);
        assertEquals(3, sender.queued());
        assertTrue(sender.wantsWrite());
        verify(wire, times(1)).writeInterest(true);

        sender.onWritable();
        assertEquals(List.of("one\n -> 1", "one\n -> 2", "two\n -> 1", "two\n -> 2"), sent);
        assertEquals(0, sender.queued());
        assertFalse(sender.wantsWrite());
        InOrder order = inOrder(wire);
        order.verify(wire).writeInterest(true);
        order.verify(wire).writeInterest(false);
        assertEquals(0, sender.dropped());
    }

    @Test
    void shouldDropAndCountPastTheQueueBoundWithoutGrowing() throws IOException {
        when(wire.send(any(), any())).thenReturn(0);
        DatagramSender sender = new DatagramSender(wire, 4, 1 << 20);
        Frame f = Frame.line("x");
        for (int i = 0; i < 1000; i++) {
            sender.send(f, A);
        }
        assertEquals(4, sender.queued());
        assertEquals(996, sender.dropped());
        assertEquals(4, sender.queue().capacity());
        assertTrue(sender.queuedBytes() <= 4 * SendQueue.ENTRY_OVERHEAD + f.length());
    }

    @Test
    void shouldCountAFailedSendAndGoOn() throws IOException {
        when(wire.send(any(), eq(B))).thenThrow(new IOException("unreachable"));
        when(wire.send(any(), eq(A))).thenAnswer(inv -> ((ByteBuffer) inv.getArgument(0)).remaining());
        DatagramSender sender = new DatagramSender(wire, 4, 1 << 20);
        Frame f = Frame.line("x");
        sender.send(f, A);
        sender.send(f, B);
        sender.send(f, A);
        assertEquals(1, sender.dropped());
        assertEquals(0, sender.queued());
        verify(wire, times(2)).send(any(), eq(A));
    }

    @Test
    void shouldNotSendMoreThanABoundedBatchPerWritableEvent() throws IOException {
        recordSends(0);
        DatagramSender sender = new DatagramSender(wire, 5000, 1 << 20);
        Frame f = Frame.line("x");
        for (int i = 0; i < 3000; i++) {
            sender.send(f, A);
        }
        sender.onWritable();
        assertEquals(3000 - DatagramSender.MAX_SENDS_PER_WRITABLE, sender.queued());
        assertTrue(sender.wantsWrite());
    }

    @Test
    void shouldCutAFrameLongerThanADatagramAtACharacterBoundary() throws IOException {
        List<byte[]> payloads = new ArrayList<>();
        when(wire.send(any(), any())).thenAnswer(inv -> {
            ByteBuffer b = inv.getArgument(0);
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            payloads.add(bytes);
            return bytes.length;
        });
        DatagramSender sender = new DatagramSender(wire, 4, 1 << 20);
        // 3-byte characters, so that the limit falls inside one.
        Frame huge = Frame.line("\u20ac".repeat(30_000));
        sender.send(huge, A);
        byte[] got = payloads.get(0);
        assertTrue(got.length <= UdpServerOptions.MAX_DATAGRAM_BYTES);
        String text = new String(got, StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\u20ac...\n"), text.substring(text.length() - 10));
        assertFalse(text.contains("\uFFFD"));
        sender.send(Frame.line("small"), A);
        assertArrayEquals("small\n".getBytes(StandardCharsets.UTF_8), payloads.get(1));
    }

    @Test
    void shouldDropWhatIsLeftWhenAFlushTimesOut() throws IOException {
        when(wire.send(any(), any())).thenReturn(0);
        DatagramSender sender = new DatagramSender(wire, 8, 1 << 20);
        for (int i = 0; i < 5; i++) {
            sender.send(Frame.line("x" + i), A);
        }
        assertFalse(sender.flush(1_000_000));
        assertEquals(0, sender.queued());
        assertEquals(5, sender.dropped());
        assertFalse(sender.wantsWrite());
    }

    @Test
    void shouldFlushEverythingWhenTheSocketHasRoomAgain() throws IOException {
        recordSends(0, 0, 0);
        DatagramSender sender = new DatagramSender(wire, 8, 1 << 20);
        for (int i = 0; i < 3; i++) {
            sender.send(Frame.line("y" + i), B);
        }
        assertTrue(sender.flush(5_000_000_000L));
        assertEquals(List.of("y0\n -> 2", "y1\n -> 2", "y2\n -> 2"), sent);
        assertEquals(0, sender.dropped());
    }
}
