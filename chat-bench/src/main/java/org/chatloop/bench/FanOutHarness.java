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
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
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
 * <p>Over WebSocket ({@link #webSocket}) every client first upgrades ({@code GET /ws}, the 101
 * response checked, its {@code Sec-WebSocket-Accept} too) and then speaks RFC 6455: the publisher
 * sends each line as one masked text frame whose payload is the line without its {@code \n}
 * ({@code lineBytes - 1} bytes; a fresh mask key per frame), and every subscriber reads the
 * server's frames ({@link WsFrameReader}: 2-byte headers up to 125 bytes of payload, 4-byte up to
 * 65,535), checking each complete text message as the TCP parser checks a line, by the same
 * rules and counters. Messages without a marker (the server's notices) are ignored, as lines are.
 *
 * <p>Not thread safe: one thread drives it.
 */
public final class FanOutHarness implements AutoCloseable {
    private static final byte DATA = '#';
    private static final byte SYNC = '$';
    /** The one cipher suite the harness offers over TLS. */
    public static final String TLS_CIPHER = "TLS_AES_128_GCM_SHA256";

    /** The request path every WebSocket client upgrades at. */
    public static final String WEBSOCKET_PATH = "/ws";
    private static final String WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private final Selector selector;
    private final int lineBytes;
    /** Whether clients speak WebSocket rather than lines. */
    private final boolean webSocket;
    /** Bytes one published message takes on the wire (a line, or a masked frame). */
    private final int wireBytes;
    /** The state of the publisher's mask keys (xorshift). */
    private int maskState = ThreadLocalRandom.current().nextInt() | 1;
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
        this(port, subscriberCount, lineBytes, window, tls, false);
    }

    /**
     * A harness whose clients speak WebSocket: each upgrades at {@value #WEBSOCKET_PATH}, then every
     * line is one text message each way (the publisher's lines as masked text frames of
     * {@code lineBytes - 1} bytes, the newline left out).
     *
     * @param lineBytes each published line's size as on TCP, newline included (at least 16)
     * @param window messages in flight at most
     * @return the connected harness, every subscriber receiving the publisher's messages
     */
    public static FanOutHarness webSocket(int port, int subscriberCount, int lineBytes, int window)
            throws IOException {
        return new FanOutHarness(new int[] {port}, subscriberCount, lineBytes, window, null, true);
    }

    /**
     * A plain TCP harness over several servers of one chat (say, nodes of a cluster): subscriber
     * {@code i} connects to {@code ports[i % ports.length]}, the publisher to {@code ports[0]}.
     * Every subscriber must receive every message once and in order, whichever server it is on.
     *
     * @param ports the servers' ports on 127.0.0.1, at least one
     * @param lineBytes each published line's size, newline included (at least 16)
     * @param window messages in flight at most
     * @return the connected harness, every subscriber receiving the publisher's lines
     */
    public static FanOutHarness spread(int[] ports, int subscriberCount, int lineBytes, int window)
            throws IOException {
        if (ports.length == 0) {
            throw new IllegalArgumentException("no ports");
        }
        return new FanOutHarness(ports.clone(), subscriberCount, lineBytes, window, null, false);
    }

    private FanOutHarness(int port, int subscriberCount, int lineBytes, int window, SSLContext tls,
                          boolean webSocket) throws IOException {
        this(new int[] {port}, subscriberCount, lineBytes, window, tls, webSocket);
    }

    private FanOutHarness(int[] ports, int subscriberCount, int lineBytes, int window,
                          SSLContext tls, boolean webSocket) throws IOException {
        this.tls = tls;
        this.webSocket = webSocket;
        if (lineBytes < 16) {
            throw new IllegalArgumentException("lineBytes must be at least 16: " + lineBytes);
        }
        if (webSocket && lineBytes - 1 > 0xFFFF) {
            throw new IllegalArgumentException("WebSocket lines are at most 65536 bytes: "
                    + lineBytes);
        }
        this.lineBytes = lineBytes;
        this.wireBytes = webSocket ? clientFrameLength(lineBytes - 1) : lineBytes;
        this.window = window;
        this.doneCount = new int[window];
        this.sentAt = new long[window];
        this.selector = Selector.open();
        InetSocketAddress[] addresses = new InetSocketAddress[ports.length];
        for (int i = 0; i < ports.length; i++) {
            addresses[i] = new InetSocketAddress("127.0.0.1", ports[i]);
        }
        InetSocketAddress address = addresses[0];
        for (int i = 0; i < subscriberCount; i++) {
            InetSocketAddress to = addresses[i % addresses.length];
            SocketChannel ch = connect(to);
            ByteChannel io = secure(ch);
            byte[] early = webSocket ? upgrade(io, to) : new byte[0];
            ch.configureBlocking(false);
            Subscriber s = new Subscriber(ch, io);
            if (early.length > 0) {
                s.consume(early, early.length); // frames that came in with the 101
            }
            s.channel.register(selector, SelectionKey.OP_READ, s);
            subscribers.add(s);
        }
        publisher = connect(address);
        publisherIo = secure(publisher);
        if (webSocket) {
            upgrade(publisherIo, address); // what the publisher receives is read and dropped
        }
        publisher.configureBlocking(false);
        publisher.register(selector, SelectionKey.OP_READ, null);
        sync(TimeUnit.SECONDS.toNanos(60));
    }

    /** Over TLS: a blocking handshake; the caller turns the channel non-blocking after. */
    private ByteChannel secure(SocketChannel ch) throws IOException {
        if (tls == null) {
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
        return io;
    }

    /**
     * The WebSocket upgrade on a blocking channel: sends the request, reads the response head and
     * checks it is a 101 with the right {@code Sec-WebSocket-Accept}.
     *
     * @return the bytes that came after the head (the server's first frames, if any)
     */
    private static byte[] upgrade(ByteChannel io, InetSocketAddress address) throws IOException {
        byte[] nonce = new byte[16];
        ThreadLocalRandom.current().nextBytes(nonce);
        String key = Base64.getEncoder().encodeToString(nonce);
        String request = "GET " + WEBSOCKET_PATH + " HTTP/1.1\r\n"
                + "Host: " + address.getHostString() + ":" + address.getPort() + "\r\n"
                + "Upgrade: websocket\r\n"
                + "Connection: Upgrade\r\n"
                + "Sec-WebSocket-Key: " + key + "\r\n"
                + "Sec-WebSocket-Version: 13\r\n\r\n";
        ByteBuffer req = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
        while (req.hasRemaining()) {
            io.write(req);
        }
        ByteBuffer in = ByteBuffer.allocate(8192);
        int end;
        while ((end = headEnd(in.array(), in.position())) < 0) {
            if (!in.hasRemaining()) {
                throw new IOException("WebSocket upgrade: response head over 8 KiB");
            }
            if (io.read(in) < 0) {
                throw new IOException("WebSocket upgrade: connection closed before the response: "
                        + new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1));
            }
        }
        String head = new String(in.array(), 0, end, StandardCharsets.ISO_8859_1);
        if (!head.startsWith("HTTP/1.1 101")) {
            throw new IOException("WebSocket upgrade refused: " + head.lines().findFirst()
                    .orElse(head));
        }
        String accept = null;
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().toLowerCase(Locale.ROOT)
                    .equals("sec-websocket-accept")) {
                accept = line.substring(colon + 1).trim();
            }
        }
        if (!expectedAccept(key).equals(accept)) {
            throw new IOException("WebSocket upgrade: wrong Sec-WebSocket-Accept " + accept);
        }
        return Arrays.copyOfRange(in.array(), end, in.position());
    }

    /** @return the index after the head's blank line in {@code b[0, len)}, or -1 */
    private static int headEnd(byte[] b, int len) {
        for (int i = 3; i < len; i++) {
            if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
                return i + 1;
            }
        }
        return -1;
    }

    private static String expectedAccept(String key) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1")
                    .digest((key + WEBSOCKET_GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("SHA-1 is always there", e);
        }
    }

    /** @return the wire length of a masked client frame with {@code payload} bytes */
    static int clientFrameLength(int payload) {
        return (payload <= 125 ? 2 : 4) + 4 + payload;
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
                writeFully(message("$" + k), deadline);
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

    /** @return {@code text} as the publisher sends it: a line, or a masked text frame */
    private byte[] message(String text) {
        byte[] payload = text.getBytes(StandardCharsets.US_ASCII);
        if (!webSocket) {
            byte[] line = Arrays.copyOf(payload, payload.length + 1);
            line[payload.length] = '\n';
            return line;
        }
        ByteBuffer b = ByteBuffer.allocate(clientFrameLength(payload.length));
        int at = putFrameHeader(b, payload.length);
        b.put(payload);
        mask(b, at, payload.length, b.getInt(at - 4));
        return b.array();
    }

    /**
     * Writes a masked text frame's header and a fresh mask key at {@code b}'s position.
     *
     * @return the index where the payload starts
     */
    private int putFrameHeader(ByteBuffer b, int payload) {
        b.put((byte) 0x81); // FIN, text
        if (payload <= 125) {
            b.put((byte) (0x80 | payload));
        } else {
            b.put((byte) (0x80 | 126)).putShort((short) payload);
        }
        int x = maskState; // xorshift32: cheap, and a new key for every frame
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        maskState = x;
        b.putInt(x);
        return b.position();
    }

    /** XORs {@code b[at, at+len)} with the 4-byte key (big-endian, as it stands on the wire). */
    private static void mask(ByteBuffer b, int at, int len, int key) {
        int i = 0;
        for (; i + 4 <= len; i += 4) {
            b.putInt(at + i, b.getInt(at + i) ^ key);
        }
        for (; i < len; i++) {
            b.put(at + i, (byte) (b.get(at + i) ^ (key >>> (24 - 8 * (i & 3)))));
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
        while (sent < limit && out.remaining() >= wireBytes) {
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
        if (webSocket) {
            int at = putFrameHeader(out, lineBytes - 1);
            out.put(DATA);
            putDigits(seq);
            out.put((byte) ' ');
            while (out.position() < at + lineBytes - 1) {
                out.put((byte) 'p');
            }
            mask(out, at, lineBytes - 1, out.getInt(at - 4));
            return;
        }
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

    /**
     * One subscriber's parser: a small state machine over the byte stream, or over WebSocket the
     * frame reader and a check of each text message.
     */
    private final class Subscriber implements WsFrameReader.Sink {
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

        /** The frame reader, over WebSocket; null for lines. */
        private final WsFrameReader frames;

        Subscriber(SocketChannel channel, ByteChannel io) {
            this.channel = channel;
            this.io = io;
            this.frames = webSocket ? new WsFrameReader(this) : null;
        }

        void consume(byte[] buf, int len) {
            if (frames != null) {
                frames.consume(buf, 0, len);
                return;
            }
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

        /**
         * One text message (a line without its newline): a data message of the publisher's known
         * layout is checked by its length without a scan; anything else is scanned for the first
         * marker, as the byte-wise line parser does, and a message without one is a notice.
         */
        @Override
        public void text(byte[] buf, int off, int len) {
            if (prefixLength >= 0 && len == prefixLength + lineBytes - 1
                    && buf[off + prefixLength] == DATA) {
                int j = off + prefixLength + 1;
                int end = off + len;
                long n = 0;
                while (j < end && buf[j] >= '0' && buf[j] <= '9') {
                    n = n * 10 + (buf[j] - '0');
                    j++;
                }
                if (j == off + prefixLength + 1 || j == end || buf[j] != ' ') {
                    fail("malformed data message");
                    return;
                }
                accept(n);
                return;
            }
            int m = off;
            int end = off + len;
            while (m < end && buf[m] != DATA && buf[m] != SYNC) {
                m++;
            }
            if (m == end) {
                return; // a notice
            }
            if (prefixLength < 0) {
                prefixLength = m - off; // every publisher message has the same prefix
            }
            int j = m + 1;
            long n = 0;
            while (j < end && buf[j] >= '0' && buf[j] <= '9') {
                n = n * 10 + (buf[j] - '0');
                j++;
            }
            if (buf[m] == SYNC) {
                lastSync = Math.max(lastSync, n);
            } else if (j == m + 1 || j == end || buf[j] != ' ') {
                fail("malformed data message");
            } else if (m - off != prefixLength || len != prefixLength + lineBytes - 1) {
                fail("a message had the wrong length or prefix (" + len + " bytes)");
            } else {
                accept(n); // the first data message, when no sync came before it
            }
        }

        @Override
        public void failed(String why) {
            fail(why);
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
