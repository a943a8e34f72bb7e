package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A blocking test client on a plain socket, with a reader thread that queues received lines. */
final class LineClient implements Closeable {
    static final Duration WAIT = Duration.ofSeconds(10);
    private static final String EOF = "\u0000EOF";

    final Socket socket;
    private final OutputStream out;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Thread reader;

    LineClient(int port) throws IOException {
        this(plain(port));
    }

    /** Reads and writes lines over a connected socket (for example an {@code SSLSocket}). */
    LineClient(Socket connected) throws IOException {
        socket = connected;
        out = socket.getOutputStream();
        reader = new Thread(this::readLoop, "test-client-reader");
        reader.setDaemon(true);
        reader.start();
    }

    private static Socket plain(int port) throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        return s;
    }

    /** Connects and waits for the welcome; returns the name the server gave. */
    static LineClient joined(int port) throws IOException {
        LineClient c = new LineClient(port);
        c.expect(l -> l.startsWith("* welcome "));
        return c;
    }

    private void readLoop() {
        try (BufferedReader in = new BufferedReader(
                new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                lines.add(line);
            }
        } catch (IOException e) {
            // socket closed or reset: report as end of stream
        }
        lines.add(EOF);
    }

    void send(String line) throws IOException {
        sendRaw((line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** @return the next line, failing after {@link #WAIT} */
    String next() throws InterruptedException {
        String l = lines.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        if (l == null) {
            fail("no line within " + WAIT);
        }
        if (l.equals(EOF)) {
            fail("connection ended while a line was expected");
        }
        return l;
    }

    /**
     * @return the next line, or null if none arrives within the time (or the stream ended, which
     *         a later {@link #awaitEof()} still sees)
     */
    String poll(Duration within) throws InterruptedException {
        String l = lines.poll(within.toMillis(), TimeUnit.MILLISECONDS);
        if (l != null && l.equals(EOF)) {
            lines.add(EOF);
            return null;
        }
        return l;
    }

    /** Skips lines until one matches; fails on end of stream or timeout. */
    String expect(Predicate<String> p) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<String> seen = new ArrayList<>();
        try {
            while (System.nanoTime() < deadline) {
                String l = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (l == null) {
                    break;
                }
                if (l.equals(EOF)) {
                    fail("connection ended; lines seen: " + seen);
                }
                if (p.test(l)) {
                    return l;
                }
                seen.add(l);
                if (seen.size() > 20) {
                    seen.remove(0);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return fail("no matching line within " + WAIT + "; last lines seen: " + seen);
    }

    String expectLine(String exact) {
        return expect(exact::equals);
    }

    /** Waits for end of stream, returning every line received before it. */
    List<String> awaitEof() throws InterruptedException {
        List<String> rest = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            String l = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (l == null) {
                break;
            }
            if (l.equals(EOF)) {
                return rest;
            }
            rest.add(l);
        }
        return fail("no end of stream within " + WAIT + "; lines: " + rest);
    }

    /** @return every line received so far, without waiting */
    List<String> drain() {
        List<String> got = new ArrayList<>();
        lines.drainTo(got);
        got.remove(EOF);
        return got;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
