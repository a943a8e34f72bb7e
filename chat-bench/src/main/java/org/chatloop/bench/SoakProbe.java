package org.chatloop.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.chatloop.loop.EventLoop;
import org.chatloop.tcp.TcpChatClient;
import org.chatloop.tcp.TcpChatServer;
import org.chatloop.tcp.TcpServerOptions;

/**
 * A mixed soak of one chatloop TCP server: readers in three rooms check that they receive every
 * line of their room's publisher in order, while churners join, rename, switch rooms, chat and
 * leave by {@code /quit}, end of stream or reset, a flooder publishes bursts into its own room, and
 * slow readers join that room and never read. At the end: zero lost or reordered lines for the
 * readers, and the server process's heap (after GC), threads and descriptors compared with the
 * start. Bounded in time; run by hand or nightly, not in CI:
 *
 * <pre>
 * bash chat-bench/soak.sh [SECONDS]
 * </pre>
 * Default 600 seconds. Exits non-zero if a reader lost a line or a resource grew.
 */
public final class SoakProbe {
    private static final String[] ROOMS = {"alpha", "beta", "gamma"};

    private SoakProbe() {
    }

    /** A reader: counts its room publisher's lines and checks their order (loop thread only). */
    private static final class Reader implements TcpChatClient.Listener {
        final String room;
        long expected;
        long received;
        String failure;

        Reader(String room) {
            this.room = room;
        }

        @Override
        public void onLine(byte[] buf, int off, int len) {
            String line = new String(buf, off, len, StandardCharsets.UTF_8);
            String tag = "> " + room + "#";
            int at = line.indexOf(tag);
            if (!line.startsWith("<pub-" + room + ">") || at < 0) {
                return;
            }
            long seq = Long.parseLong(line.substring(at + tag.length()).split(" ")[0]);
            if (seq != expected && failure == null) {
                failure = room + " reader expected #" + expected + " got #" + seq;
            }
            expected = seq + 1;
            received++;
        }
    }

    /** @param args the duration in seconds */
    public static void main(String[] args) throws Exception {
        long seconds = args.length > 0 ? Long.parseLong(args[0]) : 600;
        TcpChatServer server = TcpChatServer.start(TcpServerOptions.defaults().withPort(0)
                .withSlowConsumerTimeout(java.time.Duration.ofSeconds(2)));
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", server.port());
        EventLoop clients = new EventLoop();
        clients.start("soak-clients");
        Random rnd = new Random(42);
        List<Reader> readers = new ArrayList<>();
        List<TcpChatClient> publishers = new ArrayList<>();
        List<TcpChatClient> readerClients = new ArrayList<>();
        try {
            for (String room : ROOMS) {
                TcpChatClient pub = TcpChatClient.open(clients, address, (b, o, l) -> { });
                pub.connected().get(10, TimeUnit.SECONDS);
                pub.send("/nick pub-" + room);
                pub.send("/join " + room);
                publishers.add(pub);
                for (int i = 0; i < 20; i++) {
                    Reader r = new Reader(room);
                    TcpChatClient c = TcpChatClient.open(clients, address, r);
                    c.connected().get(10, TimeUnit.SECONDS);
                    c.send("/join " + room);
                    readers.add(r);
                    readerClients.add(c);
                }
            }
            // Readers are in their rooms once the server answered a /who from each publisher.
            waitForQuiet();
            long heapStart = heapAfterGc();
            long threadsStart = Thread.activeCount();
            long fdsStart = descriptors();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            long seq = 0;
            long churned = 0;
            long slow = 0;
            long floods = 0;
            while (System.nanoTime() < deadline) {
                for (int p = 0; p < publishers.size(); p++) {
                    publishers.get(p).send(ROOMS[p] + "#" + seq + " soak line");
                }
                seq++;
                if (seq % 50 == 0) {
                    churned += churn(address, rnd);
                }
                if (seq % 500 == 0) {
                    floods += flood(address);
                    slow += slowReader(address);
                }
                Thread.sleep(1); // pacing of the publishers (about 1,000 lines/s per room)
            }
            for (Socket s : SLOW) {
                s.close(); // the server dropped them long ago; this closes the client side
            }
            waitForQuiet();
            long lost = 0;
            String failure = null;
            for (Reader r : readers) {
                long[] got = onLoop(clients, () -> new long[] {r.received, r.expected});
                lost += seq - got[0];
                if (r.failure != null && failure == null) {
                    failure = r.failure;
                }
            }
            // The same population as at the start: readers and publishers still connected.
            long heapEnd = heapAfterGc();
            long threadsEnd = Thread.activeCount();
            long fdsEnd = descriptors();
            for (TcpChatClient c : readerClients) {
                c.close();
            }
            for (TcpChatClient c : publishers) {
                c.close();
            }
            System.out.printf(Locale.ROOT, "%nSoak: %d s, %d lines per room to %d readers, %d "
                    + "churning clients, %d floods, %d slow readers%n%n| figure | start | end |%n"
                    + "|---|---:|---:|%n| heap after GC (MiB) | %.1f | %.1f |%n| threads | %d | %d |%n"
                    + "| descriptors | %d | %d |%n| lines lost by readers | | %d |%n%s%n",
                    seconds, seq, readers.size(), churned, floods, slow, heapStart / 1048576.0,
                    heapEnd / 1048576.0, threadsStart, threadsEnd, fdsStart, fdsEnd, lost,
                    failure == null ? "" : "first error: " + failure);
            boolean ok = failure == null && lost == 0 && heapEnd < heapStart + (16L << 20)
                    && threadsEnd <= threadsStart && fdsEnd <= fdsStart + 3;
            System.out.println(ok ? "soak passed" : "SOAK FAILED");
            if (!ok) {
                System.exit(1);
            }
        } finally {
            clients.stop();
            clients.awaitTermination(10, TimeUnit.SECONDS);
            server.stop();
        }
    }

    /** A client joins, renames, switches rooms, chats and leaves one of three ways. */
    private static int churn(InetSocketAddress address, Random rnd) throws IOException {
        try (Socket s = new Socket(address.getAddress(), address.getPort())) {
            String nick = "churn" + rnd.nextInt(1_000_000);
            String room = rnd.nextBoolean() ? ROOMS[rnd.nextInt(ROOMS.length)] : "side"
                    + rnd.nextInt(5);
            String script = "/nick " + nick + "\n/join " + room + "\nhello from " + nick
                    + "\n/rooms\n/who\n/join lobby\n/msg pub-alpha hi\n";
            int end = rnd.nextInt(3);
            if (end == 0) {
                script += "/quit\n";
            }
            s.getOutputStream().write(script.getBytes(StandardCharsets.UTF_8));
            if (end == 2) {
                s.setSoLinger(true, 0); // reset
            }
        }
        return 1;
    }

    /** A burst of lines into its own room from a short-lived flooder. */
    private static int flood(InetSocketAddress address) throws IOException {
        try (Socket s = new Socket(address.getAddress(), address.getPort())) {
            StringBuilder b = new StringBuilder("/join floodroom\n");
            for (int i = 0; i < 2_000; i++) {
                b.append("flood ").append(i).append(' ').append("x".repeat(200)).append('\n');
            }
            s.getOutputStream().write(b.toString().getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            s.getInputStream().readAllBytes(); // reads its own echoes until the server closes
        }
        return 1;
    }

    /** A client that joins the flood room and never reads; the server must drop it. */
    private static int slowReader(InetSocketAddress address) throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(4096);
        s.connect(address);
        s.getOutputStream().write("/join floodroom\n".getBytes(StandardCharsets.UTF_8));
        SLOW.add(s); // closed at exit if the server has not dropped it by then
        return 1;
    }

    private static final List<Socket> SLOW = new ArrayList<>();

    private static void waitForQuiet() throws InterruptedException {
        Thread.sleep(2_000); // settle time between phases of a hand-run probe, not a test
    }

    private static <T> T onLoop(EventLoop loop, java.util.function.Supplier<T> work)
            throws Exception {
        java.util.concurrent.CompletableFuture<T> f = new java.util.concurrent.CompletableFuture<>();
        loop.execute(() -> f.complete(work.get()));
        return f.get(10, TimeUnit.SECONDS);
    }

    private static long descriptors() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static long heapAfterGc() throws InterruptedException {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
            best = Math.min(best,
                    ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return best;
    }
}
