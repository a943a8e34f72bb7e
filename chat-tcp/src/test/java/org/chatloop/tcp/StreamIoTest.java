package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The steps both ends of a stream share, without sockets: a scripted transport stands in. */
class StreamIoTest {

    /**
     * Writes to a {@link OutboundQueueTest.SlowChannel} (at most {@code perWrite} bytes a call);
     * reads what {@link #input} scripts, then 0, or end of stream once told; owes a write while
     * told to.
     */
    private static final class ScriptedTransport implements Transport {
        final OutboundQueueTest.SlowChannel socket = new OutboundQueueTest.SlowChannel(1 << 20);
        final ArrayDeque<String> input = new ArrayDeque<>();
        boolean endOfStream;
        int drains;
        boolean owes;
        boolean drainSends = true;
        boolean closed;
        IOException closeFails;

        @Override
        public int read(ByteBuffer dst) {
            if (input.isEmpty()) {
                return endOfStream ? -1 : 0;
            }
            byte[] b = input.poll().getBytes(StandardCharsets.UTF_8);
            dst.put(b);
            return b.length;
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) {
            return socket.write(srcs, offset, length);
        }

        @Override
        public long write(ByteBuffer[] srcs) {
            return socket.write(srcs);
        }

        @Override
        public int write(ByteBuffer src) {
            return socket.write(src);
        }

        String written() {
            return socket.got.toString(StandardCharsets.UTF_8);
        }

        @Override
        public boolean drain() {
            drains++;
            if (drainSends) {
                owes = false;
            }
            return !owes;
        }

        @Override
        public boolean owesWrite() {
            return owes;
        }

        @Override
        public boolean isOpen() {
            return !closed;
        }

        @Override
        public void close() throws IOException {
            closed = true;
            if (closeFails != null) {
                throw closeFails;
            }
        }
    }

    /** Records what the shared read calls back, in order. */
    private static final class RecordingEnd implements StreamIo.End {
        final List<String> events = new ArrayList<>();

        @Override
        public void onLine(byte[] buf, int off, int len) {
            events.add("line " + new String(buf, off, len, StandardCharsets.UTF_8));
        }

        @Override
        public void onLineTooLong() {
            events.add("too long");
        }

        @Override
        public void endOfStream() {
            events.add("end");
        }

        @Override
        public void flush() {
            events.add("flush");
        }
    }

    private static OutboundQueue queueOf(SlabPool pool, String... parts) {
        OutboundQueue out = new OutboundQueue(pool);
        for (String p : parts) {
            byte[] b = p.getBytes(StandardCharsets.UTF_8);
            out.append(b, 0, b.length);
        }
        return out;
    }

    @Test
    void shouldWriteOnlyAsOftenAsAllowedAndReportWhatIsLeft() throws IOException {
        OutboundQueue out = queueOf(new SlabPool(64, 4), "hello ", "world\n");
        ScriptedTransport t = new ScriptedTransport();
        t.socket.perWrite = 4;

        assertFalse(StreamIo.write(out, t, t, new ByteBuffer[4], Long.MAX_VALUE, 1));
        assertEquals(1, t.socket.calls);
        assertEquals("hell", t.written());
        assertEquals(0, t.drains, "the transport is drained only once the queue is");

        assertTrue(StreamIo.write(out, t, t, new ByteBuffer[4], Long.MAX_VALUE,
                Integer.MAX_VALUE));
        assertEquals("hello world\n", t.written());
        assertEquals(1, t.drains);
    }

    @Test
    void shouldStopWritingOnceTheChannelTakesNothing() throws IOException {
        OutboundQueue out = queueOf(new SlabPool(64, 4), "stuck\n");
        ScriptedTransport t = new ScriptedTransport();
        t.socket.perWrite = 0;

        assertFalse(StreamIo.write(out, t, t, new ByteBuffer[4], Long.MAX_VALUE,
                Integer.MAX_VALUE));
        assertEquals(1, t.socket.calls);
    }

    @Test
    void shouldCountAsWrittenOnlyOnceTheTransportSentWhatItHolds() throws IOException {
        OutboundQueue out = queueOf(new SlabPool(64, 4), "x\n");
        ScriptedTransport t = new ScriptedTransport();
        t.owes = true;
        t.drainSends = false;

        assertFalse(StreamIo.write(out, t, t, new ByteBuffer[4], Long.MAX_VALUE, 1));
        assertTrue(out.isEmpty());

        t.drainSends = true;
        assertTrue(StreamIo.write(out, t, t, new ByteBuffer[4], Long.MAX_VALUE, 1),
                "an empty queue still drains the transport");
        assertEquals(1, t.socket.calls, "nothing more to write from the queue");
    }

    @Test
    void shouldWriteToThePlainChannelWhenThereIsNoTransport() throws IOException {
        OutboundQueue out = queueOf(new SlabPool(64, 4), "plain\n");
        ScriptedTransport socket = new ScriptedTransport();

        assertTrue(StreamIo.write(out, socket, null, new ByteBuffer[4], 128 * 1024, 1));
        assertEquals("plain\n", socket.written());
        assertEquals(0, socket.drains, "a plain socket holds nothing of its own");
    }

    @Test
    void shouldFeedNothingAndReportWhatTheDecoderHeldThenEndAtEndOfStream() throws IOException {
        ScriptedTransport t = new ScriptedTransport();
        t.input.add("hi\nunfinished");
        t.endOfStream = true;
        LineDecoder decoder = new LineDecoder(100);
        RecordingEnd end = new RecordingEnd();
        ByteBuffer buf = ByteBuffer.allocate(64);

        int n = StreamIo.read(t, null, buf, decoder, end);
        assertEquals(13, n);
        decoder.feed(buf.array(), 0, n, end);
        assertEquals(0, StreamIo.read(t, null, buf, decoder, end));

        assertEquals(List.of("line hi", "line unfinished", "end"), end.events);
    }

    @Test
    void shouldFlushWhenNothingCameButTheTransportOwesAWrite() throws IOException {
        ScriptedTransport t = new ScriptedTransport();
        RecordingEnd end = new RecordingEnd();
        ByteBuffer buf = ByteBuffer.allocate(64);

        assertEquals(0, StreamIo.read(t, null, buf, new LineDecoder(100), end));
        assertEquals(List.of(), end.events, "nothing to read and nothing owed: just wait");

        t.owes = true;
        assertEquals(0, StreamIo.read(t, null, buf, new LineDecoder(100), end));
        assertEquals(List.of("flush"), end.events);
    }

    @Test
    void shouldCloseTheStreamAndReturnTheSlabsAndReportAFailedClose() {
        SlabPool pool = new SlabPool(64, 0);
        OutboundQueue out = queueOf(pool, "never sent\n");
        ScriptedTransport t = new ScriptedTransport();
        IOException fails = new IOException("reset");
        t.closeFails = fails;

        assertSame(fails, StreamIo.release(null, t, out));
        assertTrue(t.closed);
        assertTrue(out.isEmpty());
        assertEquals(0, out.pendingBytes());

        ScriptedTransport quiet = new ScriptedTransport();
        assertNull(StreamIo.release(null, quiet, queueOf(pool)));
        assertNull(StreamIo.release(null, null, queueOf(pool)), "nothing was ever opened");
    }
}
