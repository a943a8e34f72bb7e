package org.chatloop.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The client side of a UDP fan-out measurement: one publisher and N subscribers, each a
 * non-blocking {@link DatagramChannel} bound to an ephemeral port of 127.0.0.1 and connected to
 * the server, all on one selector driven by the calling thread (so the load generator is one
 * thread, on its own core), like {@link FanOutHarness} for TCP.
 *
 * <p><b>Registration.</b> Every subscriber first sends {@code #ping#}, which registers it with
 * the server without being relayed. Then the publisher sends sync datagrams ({@code $K}, which
 * also register the publisher), every 200 ms, until every subscriber has received one (a
 * subscriber still without one pings again each time). While the harness runs, every socket pings
 * again each {@value #HEARTBEAT_MILLIS} ms, so that a server with a heartbeat timeout (chatloop:
 * 10 s) never expires it, however long the run. The publisher pings first too. A server that
 * validates addresses answers a first datagram with {@code * verify TOKEN}; any socket that gets
 * one answers {@code #ping# TOKEN} at once (chatloop with {@code --address-validation on}).
 *
 * <p><b>Publishing.</b> {@link #publish} sends datagrams of exactly {@code datagramBytes} bytes,
 * {@code #SEQ ppp...\n}, numbered on from the previous batch, keeping at most {@code window}
 * sequence numbers beyond the slowest subscriber's highest sequence number seen. The server relays
 * each as {@code <ip:port> #SEQ ppp...\n}; subscribers ignore datagrams without a {@code #} or
 * {@code $} marker after the sender's prefix (chatloop's {@code * ...} notices).
 *
 * <p><b>Loss.</b> UDP may lose datagrams, so nothing waits for a particular one. Each subscriber
 * keeps the highest sequence number it has seen; the harness counts data datagrams received per
 * batch (those numbered within the batch). Right after the batch's last datagram the publisher
 * sends a probe, a sync datagram {@code $K}; every server relays in order, and loopback delivers
 * in order, so a subscriber that has received the probe has received everything of the batch it
 * ever will. A batch completes when every subscriber has seen either the batch's last sequence
 * number or the probe; if that takes longer than the quiet time (50 ms by default) without any
 * data datagram arriving, another probe is sent (the first may be lost). No timer decides that a
 * datagram is lost, so a server that stalls (a GC pause, JIT compilation) is slow, not lossy.
 * The batch's loss is {@code messages x subscribers} minus the data datagrams received; one that
 * still arrives after its batch completed (only if reordered behind the probe) is counted as late
 * and stays lost. If nothing arrives for the quiet time while the window is full, the datagrams
 * in flight are given up on for the window's sake (they are on their way or lost) and the window
 * reopens from the last one sent. A sequence number lower than or equal to the highest a
 * subscriber has seen counts as out of order (a duplicate, impossible to tell apart without a
 * bitmap, counts the same). A malformed or wrong-length data datagram, a sequence number never
 * sent, or an unreachable server fails the run.
 *
 * <p>Parsing is cheap: each datagram is read into one direct buffer and only the marker, the
 * digits, the length and the final newline are checked, at the offset learnt from the first
 * datagram (the publisher's prefix never changes).
 *
 * <p>Not thread safe: one thread drives it.
 */
public final class UdpFanOutHarness implements AutoCloseable {
    /** Default sequence numbers in flight beyond the slowest subscriber. */
    public static final int DEFAULT_WINDOW = 256;
    /** Default time without any data datagram after which a probe is resent or the window reopens. */
    public static final long DEFAULT_QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** How often every socket pings while the harness runs; under chatloop's 10 s timeout. */
    static final long HEARTBEAT_MILLIS = 1_000;
    /** Socket buffers asked for on every client socket (the kernel may grant less). */
    static final int SOCKET_BUFFER_BYTES = 4 << 20;
    private static final long SYNC_RESEND_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long HEARTBEAT_NANOS = TimeUnit.MILLISECONDS.toNanos(HEARTBEAT_MILLIS);
    /** Most datagrams read from one socket per ready event. */
    private static final int MAX_READS_PER_KEY = 64;
    private static final byte DATA = '#';
    private static final byte SYNC = '$';
    private static final byte[] PING = "#ping#".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VERIFY = "* verify ".getBytes(StandardCharsets.US_ASCII);

    /**
     * What one batch saw.
     *
     * @param expected datagrams that should have arrived: messages x subscribers
     * @param delivered data datagrams of this batch that subscribers received
     * @param lost {@code expected - delivered} (not below 0)
     * @param outOfOrder datagrams received with a sequence number not above the highest seen
     * @param late datagrams of earlier batches received during this one (already counted lost)
     * @param probes probes sent to end the batch (1, more if one was lost or the server stalled)
     * @param nanos how long the batch took
     */
    public record Batch(long expected, long delivered, long lost, long outOfOrder, long late,
                        int probes, long nanos) {
        /** @return {@code lost / expected}, 0 for an empty batch */
        public double lossRatio() {
            return expected == 0 ? 0 : (double) lost / expected;
        }
    }

    private final Selector selector;
    private final InetSocketAddress server;
    private final int datagramBytes;
    private final int window;
    private final long quietNanos;
    private final Subscriber[] subscribers;
    private final DatagramChannel publisher;
    private final ByteBuffer in = ByteBuffer.allocateDirect(64 * 1024);
    private final ByteBuffer out;
    private final ByteBuffer ping = ByteBuffer.allocateDirect(PING.length);
    private long sent;
    /** Sequence numbers up to here count as done for the window (seen or given up on). */
    private long released;
    /** The first sequence number of the current batch; lower ones arriving are late. */
    private long batchFirst = 1;
    private long batchReceived;
    private long batchOutOfOrder;
    private long late;
    /** Data datagrams of the current batch received, ever increasing: progress. */
    private long progress;
    private long nextHeartbeat;
    /** The last sync or probe number sent. */
    private long syncSeq;
    private long probes;
    private long totalDelivered;
    private long totalLost;
    private long totalOutOfOrder;
    private String failure;

    /**
     * Same as {@link #UdpFanOutHarness(int, int, int, int, long, long)} with the default quiet
     * time and a 30 s limit for registration.
     */
    public UdpFanOutHarness(int port, int subscriberCount, int datagramBytes, int window)
            throws IOException {
        this(port, subscriberCount, datagramBytes, window, DEFAULT_QUIET_NANOS,
                TimeUnit.SECONDS.toNanos(30));
    }

    /**
     * Opens a publisher and {@code subscriberCount} subscribers against 127.0.0.1:{@code port}
     * and waits until every subscriber receives the publisher's datagrams.
     *
     * @param datagramBytes each published datagram's size, newline included (at least 16)
     * @param window sequence numbers in flight at most beyond the slowest subscriber
     * @param quietNanos time without any data datagram after which a batch's probe is resent
     *                   (or a full window reopened)
     * @param syncTimeoutNanos how long registration may take
     * @throws IOException if a socket cannot be opened or the subscribers do not all receive a
     *                     sync datagram in time
     */
    public UdpFanOutHarness(int port, int subscriberCount, int datagramBytes, int window,
                            long quietNanos, long syncTimeoutNanos) throws IOException {
        if (datagramBytes < 16) {
            throw new IllegalArgumentException("datagramBytes must be at least 16: "
                    + datagramBytes);
        }
        if (subscriberCount < 1 || window < 1 || quietNanos <= 0) {
            throw new IllegalArgumentException("subscribers, window and quiet time must be "
                    + "positive");
        }
        this.datagramBytes = datagramBytes;
        this.window = window;
        this.quietNanos = quietNanos;
        this.out = ByteBuffer.allocateDirect(datagramBytes);
        this.ping.put(PING).flip();
        this.server = new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}),
                port);
        this.selector = Selector.open();
        this.subscribers = new Subscriber[subscriberCount];
        DatagramChannel pub = null;
        try {
            for (int i = 0; i < subscriberCount; i++) {
                subscribers[i] = new Subscriber(open());
                subscribers[i].channel.register(selector, SelectionKey.OP_READ, subscribers[i]);
                send(subscribers[i].channel, ping); // register
            }
            pub = open();
            pub.register(selector, SelectionKey.OP_READ, null); // drained, not parsed
            send(pub, ping); // register (or be challenged) before the first sync
            this.publisher = pub;
            sync(syncTimeoutNanos);
        } catch (IOException | RuntimeException e) {
            closeQuietly(pub);
            for (Subscriber s : subscribers) {
                if (s != null) {
                    closeQuietly(s.channel);
                }
            }
            closeQuietly(selector);
            throw e;
        }
    }

    private DatagramChannel open() throws IOException {
        DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
        try {
            ch.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
            ch.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
            ch.bind(new InetSocketAddress(server.getAddress(), 0));
            ch.connect(server); // only the server's datagrams; read and write without addresses
            ch.configureBlocking(false);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Sends {@code $K} until every subscriber has received one; re-pings those still without. */
    private void sync(long timeoutNanos) throws IOException {
        long start = System.nanoTime();
        long deadline = start + timeoutNanos;
        nextHeartbeat = start + HEARTBEAT_NANOS;
        long nextSync = start;
        while (true) {
            long now = System.nanoTime();
            if (now - nextSync >= 0) {
                if (syncSeq > 0) {
                    for (Subscriber s : subscribers) {
                        if (s.lastSync == 0) {
                            send(s.channel, ping);
                        }
                    }
                }
                sendSync();
                nextSync = now + SYNC_RESEND_NANOS;
            }
            selector.select(this::onReadable, 1);
            if (failure != null) {
                throw new IOException(failure);
            }
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
                int missing = 0;
                for (Subscriber s : subscribers) {
                    missing += s.lastSync == 0 ? 1 : 0;
                }
                throw new IOException(missing + " of " + subscribers.length + " subscribers did "
                        + "not receive a sync datagram in time; the server may not be relaying");
            }
        }
    }

    /**
     * Sends the next sync datagram, {@code $K}.
     *
     * @return K
     */
    private long sendSync() throws IOException {
        syncSeq++;
        send(publisher, ByteBuffer.wrap(("$" + syncSeq + "\n").getBytes(StandardCharsets.US_ASCII)));
        return syncSeq;
    }

    /**
     * Publishes {@code messages} more datagrams and waits until every subscriber has seen the last
     * of them or the probe sent after them.
     *
     * @param messages datagrams to publish, at least 1
     * @param timeoutNanos the longest the batch may take
     * @return what the batch delivered and lost
     * @throws IOException on a malformed datagram, an unreachable server or the timeout
     */
    public Batch publish(int messages, long timeoutNanos) throws IOException {
        if (messages < 1) {
            throw new IllegalArgumentException("messages must be positive: " + messages);
        }
        long start = System.nanoTime();
        long deadline = start + timeoutNanos;
        long target = sent + messages;
        batchFirst = sent + 1;
        batchReceived = 0;
        batchOutOfOrder = 0;
        long lateBefore = late;
        long seen = progress;
        long lastProgressAt = start;
        long probeFrom = 0; // the first probe of this batch; 0 before it is sent
        int batchProbes = 0;
        while (true) {
            long now = System.nanoTime();
            if (now - nextHeartbeat >= 0) {
                heartbeat(now);
            }
            long slowest = Long.MAX_VALUE;
            boolean done = true;
            for (Subscriber s : subscribers) {
                if (s.highest < slowest) {
                    slowest = s.highest;
                }
                if (s.highest < target && (probeFrom == 0 || s.lastSync < probeFrom)) {
                    done = false;
                }
            }
            if (done) {
                break;
            }
            if (slowest > released) {
                released = slowest;
            }
            if (progress != seen) {
                seen = progress;
                lastProgressAt = now;
            } else if (now - lastProgressAt > quietNanos) {
                if (sent >= target) {
                    sendSync(); // the probe may have been lost, or the server stalls
                    batchProbes++;
                } else {
                    released = sent; // in flight: arriving or lost; no reason to hold the window
                }
                lastProgressAt = now;
            }
            sendUpTo(Math.min(target, released + window));
            if (sent >= target && probeFrom == 0) {
                probeFrom = sendSync();
                batchProbes++;
            }
            selector.selectNow(this::onReadable);
            if (failure != null) {
                throw new IOException(failure);
            }
            if (now - deadline > 0) {
                throw new IOException("timed out: " + this);
            }
        }
        if (released < target) {
            released = target;
        }
        long expected = (long) messages * subscribers.length;
        long lost = Math.max(0, expected - batchReceived);
        totalDelivered += batchReceived;
        totalLost += lost;
        totalOutOfOrder += batchOutOfOrder;
        probes += batchProbes;
        return new Batch(expected, batchReceived, lost, batchOutOfOrder, late - lateBefore,
                batchProbes, System.nanoTime() - start);
    }

    private void sendUpTo(long limit) throws IOException {
        while (sent < limit) {
            putDatagram(sent + 1);
            if (publisher.write(out) == 0) {
                return; // the send buffer is full: try again after reading
            }
            sent++;
        }
    }

    private void putDatagram(long seq) {
        out.clear();
        out.put(DATA);
        putDigits(seq);
        out.put((byte) ' ');
        while (out.position() < datagramBytes - 1) {
            out.put((byte) 'p');
        }
        out.put((byte) '\n');
        out.flip();
    }

    private void putDigits(long v) {
        if (v >= 10) {
            putDigits(v / 10);
        }
        out.put((byte) ('0' + (v % 10)));
    }

    /** Every socket pings, so that a server with a heartbeat timeout keeps them all. */
    private void heartbeat(long now) throws IOException {
        for (Subscriber s : subscribers) {
            send(s.channel, ping);
        }
        send(publisher, ping);
        nextHeartbeat = now + HEARTBEAT_NANOS;
    }

    /** Sends one control datagram; if the send buffer is full it is skipped (UDP may lose it). */
    private static void send(DatagramChannel ch, ByteBuffer datagram) throws IOException {
        ch.write(datagram.duplicate());
    }

    private void onReadable(SelectionKey key) {
        DatagramChannel ch = (DatagramChannel) key.channel();
        Subscriber s = (Subscriber) key.attachment();
        try {
            for (int i = 0; i < MAX_READS_PER_KEY; i++) {
                in.clear();
                int n = ch.read(in);
                if (n <= 0) {
                    return;
                }
                if (n > VERIFY.length && in.get(0) == '*' && answeredChallenge(ch, n)) {
                    continue;
                }
                if (s != null) {
                    s.onDatagram(n);
                }
            }
        } catch (PortUnreachableException e) {
            fail("the server's port is unreachable (did it stop?)");
        } catch (IOException e) {
            fail("receive failed: " + e);
        }
    }

    /**
     * If the datagram of {@code n} bytes in {@link #in} is {@code * verify TOKEN}, answers
     * {@code #ping# TOKEN} on the same socket.
     *
     * @return whether it was a challenge
     */
    private boolean answeredChallenge(DatagramChannel ch, int n) throws IOException {
        for (int i = 0; i < VERIFY.length; i++) {
            if (in.get(i) != VERIFY[i]) {
                return false;
            }
        }
        int end = in.get(n - 1) == '\n' ? n - 1 : n;
        byte[] answer = new byte[PING.length + 1 + end - VERIFY.length];
        System.arraycopy(PING, 0, answer, 0, PING.length);
        answer[PING.length] = ' ';
        for (int i = VERIFY.length; i < end; i++) {
            answer[PING.length + 1 + i - VERIFY.length] = in.get(i);
        }
        send(ch, ByteBuffer.wrap(answer));
        return true;
    }

    private void fail(String why) {
        if (failure == null) {
            failure = why;
        }
    }

    /** One subscriber's socket and what it has seen. */
    private final class Subscriber {
        final DatagramChannel channel;
        /** The highest sequence number seen; 0 before any. */
        long highest;
        long lastSync;
        /** Where the marker stands in the publisher's datagrams, once seen. */
        private int prefixLength = -1;

        Subscriber(DatagramChannel channel) {
            this.channel = channel;
        }

        /** Handles the datagram of {@code len} bytes at the start of {@link #in}. */
        void onDatagram(int len) {
            int m = marker(len);
            if (m < 0) {
                return; // a notice, or anything else not from the publisher
            }
            byte kind = in.get(m);
            int j = m + 1;
            long v = 0;
            while (j < len) {
                byte c = in.get(j);
                if (c < '0' || c > '9') {
                    break;
                }
                v = v * 10 + (c - '0');
                j++;
            }
            if (j == m + 1) {
                fail("malformed datagram: no number after the marker");
                return;
            }
            if (kind == SYNC) {
                lastSync = Math.max(lastSync, v);
                return;
            }
            if (len - m != datagramBytes || in.get(j) != ' ' || in.get(len - 1) != '\n') {
                fail("data datagram of the wrong shape (" + (len - m) + " bytes after the "
                        + "prefix, expected " + datagramBytes + ")");
                return;
            }
            accept(v);
        }

        /** @return the index of the {@code #} or {@code $} marker, or -1 if there is none */
        private int marker(int len) {
            int p = prefixLength;
            if (p >= 0 && p < len) {
                byte c = in.get(p);
                if ((c == DATA || c == SYNC) && (p == 0 || in.get(0) == '<' && in.get(p - 1) == ' ')) {
                    return p;
                }
            }
            byte first = in.get(0);
            int m = -1;
            if (first == DATA || first == SYNC) {
                m = 0; // a server that does not prefix
            } else if (first == '<') {
                for (int i = 1; i + 2 < len; i++) {
                    if (in.get(i) == '>' && in.get(i + 1) == ' ') {
                        byte c = in.get(i + 2);
                        if (c == DATA || c == SYNC) {
                            m = i + 2;
                        }
                        break;
                    }
                }
            }
            if (m >= 0) {
                prefixLength = m;
            }
            return m;
        }

        private void accept(long seq) {
            if (seq > sent || seq < 1) {
                fail("a subscriber received #" + seq + ", which was never sent (last sent #"
                        + sent + ")");
                return;
            }
            if (seq < batchFirst) {
                late++;
            } else {
                batchReceived++;
                progress++;
                if (seq <= highest) {
                    batchOutOfOrder++;
                }
            }
            if (seq > highest) {
                highest = seq;
            }
        }
    }

    /** @return data datagrams delivered to subscribers over every batch so far */
    public long delivered() {
        return totalDelivered;
    }

    /** @return datagrams lost over every batch so far */
    public long lost() {
        return totalLost;
    }

    /** @return datagrams received out of order (or duplicated) over every batch so far */
    public long outOfOrder() {
        return totalOutOfOrder;
    }

    /** @return the highest sequence number published */
    public long sent() {
        return sent;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (Subscriber s : subscribers) {
            try {
                s.channel.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        try {
            publisher.close();
            selector.close();
        } catch (IOException e) {
            first = first == null ? e : first;
        }
        if (first != null) {
            throw first;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // nothing to do
        }
    }

    @Override
    public String toString() {
        long min = Long.MAX_VALUE;
        long max = 0;
        for (Subscriber s : subscribers) {
            min = Math.min(min, s.highest);
            max = Math.max(max, s.highest);
        }
        return "UdpFanOutHarness[subscribers=" + subscribers.length + ", sent=" + sent
                + ", released=" + released + ", slowest=" + min + ", fastest=" + max
                + ", window=" + window + ", batchReceived=" + batchReceived + ", delivered="
                + totalDelivered + ", lost=" + totalLost + ", outOfOrder=" + totalOutOfOrder
                + ", late=" + late + ", probes=" + probes + ", lastSync=" + syncSeq + "]";
    }
}
