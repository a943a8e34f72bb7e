package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Many raw UDP clients read by one selector on the test thread: cheap enough for hundreds, and
 * drained continuously so that join notices do not fill their receive buffers.
 */
final class ClientSwarm implements AutoCloseable {
    private final InetSocketAddress server;
    private final DatagramChannel[] channels;
    private final Selector selector;
    private final boolean[] welcomed;
    private final boolean[] matched;
    private final int[] fullAnswers;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(65_536);
    private final long rcvbufErrorsAtStart = udpReceiveBufferErrors();
    private String wanted;

    ClientSwarm(InetSocketAddress server, int size) throws IOException {
        this.server = server;
        this.channels = new DatagramChannel[size];
        this.welcomed = new boolean[size];
        this.matched = new boolean[size];
        this.fullAnswers = new int[size];
        this.selector = Selector.open();
        for (int i = 0; i < size; i++) {
            DatagramChannel ch = DatagramChannel.open();
            ch.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
            ch.bind(new InetSocketAddress("127.0.0.1", 0));
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_READ, i);
            channels[i] = ch;
        }
    }

    /** Pings from every client, in batches, until each has been welcomed. */
    void registerAll(Duration within) throws IOException {
        long deadline = System.nanoTime() + within.toNanos();
        ByteBuffer ping = ByteBuffer.wrap("#ping#\n".getBytes(StandardCharsets.US_ASCII));
        int batch = 50;
        for (int from = 0; from < channels.length; from += batch) {
            int to = Math.min(channels.length, from + batch);
            for (int i = from; i < to; i++) {
                ping.rewind();
                channels[i].send(ping, server);
            }
            while (!allWelcomed(to)) {
                if (System.nanoTime() - deadline > 0) {
                    fail("not every client was welcomed within " + within);
                }
                pump(10);
            }
        }
    }

    /**
     * Pings from every client not yet answered (welcomed or told the server is full), all at once
     * with no pause, until each has one answer or the time is up; a ping the kernel dropped is
     * sent again on the next round.
     */
    void floodPings(Duration within) throws IOException {
        long deadline = System.nanoTime() + within.toNanos();
        ByteBuffer ping = ByteBuffer.wrap("#ping#".getBytes(StandardCharsets.US_ASCII));
        while (unanswered() > 0) {
            if (System.nanoTime() - deadline > 0) {
                fail(unanswered() + " clients got no answer within " + within);
            }
            for (int i = 0; i < channels.length; i++) {
                if (!welcomed[i] && fullAnswers[i] == 0) {
                    ping.rewind();
                    channels[i].send(ping, server);
                }
            }
            long roundEnd = System.nanoTime() + 200_000_000L;
            while (unanswered() > 0 && System.nanoTime() - roundEnd < 0) {
                pump(10);
            }
        }
    }

    /** Pings once from every client, registered or not, without waiting for answers. */
    void pingAll() throws IOException {
        ByteBuffer ping = ByteBuffer.wrap("#ping#".getBytes(StandardCharsets.US_ASCII));
        for (DatagramChannel ch : channels) {
            ping.rewind();
            ch.send(ping, server);
        }
    }

    /** Reads whatever arrives for about the given time. */
    void drainFor(Duration d) throws IOException {
        long end = System.nanoTime() + d.toNanos();
        while (System.nanoTime() - end < 0) {
            pump(10);
        }
    }

    private int unanswered() {
        int n = 0;
        for (int i = 0; i < channels.length; i++) {
            if (!welcomed[i] && fullAnswers[i] == 0) {
                n++;
            }
        }
        return n;
    }

    /** @return clients that were welcomed */
    int welcomedCount() {
        int n = 0;
        for (boolean w : welcomed) {
            if (w) {
                n++;
            }
        }
        return n;
    }

    /** @return clients told {@code ! server full} at least once */
    int fullCount() {
        int n = 0;
        for (int f : fullAnswers) {
            if (f > 0) {
                n++;
            }
        }
        return n;
    }

    /** @return clients both welcomed and told the server is full (there should be none) */
    int welcomedAndFullCount() {
        int n = 0;
        for (int i = 0; i < channels.length; i++) {
            if (welcomed[i] && fullAnswers[i] > 0) {
                n++;
            }
        }
        return n;
    }

    String nameOfFirst() throws IOException {
        return "127.0.0.1:" + ((InetSocketAddress) channels[0].getLocalAddress()).getPort();
    }

    void sendFromFirst(byte[] payload) throws IOException {
        channels[0].send(ByteBuffer.wrap(payload), server);
    }

    /**
     * Reads until every client has received the datagram, or the time is up.
     *
     * @return how many clients did not receive it
     */
    int awaitEveryone(String datagram, Duration within) throws IOException {
        wanted = datagram;
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() - deadline < 0) {
            pump(10);
            if (missing() == 0) {
                return 0;
            }
        }
        return missing();
    }

    private int missing() {
        int n = 0;
        for (boolean m : matched) {
            if (!m) {
                n++;
            }
        }
        return n;
    }

    private boolean allWelcomed(int upTo) {
        for (int i = 0; i < upTo; i++) {
            if (!welcomed[i]) {
                return false;
            }
        }
        return true;
    }

    private void pump(long timeoutMillis) throws IOException {
        selector.select(key -> {
            int i = (Integer) key.attachment();
            DatagramChannel ch = (DatagramChannel) key.channel();
            try {
                while (true) {
                    buf.clear();
                    if (ch.receive(buf) == null) {
                        return;
                    }
                    buf.flip();
                    byte[] b = new byte[buf.remaining()];
                    buf.get(b);
                    String d = new String(b, StandardCharsets.UTF_8);
                    if (d.startsWith("* welcome ")) {
                        welcomed[i] = true;
                    } else if (d.equals("! server full\n")) {
                        fullAnswers[i]++;
                    } else if (d.equals(wanted)) {
                        matched[i] = true;
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, timeoutMillis);
    }

    /** @return receive-buffer overflows the kernel counted for UDP since this swarm was made */
    long receiveBufferErrorsSinceStart() {
        return udpReceiveBufferErrors() - rcvbufErrorsAtStart;
    }

    /** @return the kernel's UDP RcvbufErrors counter (Linux), or 0 if it cannot be read */
    static long udpReceiveBufferErrors() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/net/snmp"));
            String[] names = null;
            for (String line : lines) {
                if (!line.startsWith("Udp: ")) {
                    continue;
                }
                String[] fields = line.substring(5).trim().split("\\s+");
                if (names == null) {
                    names = fields;
                } else {
                    for (int k = 0; k < names.length; k++) {
                        if (names[k].equals("RcvbufErrors")) {
                            return Long.parseLong(fields[k]);
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    @Override
    public void close() throws IOException {
        for (DatagramChannel ch : channels) {
            ch.close();
        }
        selector.close();
    }
}
