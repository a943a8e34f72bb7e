package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that never send a newline: the original tutorial's own TCP client, run as the seed has
 * it, chats with a newline ({@code nc}-like) user; and the framing rules around the pause.
 */
@Timeout(60)
class UnframedClientTest {
    private TcpChatServer server;

    @BeforeEach
    void start() throws IOException {
        server = TestServers.start(TcpServerOptions.defaults().withPort(0));
    }

    @AfterEach
    void stop() {
        server.stop();
    }

    @Test
    void shouldChatWithTheSeedsOwnTcpClientThatSendsNoNewline(@TempDir Path dir) throws Exception {
        String python = findPython();
        assumeTrue(python != null, "python3 is not installed; the seed client cannot run");
        Path script = dir.resolve("tcp_chat_client.py");
        try (InputStream in = getClass().getResourceAsStream("/seed/tcp_chat_client.py")) {
            Files.copy(in, script);
        }
        try (LineClient nc = LineClient.joined(server.port())) {
            Process seed = new ProcessBuilder(python, "-u", script.toString(), "127.0.0.1",
                    String.valueOf(server.port())).redirectErrorStream(true).start();
            try {
                BlockingQueue<String> printed = pump(seed.getInputStream());
                OutputStream typed = seed.getOutputStream();
                String joined = nc.expect(l -> l.endsWith(" joined lobby"));
                String seedName = joined.substring(2, joined.length() - " joined lobby".length());

                type(typed, "hello from the seed");
                nc.expectLine("<" + seedName + "> hello from the seed");
                type(typed, "/nick seedy");
                nc.expectLine("* " + seedName + " is now known as seedy");
                type(typed, "a second line, typed later");
                nc.expectLine("<seedy> a second line, typed later");

                nc.send("hi seed, from nc");
                awaitPrinted(printed, "hi seed, from nc");

                type(typed, "/quit");
                nc.expectLine("* seedy left (quit)");
                awaitPrinted(printed, "* bye");
                assertTrue(seed.waitFor(10, TimeUnit.SECONDS),
                        "the seed client ends once the server closes after /quit");
            } finally {
                seed.destroyForcibly();
            }
        }
        awaitConnections(0);
    }

    @Test
    void shouldJoinTheFirstLineOfANewlineClientCutIntoSegments25MsApart() throws Exception {
        try (LineClient reader = LineClient.joined(server.port());
             LineClient writer = LineClient.joined(server.port())) {
            String name = reader.expect(l -> l.endsWith(" joined lobby"));
            name = name.substring(2, name.length() - " joined lobby".length());

            writer.sendRaw("hel".getBytes(StandardCharsets.US_ASCII));
            Thread.sleep(25); // the scenario itself: a segment boundary, not a synchronisation
            writer.sendRaw("lo\n".getBytes(StandardCharsets.US_ASCII));

            assertEquals("<" + name + "> hello", reader.next());
        }
    }

    @Test
    void shouldWaitForTheNewlineOnceAClientHasSentOne() throws Exception {
        try (LineClient reader = LineClient.joined(server.port());
             LineClient writer = LineClient.joined(server.port())) {
            String name = reader.expect(l -> l.endsWith(" joined lobby"));
            name = name.substring(2, name.length() - " joined lobby".length());
            writer.send("first");
            assertEquals("<" + name + "> first", reader.next());

            writer.sendRaw("par".getBytes(StandardCharsets.US_ASCII));
            // Well past the unframed pause: a framed client's half line must still wait.
            assertNull(reader.poll(Duration.ofMillis(600)));
            writer.sendRaw("tial\n".getBytes(StandardCharsets.US_ASCII));

            assertEquals("<" + name + "> partial", reader.next());
        }
    }

    @Test
    void shouldObeyAnUnframedQuitWhileTheClientKeepsItsSocketOpen() throws Exception {
        try (LineClient watcher = LineClient.joined(server.port());
             LineClient quitter = LineClient.joined(server.port())) {
            String name = watcher.expect(l -> l.endsWith(" joined lobby"));
            name = name.substring(2, name.length() - " joined lobby".length());

            quitter.sendRaw("/quit".getBytes(StandardCharsets.US_ASCII));

            assertEquals("* bye", quitter.expect(l -> l.equals("* bye")));
            quitter.awaitEof();
            watcher.expectLine("* " + name + " left (quit)");
        }
        awaitConnections(0);
    }

    private static void type(OutputStream stdin, String line) throws IOException {
        stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        stdin.flush();
    }

    private static BlockingQueue<String> pump(InputStream in) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // process gone
            }
        }, "seed-stdout");
        t.setDaemon(true);
        t.start();
        return lines;
    }

    /** The seed client prints each recv() stripped, so one print may hold several lines. */
    private static void awaitPrinted(BlockingQueue<String> printed, String suffix)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        StringBuilder seen = new StringBuilder();
        while (System.nanoTime() < deadline) {
            String l = printed.poll(100, TimeUnit.MILLISECONDS);
            if (l != null) {
                seen.append(l).append('\n');
                if (l.endsWith(suffix)) {
                    return;
                }
            }
        }
        throw new AssertionError("the seed client never printed '" + suffix + "'; it printed:\n"
                + seen);
    }

    private void awaitConnections(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.connectionCount() != n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(n, server.connectionCount());
    }

    private static String findPython() {
        for (String candidate : new String[] {"python3", "python"}) {
            try {
                Process p = new ProcessBuilder(candidate, "--version").redirectErrorStream(true)
                        .start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return candidate;
                }
            } catch (IOException e) {
                // not this one
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }
}
