package org.chatloop.bench.peers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PeersTest {
    private static final int CLIENTS = 3;
    private static final int LINES = 200;
    private static final int BATCHES = 4;
    private static final long STEP_NANOS = TimeUnit.SECONDS.toNanos(5);

    @ParameterizedTest
    @EnumSource(Peer.class)
    @Timeout(value = 15, unit = TimeUnit.SECONDS)
    void relaysEveryLineToEveryClientInOrder(Peer peer) throws Exception {
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        PeerServer server = peer.start();
        List<LineClient> clients = new ArrayList<>();
        try {
            assertTrue(server.port() > 0, "port");
            for (int i = 0; i < CLIENTS; i++) {
                clients.add(new LineClient(server.port()));
            }
            LineClient sender = clients.get(0);
            String prefix = peer.prefixesSender() ? "<" + sender.name() + "> " : "";
            awaitEveryoneJoined(sender, clients, prefix);

            int next = 0;
            for (int b = 0; b < BATCHES; b++) {
                int end = LINES * (b + 1) / BATCHES;
                StringBuilder sb = new StringBuilder();
                for (int i = next; i < end; i++) {
                    sb.append("msg-").append(i).append('\n');
                }
                sender.send(sb.toString()); // one write: a batch the server reads together
                for (LineClient c : clients) {
                    long deadline = System.nanoTime() + STEP_NANOS;
                    while (c.received < end) {
                        if (System.nanoTime() - deadline > 0) {
                            fail(c + ": timed out waiting for msg-" + c.received);
                        }
                        String payload = c.nextPayload(prefix, deadline);
                        if (payload == null || payload.startsWith("ping-")) {
                            continue;
                        }
                        assertEquals("msg-" + c.received, payload, c + " got out of order");
                        c.received++;
                    }
                }
                next = end;
            }
            for (LineClient c : clients) {
                assertEquals(LINES, c.received, c.toString());
            }
        } finally {
            for (LineClient c : clients) {
                c.close();
            }
            server.close();
        }
        assertThreadsGone(before);
    }

    /**
     * Sends pings until every client has seen one: then the server knows them all, whatever order
     * it accepted them in. Later stale pings are skipped by the readers.
     */
    private static void awaitEveryoneJoined(LineClient sender, List<LineClient> clients,
                                            String prefix) throws IOException {
        long deadline = System.nanoTime() + STEP_NANOS;
        boolean[] seen = new boolean[clients.size()];
        int ping = 0;
        while (true) {
            sender.send("ping-" + ping++ + "\n");
            boolean all = true;
            for (int i = 0; i < clients.size(); i++) {
                long window = Math.min(deadline, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300));
                while (!seen[i] && System.nanoTime() < window) {
                    String payload = clients.get(i).nextPayload(prefix, window);
                    if (payload != null && payload.startsWith("ping-")) {
                        seen[i] = true;
                    } else if (payload != null) {
                        fail("unexpected line before any message: " + payload);
                    }
                }
                all &= seen[i];
            }
            if (all) {
                return;
            }
            if (System.nanoTime() > deadline) {
                fail("not every client joined: " + Arrays.toString(seen));
            }
        }
    }

    private static void assertThreadsGone(Set<Thread> before) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        List<Thread> left;
        do {
            left = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> !before.contains(t) && t.isAlive())
                    .filter(t -> t.getName().startsWith("peer-") || t.getName().startsWith("chat-"))
                    .collect(Collectors.toList());
            if (left.isEmpty()) {
                return;
            }
            Thread.sleep(20); // polling, with a deadline
        } while (System.nanoTime() < deadline);
        fail("threads still alive after close(): " + left);
    }

    /** A blocking client reading lines with a short socket timeout, so waits can have deadlines. */
    private static final class LineClient implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private final byte[] buf = new byte[64 * 1024];
        private int start;
        private int end;
        int received;

        LineClient(int port) throws IOException {
            socket = new Socket();
            socket.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            socket.setSoTimeout(50);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        String name() {
            return "127.0.0.1:" + socket.getLocalPort();
        }

        void send(String s) throws IOException {
            out.write(s.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        /**
         * @return the next relayed line without its prefix, or null for a line to ignore (a
         *         {@code * } notice) or none before the deadline
         */
        String nextPayload(String prefix, long deadlineNanos) throws IOException {
            String line = readLine(deadlineNanos);
            if (line == null || line.startsWith("* ")) {
                return null;
            }
            assertTrue(line.startsWith(prefix), () -> this + ": line without the sender's prefix '"
                    + prefix + "': " + line);
            return line.substring(prefix.length());
        }

        /** @return the next line, or null if none came before the deadline */
        private String readLine(long deadlineNanos) throws IOException {
            while (true) {
                for (int i = start; i < end; i++) {
                    if (buf[i] == '\n') {
                        String line = new String(buf, start, i - start, StandardCharsets.UTF_8);
                        start = i + 1;
                        return line;
                    }
                }
                if (System.nanoTime() - deadlineNanos >= 0) {
                    return null;
                }
                if (start > 0) {
                    System.arraycopy(buf, start, buf, 0, end - start);
                    end -= start;
                    start = 0;
                }
                if (end == buf.length) {
                    fail(this + ": line longer than " + buf.length + " bytes");
                }
                try {
                    int n = in.read(buf, end, buf.length - end);
                    if (n < 0) {
                        fail(this + ": server closed the connection");
                    }
                    end += n;
                } catch (SocketTimeoutException e) {
                    // nothing yet: check the deadline
                }
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }

        @Override
        public String toString() {
            return "client " + name() + " (received " + received + ")";
        }
    }
}
