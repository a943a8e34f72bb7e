package org.chatloop.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.chatloop.bench.peers.PeerServer;
import org.chatloop.bench.peers.WebSocketPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The WebSocket side of the fan-out harness: its frame reader, and every peer under it. */
class WebSocketFanOutTest {

    @ParameterizedTest
    @EnumSource(WebSocketPeer.class)
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void everyPeerDeliversEveryMessageInOrderAtBothLineSizes(WebSocketPeer peer) throws Exception {
        for (int size : new int[] {64, 1024}) {
            try (PeerServer server = peer.start()) {
                FanOutHarness harness = peer.webSocket()
                        ? FanOutHarness.webSocket(server.port(), 5, size, 64)
                        : new FanOutHarness(server.port(), 5, size, 64);
                try {
                    long d = harness.publish(3000, TimeUnit.SECONDS.toNanos(20));
                    assertEquals(5L * 3000, d, peer + " at " + size);
                    assertEquals(5L * 500, harness.publish(500, TimeUnit.SECONDS.toNanos(20)));
                } finally {
                    harness.close();
                }
            }
        }
    }

    @Test
    void readerReassemblesFramesSplitAtEveryByte() {
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        List<String> sent = new ArrayList<>();
        int[] lengths = {0, 1, 5, 125, 126, 127, 300, 65535, 65536, 3};
        for (int i = 0; i < lengths.length; i++) {
            String text = "m" + i + ":" + "x".repeat(Math.max(0, lengths[i] - 3));
            text = text.substring(0, Math.min(text.length(), Math.max(lengths[i], 1)));
            sent.add(text);
            stream.writeBytes(frame(0x81, text.getBytes(StandardCharsets.UTF_8)));
            if (i == 2) {
                stream.writeBytes(frame(0x89, "ping".getBytes(StandardCharsets.UTF_8)));
            }
        }
        byte[] all = stream.toByteArray();
        for (int chunk : new int[] {1, 2, 3, 7, 64, 1000, all.length}) {
            Collector c = new Collector();
            WsFrameReader reader = new WsFrameReader(c);
            byte[] copy = new byte[chunk];
            for (int at = 0; at < all.length; at += chunk) {
                int n = Math.min(chunk, all.length - at);
                System.arraycopy(all, at, copy, 0, n); // the caller's buffer is reused
                reader.consume(copy, 0, n);
            }
            assertNull(c.failure, "chunk " + chunk);
            assertEquals(sent, c.texts, "chunk " + chunk);
        }
    }

    @Test
    void readerRefusesCloseMaskedAndFragmentedFrames() {
        for (byte[] bad : new byte[][] {
            frame(0x88, new byte[] {0x03, (byte) 0xE8}),
            {(byte) 0x81, (byte) 0x81, 1, 2, 3, 4, 'a'},
            frame(0x01, "part".getBytes(StandardCharsets.UTF_8)),
            frame(0xC1, "rsv1".getBytes(StandardCharsets.UTF_8)),
        }) {
            Collector c = new Collector();
            new WsFrameReader(c).consume(bad, 0, bad.length);
            assertTrue(c.failure != null && c.texts.isEmpty(), String.valueOf(c.failure));
        }
    }

    private static byte[] frame(int b0, byte[] payload) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(b0);
        int n = payload.length;
        if (n <= 125) {
            out.write(n);
        } else if (n <= 0xFFFF) {
            out.write(126);
            out.write(n >>> 8);
            out.write(n);
        } else {
            out.write(127);
            for (int i = 7; i >= 0; i--) {
                out.write(i >= 4 ? 0 : n >>> (8 * i));
            }
        }
        out.writeBytes(payload);
        return out.toByteArray();
    }

    private static final class Collector implements WsFrameReader.Sink {
        final List<String> texts = new ArrayList<>();
        String failure;

        @Override
        public void text(byte[] buf, int off, int len) {
            texts.add(new String(buf, off, len, StandardCharsets.UTF_8));
        }

        @Override
        public void failed(String why) {
            if (failure == null) {
                failure = why;
            }
        }
    }
}
