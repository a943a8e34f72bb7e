package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.chatloop.core.HubOptions;
import org.chatloop.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Clients that misbehave at the transport level, over loopback: each is handled, and two other
 * clients chatting in the background the whole time see every one of their messages, in order.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpFaultTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private TcpChatServer server;
    private final List<Closeable> closeLater = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        // Room for a large backlog of output to one client without congestion, and time to
        // flush it to a client that half-closed.
        server = TestServers.start(TcpServerOptions.defaults().withPort(0)
                .withMaxPendingBytes(64 << 20).withShutdownFlushTimeout(Duration.ofSeconds(5)));
    }

    @AfterEach
    void stop() throws IOException {
        for (Closeable c : closeLater) {
            c.close();
        }
        server.stop();
    }

    private Peer peer() throws IOException {
        return peer(0);
    }

    private Peer peer(int receiveBuffer) throws IOException {
        Peer p = new Peer(server.port(), receiveBuffer);
        closeLater.add(p);
        return p;
    }

    private Chatter chatter() throws IOException {
        Chatter c = new Chatter(peer(), peer());
        closeLater.add(c);
        return c;
    }

    @Test
    void shouldDropAClientThatResetsMidLineWithoutDeliveringHalfALine() throws Exception {
        Chatter chat = chatter();
        Peer resetter = peer();
        resetter.await(l -> l.startsWith("* welcome "));
        String name = resetter.name();
        // One write, one segment: the server reads the whole line and keeps the half one.
        resetter.sendRaw("a whole line\nhalf a li");
        chat.bob.await(l -> l.equals("<" + name + "> a whole line"));
        resetter.socket.setSoLinger(true, 0);
        resetter.socket.close(); // RST

        chat.bob.await(l -> l.startsWith("* " + name + " left ("));
        TcpChatServerTest.await("reset connection released", () -> server.connectionCount() == 2);
        List<String> seen = chat.finish();
        assertTrue(seen.contains("* " + name + " left (connection error)"), seen.toString());
        assertFalse(seen.stream().anyMatch(l -> l.contains("half a li")), seen.toString());
    }

    @Test
    void shouldFlushPendingOutputToAHalfClosedClientThenCloseIt() throws Exception {
        Chatter chat = chatter();
        // A small receive window and no reading yet: the answers (~7 MB, more than the kernel's
        // socket buffers hold) pile up on the server's side.
        Peer half = peer(4096);
        half.pauseReading();
        StringBuilder input = new StringBuilder("/nick halfy\n");
        int helps = 40_000;
        for (int i = 0; i < helps; i++) {
            input.append("/help\n");
        }
        input.append("last words\n");
        half.sendRaw(input.toString());
        half.socket.shutdownOutput(); // FIN: end of stream for the server, reading goes on

        // The server has read to the end of the stream and left the hub, while most of the
        // answers still wait for this client to read.
        chat.bob.await(l -> l.equals("* halfy left (disconnected)"));
        String state = onLoop(server.loop(), server::describe);
        long pending = Long.parseLong(state.replaceAll(".* pending=(\\d+) .*", "$1"));
        assertTrue(pending > 1_000_000, "output still pending at the close: " + state);
        half.resumeReading();
        half.awaitEof();
        List<String> got = half.lines();
        assertEquals(helps, got.stream().filter(l -> l.startsWith("* commands: ")).count(),
                "every answer flushed before the close");
        // Its own last line comes after every answer (others in the lobby may still speak after
        // it, until the server reads the end of the stream).
        int lastWords = got.indexOf("<halfy> last words");
        int lastAnswer = -1;
        for (int i = 0; i < got.size(); i++) {
            if (got.get(i).startsWith("* commands: ")) {
                lastAnswer = i;
            }
        }
        assertTrue(lastWords > lastAnswer, "last words after every answer, then the close: "
                + lastWords + " vs " + lastAnswer);
        TcpChatServerTest.await("half-closed connection released",
                () -> server.connectionCount() == 2);

        // And one that half-closes after /quit gets its "* bye" before the close.
        Peer quitter = peer();
        quitter.await(l -> l.startsWith("* welcome "));
        quitter.sendRaw("/quit\n");
        quitter.socket.shutdownOutput();
        quitter.awaitEof();
        assertEquals("* bye", quitter.lines().get(quitter.lines().size() - 1));
        chat.bob.await(l -> l.equals("* " + quitter.name() + " left (quit)"));
        TcpChatServerTest.await("quitter released", () -> server.connectionCount() == 2);
        chat.finish();
    }

    @Test
    void shouldKeepServingAClientThatConnectsAndSendsNothing() throws Exception {
        Peer silent = peer();
        silent.await(l -> l.startsWith("* welcome "));
        Chatter chat = chatter();
        chat.bob.await(l -> l.equals("<alice> tick 50"));
        assertEquals(3, server.connectionCount());
        List<String> seen = chat.finish();
        assertTrue(seen.contains("<alice> tick 0"), seen.toString());
        // It never sent a byte, yet got every message of its room, and is still served.
        silent.await(l -> l.equals("<alice> tick end"));
        List<String> ticks = silent.lines().stream().filter(l -> l.startsWith("<alice> tick "))
                .toList();
        assertEquals(chat.expectedTicks(), ticks);
        silent.sendRaw("/who\n");
        silent.await(l -> l.equals("* in lobby (3): " + String.join(", ",
                sortedNames("alice", "bob", silent.name()))));
    }

    private static List<String> sortedNames(String... names) {
        List<String> l = new ArrayList<>(Arrays.asList(names));
        l.sort(String.CASE_INSENSITIVE_ORDER);
        return l;
    }

    @Test
    void shouldAssembleALineSentOneByteEvery20Milliseconds() throws Exception {
        Chatter chat = chatter();
        Peer slow = peer();
        slow.await(l -> l.startsWith("* welcome "));
        byte[] bytes = "/nick slowpoke\nslow but whole\n".getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) { // 30 bytes, one segment each (TCP_NODELAY), 20 ms apart
            slow.sendRaw(new String(new byte[] {b}, StandardCharsets.US_ASCII));
            Thread.sleep(20); // the pace is the point of the test
        }
        chat.bob.await(l -> l.equals("<slowpoke> slow but whole"));
        List<String> seen = chat.finish();
        int renamed = seen.indexOf("* " + slow.name() + " is now known as slowpoke");
        int said = seen.indexOf("<slowpoke> slow but whole");
        assertTrue(renamed >= 0 && said > renamed, seen.toString());
        long ticksMeanwhile = seen.subList(renamed, said).stream()
                .filter(l -> l.startsWith("<alice> tick ")).count();
        assertTrue(ticksMeanwhile > 0, "the room went on while the slow line trickled in");
        assertEquals(3, server.connectionCount());
    }

    /**
     * A publisher writes as fast as it can to a room of 100 readers, all on one client loop, and
     * one more member that never reads: every reader gets every message in order, and the one
     * that stopped reading is the only one dropped, as too slow.
     */
    @Test
    void shouldDeliverAFloodInOrderToAHundredReadersAndDropOnlyTheOneThatStopsReading()
            throws Exception {
        server.stop();
        // Every leave announced by name, also in this room of 102: the test checks who was dropped.
        server = TestServers.start(TcpServerOptions.defaults().withPort(0)
                .withSlowConsumerTimeout(Duration.ofSeconds(1)),
                HubOptions.defaults().withAnnounceLimit(Integer.MAX_VALUE));
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", server.port());
        int readers = 100;
        int messages = 50_000;
        String pad = "f".repeat(80);

        EventLoop clientLoop = new EventLoop();
        clientLoop.start("test-readers");
        List<FloodReader> listeners = new ArrayList<>();
        List<TcpChatClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < readers; i++) {
                FloodReader r = new FloodReader();
                listeners.add(r);
                clients.add(TcpChatClient.open(clientLoop, address, r));
            }
            for (TcpChatClient c : clients) {
                c.connected().get(20, TimeUnit.SECONDS);
            }
            Socket stalled = new Socket();
            closeLater.add(stalled);
            stalled.setReceiveBufferSize(4096);
            stalled.connect(address);
            String stalledName = "127.0.0.1:" + stalled.getLocalPort();
            TcpChatServerTest.await("all in the lobby",
                    () -> server.connectionCount() == readers + 1);

            Socket publisher = new Socket();
            closeLater.add(publisher);
            publisher.setTcpNoDelay(true);
            publisher.connect(address);
            Thread drain = new Thread(() -> discardAll(publisher), "publisher-drain");
            drain.setDaemon(true);
            drain.start();
            Thread flood = new Thread(() -> {
                try {
                    OutputStream out = publisher.getOutputStream();
                    StringBuilder batch = new StringBuilder("/nick pub\n");
                    for (int i = 0; i < messages; i++) {
                        batch.append(i).append(' ').append(pad).append('\n');
                        if (batch.length() > 32 * 1024) {
                            out.write(batch.toString().getBytes(StandardCharsets.UTF_8));
                            batch.setLength(0);
                        }
                    }
                    out.write(batch.toString().getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }, "publisher");
            flood.start();

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                List<String> progress = onLoop(clientLoop, () -> {
                    List<String> p = new ArrayList<>();
                    for (int i = 0; i < listeners.size(); i++) {
                        FloodReader r = listeners.get(i);
                        if (r.closed || r.outOfOrder > 0 || r.next < messages) {
                            p.add(i + ": " + r);
                        }
                    }
                    return p;
                });
                if (progress.isEmpty()) {
                    break;
                }
                if (progress.stream().anyMatch(s -> s.contains("closed") || s.contains("bad"))) {
                    fail("a reader failed: " + progress);
                }
                if (System.nanoTime() - deadline > 0) {
                    fail("readers not done within 20 s: " + progress.subList(0,
                            Math.min(5, progress.size())) + " ...");
                }
                Thread.sleep(20); // polling interval of a deadline-bounded wait
            }
            flood.join(10_000);
            TcpChatServerTest.await("only the stalled one dropped",
                    () -> server.connectionCount() == readers + 1);
            List<String> drops = onLoop(clientLoop, () -> {
                List<String> d = new ArrayList<>();
                for (FloodReader r : listeners) {
                    d.add(String.join("|", r.tooSlow));
                }
                return d;
            });
            for (String d : drops) {
                assertEquals("* " + stalledName + " left (too slow)", d,
                        "each reader saw exactly one drop, the stalled client's");
            }
        } finally {
            clientLoop.stop();
            assertTrue(clientLoop.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    private static void discardAll(Socket s) {
        byte[] buf = new byte[64 * 1024];
        try {
            InputStream in = s.getInputStream();
            while (in.read(buf) >= 0) {
                // the publisher's own echoes: read and forget, so it never lags
            }
        } catch (IOException e) {
            // closed at the end of the test
        }
    }

    private static <T> T onLoop(EventLoop loop, java.util.function.Supplier<T> what)
            throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        loop.execute(() -> f.complete(what.get()));
        return f.get(10, TimeUnit.SECONDS);
    }

    /** Checks the flood's lines on the client loop thread, without building strings for them. */
    private static final class FloodReader implements TcpChatClient.Listener {
        private static final byte[] PREFIX = "<pub> ".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] TOO_SLOW = " left (too slow)".getBytes(StandardCharsets.US_ASCII);
        int next;
        int outOfOrder;
        String firstBad;
        boolean closed;
        final List<String> tooSlow = new ArrayList<>();

        @Override
        public void onLine(byte[] buf, int off, int len) {
            if (startsWith(buf, off, len, PREFIX)) {
                int n = 0;
                int i = off + PREFIX.length;
                while (i < off + len && buf[i] != ' ') {
                    n = n * 10 + (buf[i++] - '0');
                }
                if (n == next) {
                    next++;
                } else if (outOfOrder++ == 0) {
                    firstBad = "expected " + next + ", got " + n;
                }
            } else if (len >= TOO_SLOW.length && Arrays.equals(buf, off + len - TOO_SLOW.length,
                    off + len, TOO_SLOW, 0, TOO_SLOW.length)) {
                tooSlow.add(new String(buf, off, len, StandardCharsets.UTF_8));
            }
        }

        @Override
        public void onClosed(IOException cause) {
            closed = true;
        }

        private static boolean startsWith(byte[] buf, int off, int len, byte[] prefix) {
            return len >= prefix.length
                    && Arrays.equals(buf, off, off + prefix.length, prefix, 0, prefix.length);
        }

        @Override
        public String toString() {
            return "next=" + next + (outOfOrder > 0 ? " bad: " + firstBad : "")
                    + (closed ? " closed" : "");
        }
    }

    /**
     * Alice says "tick N" every 10 ms while a test runs; {@link #finish()} checks that Bob got
     * every tick, in order, and returns all Bob saw.
     */
    private static final class Chatter implements Closeable {
        final Peer alice;
        final Peer bob;
        private final Thread thread;
        private volatile boolean stop;
        private volatile int sent;

        Chatter(Peer alice, Peer bob) throws IOException {
            this.alice = alice;
            this.bob = bob;
            alice.await(l -> l.startsWith("* welcome "));
            bob.await(l -> l.startsWith("* welcome "));
            alice.sendRaw("/nick alice\n");
            bob.sendRaw("/nick bob\n");
            alice.await(l -> l.endsWith(" is now known as bob"));
            bob.await(l -> l.endsWith(" is now known as alice"));
            thread = new Thread(this::run, "chatter");
            thread.setDaemon(true);
            thread.start();
        }

        private void run() {
            try {
                while (!stop) {
                    alice.sendRaw("tick " + sent + "\n");
                    sent++;
                    Thread.sleep(10); // the background chat's pace
                }
            } catch (IOException | InterruptedException e) {
                // finish() reports the gap
            }
        }

        List<String> expectedTicks() {
            List<String> t = new ArrayList<>();
            for (int i = 0; i < sent; i++) {
                t.add("<alice> tick " + i);
            }
            t.add("<alice> tick end");
            return t;
        }

        /** Stops the ticks and checks Bob got all of them, in order. */
        List<String> finish() throws Exception {
            stop = true;
            thread.join(5_000);
            alice.sendRaw("tick end\n");
            bob.await(l -> l.equals("<alice> tick end"));
            List<String> seen = bob.lines();
            List<String> ticks = seen.stream().filter(l -> l.startsWith("<alice> tick "))
                    .toList();
            assertEquals(expectedTicks(), ticks, "bob got every tick, in order");
            assertTrue(sent > 0);
            return seen;
        }

        @Override
        public void close() {
            stop = true;
        }
    }

    /** A plain-socket client whose reader thread keeps every line it receives. */
    static final class Peer implements Closeable {
        final Socket socket;
        private final OutputStream out;
        private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        private final Object gate = new Object();
        private boolean paused;
        private volatile boolean eof;

        Peer(int port, int receiveBuffer) throws IOException {
            socket = new Socket();
            if (receiveBuffer > 0) {
                socket.setReceiveBufferSize(receiveBuffer);
            }
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            out = socket.getOutputStream();
            Thread reader = new Thread(this::readLoop, "peer-reader");
            reader.setDaemon(true);
            reader.start();
        }

        String name() {
            return "127.0.0.1:" + socket.getLocalPort();
        }

        private void readLoop() {
            try {
                // Not closed here: closing the reader would close the socket, which the test may
                // still write to (a half-closed peer) or close itself.
                BufferedReader in = new BufferedReader(
                        new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8), 256);
                while (true) {
                    synchronized (gate) {
                        while (paused) {
                            gate.wait();
                        }
                    }
                    String line = in.readLine();
                    if (line == null) {
                        break;
                    }
                    lines.add(line);
                }
            } catch (IOException | InterruptedException e) {
                // reset or closed: the end of this peer's stream
            }
            eof = true;
        }

        /** Stops reading (the reader may still take the line it is blocked on). */
        void pauseReading() {
            synchronized (gate) {
                paused = true;
            }
        }

        void resumeReading() {
            synchronized (gate) {
                paused = false;
                gate.notifyAll();
            }
        }

        void sendRaw(String text) throws IOException {
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        List<String> lines() {
            synchronized (lines) {
                return new ArrayList<>(lines);
            }
        }

        /** Waits for a line that matches, among every line received so far and later. */
        String await(Predicate<String> p) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (true) {
                synchronized (lines) {
                    for (String l : lines) {
                        if (p.test(l)) {
                            return l;
                        }
                    }
                }
                if (System.nanoTime() - deadline > 0) {
                    List<String> all = lines();
                    return fail("no matching line within " + WAIT + "; last lines: "
                            + all.subList(Math.max(0, all.size() - 10), all.size()));
                }
                try {
                    Thread.sleep(5); // polling interval of a deadline-bounded wait
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail("interrupted");
                }
            }
        }

        void awaitEof() {
            TcpChatServerTest.await("end of stream", () -> eof);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
