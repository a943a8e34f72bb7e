package org.chatloop.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.chatloop.bench.peers.Peer;
import org.chatloop.bench.peers.PeerServer;

/**
 * Heap per idle connection: starts each peer in this process, measures the heap after full GCs,
 * has a child process ({@link IdleClients}) open N idle connections, measures again, and prints
 * {@code (after - before) / N} per peer as a Markdown table.
 *
 * <pre>
 * java -cp chat-bench/target/benchmarks.jar org.chatloop.bench.IdleMemoryProbe [N] [PEER ...]
 * </pre>
 * Defaults: N = 10000; peers CHATLOOP, NETTY_IDIOMATIC. Run it with a fixed heap
 * ({@code -Xms1g -Xmx1g}) and a file-descriptor limit above N.
 */
public final class IdleMemoryProbe {
    private IdleMemoryProbe() {
    }

    /** @param args N and peers */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        List<Peer> peers = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            peers.add(Peer.valueOf(args[i]));
        }
        if (peers.isEmpty()) {
            peers = List.of(Peer.CHATLOOP, Peer.NETTY_IDIOMATIC);
        }
        System.out.printf(Locale.ROOT, "%nHeap per idle connection, %d connections (bytes, after "
                + "full GC; direct memory not included)%n%n| peer | heap before | heap with "
                + "connections | per connection |%n|---|---:|---:|---:|%n", n);
        for (Peer peer : peers) {
            try (PeerServer server = peer.start()) {
                long before = heapAfterGc();
                Process child = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp", System.getProperty("java.class.path"),
                        IdleClients.class.getName(), String.valueOf(server.port()),
                        String.valueOf(n), String.valueOf(peer == Peer.CHATLOOP))
                        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
                try {
                    BufferedReader out = new BufferedReader(new InputStreamReader(
                            child.getInputStream(), StandardCharsets.UTF_8));
                    String line = out.readLine();
                    if (line == null || !line.startsWith("ready ")) {
                        throw new IOException("client process failed: " + line);
                    }
                    int open = Integer.parseInt(line.split(" ")[1]);
                    if (open != n) {
                        throw new IOException(peer + " kept only " + open + " of " + n
                                + " connections open");
                    }
                    long after = heapAfterGc();
                    if (Boolean.getBoolean("probe.histogram")) {
                        System.err.println(classHistogram());
                    }
                    System.out.printf(Locale.ROOT, "| %s | %d | %d | %d |%n", peer, before, after,
                            (after - before) / n);
                } finally {
                    child.getOutputStream().close();
                    if (!child.waitFor(30, TimeUnit.SECONDS)) {
                        child.destroyForcibly();
                    }
                }
            }
        }
    }

    /** @return the top of the heap's class histogram, as {@code jcmd GC.class_histogram} */
    private static String classHistogram() {
        try {
            Object out = ManagementFactory.getPlatformMBeanServer().invoke(
                    new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "gcClassHistogram", new Object[] {new String[0]},
                    new String[] {String[].class.getName()});
            return String.join("\n", String.valueOf(out).lines().limit(25).toList());
        } catch (javax.management.JMException e) {
            return "no histogram: " + e;
        }
    }

    private static long heapAfterGc() throws InterruptedException {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200); // let reference processing settle between collections
            best = Math.min(best, memory.getHeapMemoryUsage().getUsed());
        }
        return best;
    }
}
