package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A raw UDP peer for tests, on 127.0.0.1 with a large receive buffer: sends exactly the bytes it
 * is given and reads whole datagrams, with deadlines rather than sleeps.
 */
final class TestPeer implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(5);

    private final DatagramSocket socket;
    private final InetSocketAddress server;
    private final List<String> seen = new ArrayList<>();

    TestPeer(InetSocketAddress server) {
        this.server = server;
        try {
            socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
            socket.setReceiveBufferSize(1 << 20);
            socket.setSendBufferSize(1 << 20);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return the name the server gives this peer until it sets a nick */
    String name() {
        return "127.0.0.1:" + socket.getLocalPort();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** Sends the text as it is: no newline is added. */
    TestPeer send(String text) {
        return sendBytes(text.getBytes(StandardCharsets.UTF_8));
    }

    TestPeer sendBytes(byte[] bytes) {
        try {
            socket.send(new DatagramPacket(bytes, bytes.length, server));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** Pings and waits for the welcome. */
    TestPeer register() {
        send("#ping#\n");
        awaitLine(l -> l.startsWith("* welcome " + name() + " "));
        return this;
    }

    /** @return the next datagram, whole (with its newline), or null if none came in time */
    String receive(Duration within) {
        byte[] buf = new byte[65_536];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        try {
            socket.setSoTimeout((int) Math.max(1, within.toMillis()));
            socket.receive(p);
        } catch (SocketTimeoutException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String datagram = new String(buf, 0, p.getLength(), StandardCharsets.UTF_8);
        seen.add(datagram);
        return datagram;
    }

    /**
     * Reads datagrams until one, without its newline, matches; every datagram read must be one
     * line ending in a newline.
     *
     * @return the matching line
     */
    String awaitLine(Predicate<String> match) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            String d = left > 0 ? receive(Duration.ofNanos(left)) : null;
            if (d == null) {
                return fail("no matching datagram within " + WAIT + "; saw " + seen);
            }
            if (!d.endsWith("\n") || d.indexOf('\n') != d.length() - 1) {
                fail("a datagram that is not one line: " + d);
            }
            String line = d.substring(0, d.length() - 1);
            if (match.test(line)) {
                return line;
            }
        }
    }

    String awaitLine(String exact) {
        return awaitLine(exact::equals);
    }

    /** Fails if a datagram arrives within the duration. */
    void assertQuiet(Duration d) {
        String got = receive(d);
        if (got != null) {
            fail("expected nothing, got " + got);
        }
    }

    /** @return every datagram this peer has read */
    List<String> seen() {
        return seen;
    }

    @Override
    public void close() {
        socket.close();
    }
}
