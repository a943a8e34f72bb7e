package org.chatloop.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.chatloop.core.HubOptions;
import org.chatloop.tcp.TcpChatServer;
import org.chatloop.tcp.TcpServerOptions;

/**
 * A connection storm against one chatloop TCP server: a child process ({@link IdleClients}) opens
 * {@code N} connections into the lobby (every arrival announced to everyone), then one publisher
 * sends {@code M} lines that every connection must receive. Prints connect time, heap and
 * descriptors of the server's process, and the broadcast delivery rate. Bounded in time (the child
 * gives up after two minutes) and stops by itself. Run it by hand or nightly, not in CI:
 *
 * <pre>
 * bash chat-bench/storm.sh [N] [M] [MODE] [ANNOUNCE_LIMIT]   # defaults 10000, 100, burst, 100
 * </pre>
 *
 * <p>MODE {@code burst} connects as fast as the server greets (at most
 * {@value IdleClients#BURST_WINDOW} connections in flight); {@code paced} connects a hundred at a
 * time, each hundred after the last is greeted and quiet for 20 ms (the older figure's method, which
 * spends at least 20 ms per hundred waiting). "Served" means greeted and then given a broadcast
 * ({@code $sync}) that every connection received.
 */
public final class StormProbe {
    private StormProbe() {
    }

    /** @param args N and M */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int m = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        String mode = args.length > 2 ? args[2] : "burst";
        int announceLimit = args.length > 3 ? Integer.parseInt(args[3])
                : HubOptions.defaults().announceLimit();
        try (TcpChatServer server = TcpChatServer.start(TcpServerOptions.defaults().withPort(0)
                .withMaxClients(n + 10), HubOptions.defaults().withAnnounceLimit(announceLimit))) {
            long heapBefore = heapAfterGc();
            long fdsBefore = openDescriptors();
            Process child = new ProcessBuilder(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), IdleClients.class.getName(),
                    String.valueOf(server.port()), String.valueOf(n), "true", mode)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try {
                BufferedReader childOut = new BufferedReader(new InputStreamReader(
                        child.getInputStream(), StandardCharsets.UTF_8));
                String[] ready = expect(childOut, "ready ").split(" ");
                long heapWith = heapAfterGc();
                long fdsWith = openDescriptors();
                PrintStream toChild = new PrintStream(child.getOutputStream(), true,
                        StandardCharsets.US_ASCII);
                toChild.println("count " + m);
                expect(childOut, "counting");
                try (Socket publisher = new Socket("127.0.0.1", server.port())) {
                    Thread drain = drain(publisher.getInputStream());
                    OutputStream out = publisher.getOutputStream();
                    StringBuilder batch = new StringBuilder();
                    for (int i = 0; i < m; i++) {
                        batch.append('#').append(i).append(" storm broadcast\n");
                    }
                    out.write(batch.toString().getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    String[] delivered = expect(childOut, "delivered ").split(" ");
                    long count = Long.parseLong(delivered[1]);
                    long millis = Math.max(1, Long.parseLong(delivered[2]));
                    System.out.printf(Locale.ROOT, "%nConnection storm: %d TCP connections into "
                            + "one lobby (announce limit " + announceLimit + "), then %d "
                            + "broadcasts to all%n%n| figure | value |%n"
                            + "|---|---:|%n| connections open | %s of %d |%n"
                            + "| time until all are greeted (%s) | %s ms |%n"
                            + "| time until all are greeted and got one broadcast | %s ms |%n"
                            + "| server heap with them, after GC | %.1f MiB (%d B per connection) |%n"
                            + "| server descriptors | %d -> %d |%n"
                            + "| broadcast deliveries | %d in %d ms (%.2f M/s, join notices "
                            + "excluded) |%n", n, m, ready[1], n, mode, ready[3], ready[2],
                            heapWith / 1048576.0,
                            (heapWith - heapBefore) / n, fdsBefore, fdsWith, count, millis,
                            count / (millis * 1000.0));
                    if (count != (long) n * m) {
                        throw new IOException("lost broadcasts: " + count + " of " + (long) n * m);
                    }
                    drain.interrupt();
                }
            } finally {
                child.getOutputStream().close();
                if (!child.waitFor(30, TimeUnit.SECONDS)) {
                    child.destroyForcibly();
                }
            }
        }
    }

    static String expect(BufferedReader in, String prefix) throws IOException {
        String line;
        while ((line = in.readLine()) != null) {
            if (line.startsWith(prefix)) {
                return line;
            }
        }
        throw new IOException("the client process ended before printing " + prefix.strip());
    }

    static Thread drain(InputStream in) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[64 * 1024];
            try {
                while (in.read(buf) >= 0) {
                    // the publisher's own echoes and notices
                }
            } catch (IOException ignored) {
                // closed
            }
        }, "storm-publisher-drain");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static long openDescriptors() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static long heapAfterGc() throws InterruptedException {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200); // let reference processing settle between collections
            best = Math.min(best,
                    ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return best;
    }
}
