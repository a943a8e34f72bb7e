package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TlsTransportTest {
    private static final int LINES = 1000;
    private static final int LINE_BYTES = 64;

    @TempDir
    Path dir;

    @Test
    void shouldSealAGatheringWriteOfManyLinesIntoAsFewRecordsAsTheyFill() throws Exception {
        TestCerts certs = TestCerts.make(dir, "records", false);
        SSLContext serverContext = PemTls.serverContext(certs.cert(), certs.key());
        SSLContext clientContext = PemTls.clientContext(certs.cert());
        ByteBuffer[] lines = new ByteBuffer[LINES];
        ByteBuffer all = ByteBuffer.allocate(LINES * LINE_BYTES);
        for (int i = 0; i < LINES; i++) {
            String text = String.format("line %5d ", i);
            byte[] b = (text + "x".repeat(LINE_BYTES - text.length() - 1) + "\n")
                    .getBytes(StandardCharsets.US_ASCII);
            lines[i] = ByteBuffer.wrap(b);
            all.put(b);
        }
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                try (SSLSocket s = (SSLSocket) clientContext.getSocketFactory()
                        .createSocket("127.0.0.1", port)) {
                    s.startHandshake();
                    return s.getInputStream().readNBytes(LINES * LINE_BYTES);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (SocketChannel raw = listener.accept()) {
                RecordCounter wire = new RecordCounter(raw);
                TlsTransport tls = TlsTransport.server(wire, serverContext, new TlsBuffers());
                assertEquals(0, tls.handshake(), "a blocking socket finishes the handshake");
                wire.records.clear();

                assertEquals(LINES * LINE_BYTES, tls.write(lines, 0, LINES));

                // 64,000 bytes of plaintext in 1,000 buffers: three full records (16 KiB of
                // plaintext each, give or take the JDK's TLS 1.3 framing) and one of the rest,
                // not one record per buffer.
                assertEquals(4, wire.records.size(), wire.records.toString());
                for (int i = 0; i < 3; i++) {
                    int len = wire.records.get(i);
                    assertTrue(len >= 16_383 && len <= 16_384 + 256, wire.records.toString());
                }
                assertTrue(wire.records.get(3) < wire.records.get(0), wire.records.toString());
                assertArrayEquals(all.array(), received.get(10, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void shouldSendSealedRecordsInOrderWhenTheSocketTakesThemInPieces() throws Exception {
        TestCerts certs = TestCerts.make(dir, "pieces", false);
        SSLContext serverContext = PemTls.serverContext(certs.cert(), certs.key());
        SSLContext clientContext = PemTls.clientContext(certs.cert());
        ByteBuffer[] lines = new ByteBuffer[LINES];
        ByteBuffer all = ByteBuffer.allocate(LINES * LINE_BYTES);
        for (int i = 0; i < LINES; i++) {
            String text = String.format("line %5d ", i);
            byte[] b = (text + "y".repeat(LINE_BYTES - text.length() - 1) + "\n")
                    .getBytes(StandardCharsets.US_ASCII);
            lines[i] = ByteBuffer.wrap(b);
            all.put(b);
        }
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                try (SSLSocket s = (SSLSocket) clientContext.getSocketFactory()
                        .createSocket("127.0.0.1", port)) {
                    s.startHandshake();
                    return s.getInputStream().readNBytes(LINES * LINE_BYTES);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (SocketChannel raw = listener.accept()) {
                Trickle wire = new Trickle(raw);
                TlsTransport tls = TlsTransport.server(wire, serverContext, new TlsBuffers());
                assertEquals(0, tls.handshake(), "a blocking socket finishes the handshake");

                // The first half is sealed whole, but the socket takes 10,000 bytes of it: the
                // rest is held, and counted as written (it went through the engine).
                int half = LINES / 2;
                wire.allowance = 10_000;
                assertEquals(half * LINE_BYTES, tls.write(lines, 0, half));
                assertTrue(tls.owesWrite());
                // While the held records do not all go, nothing new is sealed.
                wire.allowance = 5_000;
                assertEquals(0, tls.write(lines, half, LINES - half));
                assertTrue(tls.owesWrite());
                int offset = half;
                for (int round = 0; round < 1_000 && (tls.owesWrite() || offset < LINES);
                        round++) {
                    wire.allowance = 7_000;
                    if (tls.owesWrite()) {
                        tls.drain();
                    } else {
                        tls.write(lines, offset, LINES - offset);
                        while (offset < LINES && !lines[offset].hasRemaining()) {
                            offset++;
                        }
                    }
                }
                assertEquals(LINES, offset);
                assertTrue(!tls.owesWrite());
                assertArrayEquals(all.array(), received.get(10, TimeUnit.SECONDS));
            }
        }
    }

    /** Takes at most {@link #allowance} bytes of writes, then nothing: a socket filling up. */
    private static final class Trickle implements ByteChannel {
        int allowance = Integer.MAX_VALUE;
        private final SocketChannel channel;

        Trickle(SocketChannel channel) {
            this.channel = channel;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = Math.min(src.remaining(), allowance);
            if (n == 0) {
                return 0;
            }
            ByteBuffer part = src.duplicate();
            part.limit(part.position() + n);
            int w = channel.write(part); // blocking: all of it
            src.position(src.position() + w);
            allowance -= w;
            return w;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return channel.read(dst);
        }

        @Override
        public boolean isOpen() {
            return channel.isOpen();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** Passes writes through and records the length of each TLS record written. */
    private static final class RecordCounter implements ByteChannel {
        final List<Integer> records = new ArrayList<>();
        private final SocketChannel channel;
        private final byte[] header = new byte[5];
        private int headerBytes;
        private int bodyLeft;

        RecordCounter(SocketChannel channel) {
            this.channel = channel;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            ByteBuffer view = src.duplicate();
            int n = channel.write(src);
            for (int i = 0; i < n; i++) {
                byte b = view.get();
                if (bodyLeft > 0) {
                    bodyLeft--;
                } else {
                    header[headerBytes++] = b;
                    if (headerBytes == 5) {
                        headerBytes = 0;
                        bodyLeft = ((header[3] & 0xff) << 8) | (header[4] & 0xff);
                        records.add(bodyLeft);
                    }
                }
            }
            return n;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return channel.read(dst);
        }

        @Override
        public boolean isOpen() {
            return channel.isOpen();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
