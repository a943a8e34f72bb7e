package org.chatloop.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The connection storm of {@link StormProbe}, with the same load generator ({@link IdleClients})
 * against a Redis server's pub/sub instead: {@code N} connections each {@code SUBSCRIBE lobby}
 * (the confirmation is the greeting), a publish that all must receive, then {@code M}
 * {@code PUBLISH}es that every subscriber must receive. Redis sends no join notices, so this is
 * the cost of connecting and subscribing alone. Run with a Redis already listening on 127.0.0.1:
 *
 * <pre>
 * bash chat-bench/storm-redis.sh [N] [M]     # starts and stops a redis-server of its own
 * </pre>
 */
public final class RedisStormProbe {
    private RedisStormProbe() {
    }

    /** @param args PORT N M */
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        int m = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        Process child = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), IdleClients.class.getName(),
                String.valueOf(port), String.valueOf(n), "true", "burst", "redis")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader childOut = new BufferedReader(new InputStreamReader(
                    child.getInputStream(), StandardCharsets.UTF_8));
            String[] ready = StormProbe.expect(childOut, "ready ").split(" ");
            PrintStream toChild = new PrintStream(child.getOutputStream(), true,
                    StandardCharsets.US_ASCII);
            toChild.println("count " + m);
            StormProbe.expect(childOut, "counting");
            try (Socket publisher = new Socket("127.0.0.1", port)) {
                Thread drain = StormProbe.drain(publisher.getInputStream());
                OutputStream out = publisher.getOutputStream();
                StringBuilder batch = new StringBuilder();
                for (int i = 0; i < m; i++) {
                    batch.append("PUBLISH lobby \"#").append(i).append(" storm broadcast\"\r\n");
                }
                out.write(batch.toString().getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String[] delivered = StormProbe.expect(childOut, "delivered ").split(" ");
                long count = Long.parseLong(delivered[1]);
                long millis = Math.max(1, Long.parseLong(delivered[2]));
                System.out.printf(Locale.ROOT, "%nConnection storm against Redis pub/sub: %d "
                        + "subscribers of one channel, then %d publishes to all%n%n"
                        + "| figure | value |%n|---|---:|%n| connections open | %s of %d |%n"
                        + "| time until all are subscribed (burst) | %s ms |%n"
                        + "| time until all are subscribed and got one publish | %s ms |%n"
                        + "| deliveries | %d in %d ms (%.2f M/s) |%n", n, m, ready[1], n,
                        ready[3], ready[2], count, millis, count / (millis * 1000.0));
                if (count != (long) n * m) {
                    throw new IOException("lost publishes: " + count + " of " + (long) n * m);
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
