package org.chatloop.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.HdrHistogram.Histogram;
import tlschannel.ClientTlsChannel;
import tlschannel.NeedsReadException;
import tlschannel.NeedsWriteException;

/**
 * The client side of a TCP fan-out measurement: one publisher and N subscribers on one selector,
 * driven by the calling thread (so the load generator is one thread, on its own core).
 *
 * <p>The publisher sends lines of exactly {@code lineBytes} bytes, {@code #SEQ ppp...\n}, keeping at
 * most {@code window} messages ahead of the slowest subscriber, so nothing piles up in the server
 * and no slow-consumer limit is reached. Every subscriber checks that it receives every sequence
 * number in order; a gap, a repeat, a malformed line or a timeout fails the run rather than
 * reporting a number. Lines without a {@code #} or {@code $} marker (server notices) are ignored.
 * Parsing is cheap, so that the harness is not what is measured: once a subscriber has seen where
 * the marker stands in the publisher's lines (after the server's {@code <NAME> } prefix), it checks
 * a whole line by its known length (marker, digits, newline) without scanning it byte by byte;
 * anything else goes through a byte-wise parser.
 *
 * <p>Over TLS every client runs tls-channel's {@link ClientTlsChannel} on the JDK's
 * {@code SSLEngine}, offering only TLS 1.3 with {@link #TLS_CIPHER}, whatever the server: the
 * client side costs the same for every server compared.
 *
 * <p>Not thread safe: one thread drives it.
 */
public final class FanOutHarness implements AutoCloseable {
    private static final byte DATA = '#';
    private static final byte SYNC = '$';
    /** The one cipher suite the harness offers over TLS. */
    public static final String TLS_CIPHER = "TLS_AES_128_GCM_SHA256";

    private final Selector selector;
    private final int lineBytes;
    private final int window;
    private final List<Subscriber> subscribers = new ArrayList<>();
    private final SocketChannel publisher;
    private final SSLContext tls;
    private final ByteChannel publisherIo;
    private boolean publisherOwes;
    private final ByteBuffer readBuffer = ByteBuffer.allocate(256 * 1024);
    /**
     * The clients' TLS buffers, pooled: tls-channel's default allocator makes new heap buffers
     * on every read that finds its buffers released, which was 72% of all bytes allocated in a
     * TLS fan-out run (JFR) and load on the client core that every server's figure shares.
     */
    private final PooledBuffers tlsBuffers = new PooledBuffers();
    private final ByteBuffer out = ByteBuffer.allocateDirect(1 << 20);
    private final int[] doneCount;
    private final long[] sentAt;
    private Histogram latency;
    private long fullyDelivered;
    private long sent;
    private long deliveries;
    private String failure;

    /**
     * Connects a publisher and {@code subscriberCount} subscribers to 127.0.0.1:{@code port} and
     * waits until every subscriber receives the publisher's lines.
     *
     * @param lineBytes each published line's size, newline included (at least 16)
     * @param window messages in flight at most
     */
    public FanOutHarness(int port, int subscriberCount, int lineBytes, int window)
            throws IOException {
        this(port, subscriberCount, lineBytes, window, null);
    }

    /**
     * Same as {@link #FanOutHarness(int, int, int, int)}, over TLS unless {@code tls} is null.
     *
     * @param tls the client context (whom to trust), or null for plain TCP
     */
    public FanOutHarness(int port, int subscriberCount, int lineBytes, int window, SSLContext tls)
            throws IOException {
        this.tls = tls;
        if (lineBytes < 16) {
            throw new IllegalArgumentException("lineBytes must be at least 16: " + lineBytes);
        }
        this.lineBytes = lineBytes;
        this.window = window;
        this.doneCount = new int[window];
        this.sentAt = new long[window];
        this.selector = Selector.open();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
        for (int i = 0; i < subscriberCount; i++) {
            SocketChannel ch = connect(address);
            Subscriber s = new Subscriber(ch, secure(ch));
            s.channel.register(selector, SelectionKey.OP_READ, s);
            subscribers.add(s);
        }
        publisher = connect(address);
        publisherIo = secure(publisher);
        publisher.register(selector, SelectionKey.OP_READ, null);
        sync(TimeUnit.SECONDS.toNanos(60));
    }

    /** Over TLS: a blocking handshake, then the channel turns non-blocking. */
    private ByteChannel secure(SocketChannel ch) throws IOException {
        if (tls == null) {
            ch.configureBlocking(false);
            return ch;
        }
        SSLEngine engine = tls.createSSLEngine();
        engine.setUseClientMode(true);
        engine.setEnabledProtocols(new String[] {"TLSv1.3"});
        engine.setEnabledCipherSuites(new String[] {TLS_CIPHER});
        ClientTlsChannel io = ClientTlsChannel.newBuilder(ch, engine)
                .withPlainBufferAllocator(tlsBuffers).withEncryptedBufferAllocator(tlsBuffers)
                .build();
        io.handshake();
        ch.configureBlocking(false);
        return io;
    }

    /** Writes what {@code b} holds as far as the socket takes it (over TLS: and what is owed). */
    private void write(ByteBuffer b) throws IOException {
        try {
            publisherIo.write(b);
            publisherOwes = false;
        } catch (NeedsWriteException e) {
            publisherOwes = true; // the bytes taken are in a record still to be sent
        }
    }

    private static SocketChannel connect(InetSocketAddress address) throws IOException {
        SocketChannel ch = SocketChannel.open();
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.connect(address); // blocking connect: the server may be a blocking design
        return ch;
    }

    /**
     * Sends sync lines ({@code $K}) until every subscriber has seen one, so that all are
     * registered with the server before measuring.
     */
    private void sync(long timeoutNanos) throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        long k = 0;
        long nextSync = 0;
        while (true) {
            long now = System.nanoTime();
            if (now - nextSync >= 0) {
                k++;
                writeFully(("$" + k + "\n").getBytes(StandardCharsets.US_ASCII), deadline);
                nextSync = now + TimeUnit.MILLISECONDS.toNanos(200);
            }
            poll(1);
            boolean all = true;
            for (Subscriber s : subscribers) {
                if (s.lastSync == 0) {
                    all = false;
                    break;
                }
            }
            if (all) {
                return;
            }
            if (now - deadline > 0) {
                throw new IOException("subscribers did not all receive a sync line within the "
                        + "timeout; the server may not be relaying");
            }
        }
    }

    private void writeFully(byte[] bytes, long deadline) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining() || publisherOwes) {
            write(b);
            if (b.hasRemaining() || publisherOwes) {
                poll(1);
                if (System.nanoTime() - deadline > 0) {
                    throw new IOException("publisher could not write");
                }
            }
        }
    }

    /**
     * Publishes {@code messages} more lines and waits until every subscriber has all of them.
     *
     * @return deliveries made by this batch (messages x subscribers)
     * @throws IOException on a loss, gap, malformed line, closed connection or timeout
     */
    public long publish(int messages, long timeoutNanos) throws IOException {
        long target = sent + messages;
        long before = deliveries;
        long deadline = System.nanoTime() + timeoutNanos;
        while (fullyDelivered < target) {
            fillAndWrite(target);
            poll(0);
            if (failure != null) {
                throw new IOException(failure);
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("timed out: " + fullyDelivered + " of " + target
                        + " messages reached every subscriber; " + this);
            }
        }
        return deliveries - before;
    }

    /**
     * Publishes {@code messages} more lines at a fixed rate (open loop, each line written as soon
     * as it is due) and records, for every delivery, the nanoseconds from the write of the line to
     * its arrival at the subscriber.
     *
     * @param perSecond the publish rate
     * @param into where latencies go, in nanoseconds
     * @return deliveries made
     */
    public long publishAtRate(int messages, double perSecond, Histogram into, long timeoutNanos)
            throws IOException {
        long target = sent + messages;
        long before = deliveries;
        long start = System.nanoTime();
        long first = sent;
        long deadline = start + timeoutNanos;
        latency = into;
        try {
            while (fullyDelivered < target) {
                long due = first + (long) ((System.nanoTime() - start) * perSecond / 1e9) + 1;
                long upTo = Math.min(Math.min(due, target), fullyDelivered + window);
                while (sent < upTo) {
                    sent++;
                    putLine(sent);
                    out.flip();
                    sentAt[(int) (sent % window)] = System.nanoTime();
                    write(out);
                    out.compact();
                    if (out.position() > 0) {
                        throw new IOException("publisher socket full at " + perSecond
                                + " msg/s: the rate is too high for a latency run");
                    }
                }
                poll(0);
                if (failure != null) {
                    throw new IOException(failure);
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IOException("timed out: " + this);
                }
            }
        } finally {
            latency = null;
        }
        return deliveries - before;
    }

    private void fillAndWrite(long target) throws IOException {
        long limit = Math.min(target, fullyDelivered + window);
        while (sent < limit && out.remaining() >= lineBytes) {
            sent++;
            putLine(sent);
        }
        if (out.position() > 0 || publisherOwes) {
            out.flip();
            write(out);
            out.compact();
        }
    }

    private void putLine(long seq) {
        int start = out.position();
        out.put(DATA);
        putDigits(seq);
        out.put((byte) ' ');
        while (out.position() < start + lineBytes - 1) {
            out.put((byte) 'p');
        }
        out.put((byte) '\n');
    }

    private void putDigits(long v) {
        if (v >= 10) {
            putDigits(v / 10);
        }
        out.put((byte) ('0' + (v % 10)));
    }

    private void poll(long timeoutMillis) throws IOException {
        if (timeoutMillis == 0) {
            selector.selectNow(this::onReadable);
        } else {
            selector.select(this::onReadable, timeoutMillis);
        }
    }

    private void onReadable(SelectionKey key) {
        Subscriber s = (Subscriber) key.attachment();
        ByteChannel ch = s != null ? s.io : publisherIo;
        try {
            // Over TLS, read until the channel needs the socket: records it has already taken
            // in are invisible to the selector.
            for (int i = 0; i < 8 || tls != null; i++) {
                readBuffer.clear();
                int n;
                try {
                    n = ch.read(readBuffer);
                } catch (NeedsReadException e) {
                    return;
                }
                if (n < 0) {
                    fail("a connection was closed by the server");
                    key.cancel();
                    return;
                }
                if (n == 0) {
                    return;
                }
                if (s != null) {
                    s.consume(readBuffer.array(), n);
                }
            }
        } catch (IOException e) {
            fail("read failed: " + e);
            key.cancel();
        }
    }

    private void fail(String why) {
        if (failure == null) {
            failure = why;
        }
    }

    private void delivered(long seq) {
        deliveries++;
        int slot = (int) (seq % window);
        if (latency != null) {
            latency.recordValue(Math.max(0, System.nanoTime() - sentAt[slot]));
        }
        if (++doneCount[slot] == subscribers.size()) {
            // Subscribers receive in order, so the slot completes for the oldest seq in flight.
            while (doneCount[(int) ((fullyDelivered + 1) % window)] == subscribers.size()
                    && fullyDelivered < sent) {
                doneCount[(int) ((fullyDelivered + 1) % window)] = 0;
                fullyDelivered++;
            }
        }
    }

    /** One subscriber's parser: a small state machine over the byte stream. */
    private final class Subscriber {
        private static final int SCAN = 0;
        private static final int DATA_DIGITS = 1;
        private static final int SYNC_DIGITS = 2;
        private static final int SKIP_TO_NEWLINE = 3;
        private static final int SKIP_COUNTED = 4;
        private static final int EXPECT_NEWLINE = 5;

        final SocketChannel channel;
        final ByteChannel io;
        long expected = 1;
        long lastSync;
        private int state = SCAN;
        private long number;
        private int digits;
        private int skip;
        /** Bytes since the start of the current line (byte-wise parser only). */
        private int column;
        /** Where {@code #} or {@code $} stands in the publisher's lines, once seen. */
        private int prefixLength = -1;

        Subscriber(SocketChannel channel, ByteChannel io) {
            this.channel = channel;
            this.io = io;
        }

        void consume(byte[] buf, int len) {
            int i = 0;
            while (i < len) {
                if (state == SCAN && column == 0 && prefixLength >= 0) {
                    int next = wholeDataLine(buf, i, len);
                    if (next > i) {
                        i = next;
                        continue;
                    }
                }
                i = step(buf, i);
            }
        }

        /**
         * The fast path: a whole data line at {@code i} whose layout is known (the publisher's
         * prefix, then {@code #SEQ }, padding, newline) is checked and counted without a byte-wise
         * scan.
         *
         * @return the index after the line, or {@code i} if this is not a whole data line
         */
        private int wholeDataLine(byte[] buf, int i, int len) {
            int end = i + prefixLength + lineBytes;
            if (end > len || buf[i + prefixLength] != DATA) {
                return i;
            }
            int j = i + prefixLength + 1;
            long n = 0;
            while (j < end && buf[j] >= '0' && buf[j] <= '9') {
                n = n * 10 + (buf[j] - '0');
                j++;
            }
            if (j == i + prefixLength + 1 || buf[j] != ' ' || buf[end - 1] != '\n') {
                return i; // let the byte-wise parser report it
            }
            accept(n);
            return end;
        }

        private void accept(long n) {
            if (n != expected) {
                fail("subscriber expected #" + expected + " but got #" + n);
            }
            expected = n + 1;
            delivered(n);
        }

        /** The byte-wise parser: one byte through the state machine. */
        private int step(byte[] buf, int i) {
            byte b = buf[i];
            switch (state) {
                case SCAN -> {
                    if (b == DATA || b == SYNC) {
                        if (prefixLength < 0) {
                            prefixLength = column; // every publisher line has the same prefix
                        }
                        state = b == DATA ? DATA_DIGITS : SYNC_DIGITS;
                        number = 0;
                        digits = 0;
                    }
                    column = b == '\n' ? 0 : column + 1;
                    return i + 1;
                }
                case DATA_DIGITS -> {
                    if (b >= '0' && b <= '9') {
                        number = number * 10 + (b - '0');
                        digits++;
                    } else if (b == ' ' && digits > 0) {
                        accept(number);
                        // '#', digits and ' ' are read; the rest is padding and the newline.
                        skip = lineBytes - 2 - digits - 1;
                        state = SKIP_COUNTED;
                    } else {
                        fail("malformed data line");
                        state = b == '\n' ? SCAN : SKIP_TO_NEWLINE;
                        column = 0;
                    }
                    return i + 1;
                }
                case SYNC_DIGITS -> {
                    if (b >= '0' && b <= '9') {
                        number = number * 10 + (b - '0');
                    } else {
                        lastSync = Math.max(lastSync, number);
                        state = b == '\n' ? SCAN : SKIP_TO_NEWLINE;
                        column = 0;
                    }
                    return i + 1;
                }
                case SKIP_COUNTED -> {
                    skip--;
                    if (skip == 0) {
                        state = EXPECT_NEWLINE;
                    }
                    return i + 1;
                }
                case EXPECT_NEWLINE -> {
                    if (b != '\n') {
                        fail("a line had the wrong length (corrupted stream)");
                    }
                    state = b == '\n' ? SCAN : SKIP_TO_NEWLINE;
                    column = 0;
                    return i + 1;
                }
                default -> {
                    if (b == '\n') {
                        state = SCAN;
                        column = 0;
                    }
                    return i + 1;
                }
            }
        }
    }

    /** @return deliveries counted so far */
    public long deliveries() {
        return deliveries;
    }

    @Override
    public void close() throws IOException {
        for (Subscriber s : subscribers) {
            closeQuietly(s.io);
            s.channel.close();
        }
        closeQuietly(publisherIo);
        publisher.close();
        selector.close();
    }

    /** Over TLS, close sends close_notify if the socket takes it: best effort. */
    private static void closeQuietly(ByteChannel io) {
        try {
            io.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public String toString() {
        long min = Long.MAX_VALUE;
        long max = 0;
        for (Subscriber s : subscribers) {
            min = Math.min(min, s.expected - 1);
            max = Math.max(max, s.expected - 1);
        }
        return "FanOutHarness[subscribers=" + subscribers.size() + ", sent=" + sent
                + ", fullyDelivered=" + fullyDelivered + ", slowest=" + min + ", fastest=" + max
                + ", window=" + window + ", doneCounts=" + Arrays.toString(
                        Arrays.copyOf(doneCount, Math.min(8, doneCount.length))) + "]";
    }

    /** A pool of heap buffers by size for tls-channel; one thread (the harness's) uses it. */
    static final class PooledBuffers implements tlschannel.BufferAllocator {
        private final java.util.Map<Integer, java.util.ArrayDeque<ByteBuffer>> free =
                new java.util.HashMap<>();

        @Override
        public ByteBuffer allocate(int size) {
            java.util.ArrayDeque<ByteBuffer> q = free.get(size);
            ByteBuffer b = q == null ? null : q.poll();
            return b != null ? b.clear() : ByteBuffer.allocate(size);
        }

        @Override
        public void free(ByteBuffer buffer) {
            java.util.ArrayDeque<ByteBuffer> q = free.computeIfAbsent(buffer.capacity(),
                    k -> new java.util.ArrayDeque<>());
            if (q.size() < 4096) {
                q.push(buffer);
            }
        }
    }
}
