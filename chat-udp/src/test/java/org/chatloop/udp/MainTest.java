package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(30)
class MainTest {
    private static final Pattern LISTENING =
            Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) \\(udp\\)");

    /** Collects what a command prints, readable while it runs. */
    static final class Capture extends OutputStream {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            bytes.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            bytes.write(b, off, len);
        }

        synchronized String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }

        PrintStream stream() {
            return new PrintStream(this, true, StandardCharsets.UTF_8);
        }

        String await(Pattern pattern) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!pattern.matcher(text()).find()) {
                if (System.nanoTime() - deadline > 0) {
                    fail("no " + pattern + " within 5 s in: " + text());
                }
                Thread.onSpinWait();
            }
            return text();
        }
    }

    private record Result(int code, String out, String err) { }

    private static Result run(String... args) {
        Capture out = new Capture();
        Capture err = new Capture();
        int code = Main.run(args, out.stream(), err.stream());
        return new Result(code, out.text(), err.text());
    }

    @Test
    void aClusterThatCannotBeReachedExitsOneNamingIt() throws Exception {
        int free;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getLoopbackAddress())) {
            free = probe.getLocalPort();
        }
        Result r = run("server", "--port", "0", "--cluster", "redis://127.0.0.1:" + free);
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().startsWith("chat-udp server: cannot join the cluster at redis://127.0.0.1:"
                + free), r.err());
    }

    @Test
    void aBadClusterFlagExitsTwo() {
        Result r = run("server", "--cluster", "redis://127.0.0.1:6379", "--cluster-ttl", "0");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--cluster-ttl"), r.err());
    }

    @Test
    void shouldPrintHelpAndExitZero() {
        Result top = run("--help");
        assertEquals(0, top.code());
        assertTrue(top.out().contains("server") && top.out().contains("client"), top.out());
        Result server = run("server", "--help");
        assertEquals(0, server.code());
        for (String flag : List.of("--host", "--port", "--loops", "--max-message-bytes",
                "--max-clients", "--heartbeat-timeout", "--max-queued-datagrams")) {
            assertTrue(server.out().contains(flag), flag);
        }
        Result client = run("client", "--help");
        assertEquals(0, client.code());
        assertTrue(client.out().contains("--heartbeat-interval"), client.out());
        assertEquals("", client.err());
    }

    @ParameterizedTest
    @CsvSource({
        "server --bogus, --bogus",
        "server --port abc, --port",
        "server --port 70000, --port",
        "server --port -1, --port",
        "server --loops 0, --loops",
        "server --loops 256, --loops",
        "server --loops two, --loops",
        "server --max-message-bytes 0, --max-message-bytes",
        "server --max-message-bytes 65508, --max-message-bytes",
        "server --max-clients -5, --max-clients",
        "server --heartbeat-timeout -1, --heartbeat-timeout",
        "server --heartbeat-timeout 0, --heartbeat-timeout",
        "server --max-queued-datagrams 0, --max-queued-datagrams",
        "server --address-validation maybe, --address-validation",
        "server --max-lines-per-second -1, --max-lines-per-second",
        "server --max-clients-per-ip -2, --max-clients-per-ip",
        "server --host nosuch.invalid --port 0, --host",
        "client --port 0, --port",
        "client --port xyz, --port",
        "client --heartbeat-interval -3, --heartbeat-interval",
        "client --nope, --nope",
    })
    void shouldExitTwoNamingTheBadFlagWithoutAStackTrace(String args, String flag) {
        Result r = run(args.split(" "));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(flag), r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
        assertEquals("", r.out());
    }

    @Test
    void shouldExitTwoWithoutASubcommand() {
        Result r = run();
        assertEquals(2, r.code());
        assertTrue(r.err().contains("subcommand"), r.err());
    }

    @Test
    void shouldExitOneWhenThePortIsTaken() throws Exception {
        try (UdpChatServer taken = UdpChatServer.start(UdpServerOptions.defaults().withPort(0))) {
            Result r = run("server", "--port", String.valueOf(taken.port()));
            assertEquals(1, r.code());
            assertTrue(r.err().contains("cannot bind"), r.err());
        }
    }

    @Test
    void shouldServeUntilTerminatedPrintingOneListeningLine() throws Exception {
        List<Runnable> terminationHooks = new CopyOnWriteArrayList<>();
        Main main = new Main(InputStream.nullInputStream(), terminationHooks::add);
        Capture out = new Capture();
        Capture err = new Capture();
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> main.execute(
                new String[] {"server", "--port", "0", "--heartbeat-timeout", "30"},
                out.stream(), err.stream()));
        Matcher m = LISTENING.matcher(out.await(LISTENING));
        assertTrue(m.find());
        assertEquals(m.group() + System.lineSeparator(), out.text(), "exactly one line");
        int port = Integer.parseInt(m.group(1));
        try (TestPeer peer = new TestPeer(new InetSocketAddress("127.0.0.1", port))) {
            peer.register();
            assertEquals(1, terminationHooks.size());
            terminationHooks.get(0).run(); // what SIGINT/SIGTERM does
            peer.awaitLine("* server shutting down");
        }
        assertEquals(0, code.get(5, TimeUnit.SECONDS));
        assertEquals("", err.text());
    }

    @Test
    void shouldServeOnTwoLoopsAndTellClientsOfBothWhenTerminated() throws Exception {
        List<Runnable> terminationHooks = new CopyOnWriteArrayList<>();
        Main main = new Main(InputStream.nullInputStream(), terminationHooks::add);
        Capture out = new Capture();
        Capture err = new Capture();
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> main.execute(
                new String[] {"server", "--port", "0", "--loops", "2"},
                out.stream(), err.stream()));
        Matcher m = LISTENING.matcher(out.await(LISTENING));
        assertTrue(m.find());
        assertEquals(m.group() + System.lineSeparator(), out.text(), "exactly one line");
        InetSocketAddress server = new InetSocketAddress("127.0.0.1",
                Integer.parseInt(m.group(1)));
        List<TestPeer> peers = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                peers.add(new TestPeer(server).register());
            }
            peers.get(0).send("/who");
            assertTrue(peers.get(0).awaitLine(l -> l.startsWith("* in lobby ("))
                    .startsWith("* in lobby (8): "));
            terminationHooks.get(0).run();
            for (TestPeer p : peers) {
                p.awaitLine("* server shutting down");
            }
        } finally {
            peers.forEach(TestPeer::close);
        }
        assertEquals(0, code.get(5, TimeUnit.SECONDS));
        assertEquals("", err.text());
    }

    @Test
    void shouldRunTheDemoClientUntilQuit() throws Exception {
        runTheDemoClientUntilQuit(UdpServerOptions.AddressValidation.AUTO);
    }

    @Test
    void shouldRunTheDemoClientAgainstAServerThatValidatesAddresses() throws Exception {
        runTheDemoClientUntilQuit(UdpServerOptions.AddressValidation.ON);
    }

    private void runTheDemoClientUntilQuit(UdpServerOptions.AddressValidation validation)
            throws Exception {
        try (UdpChatServer server = UdpChatServer.start(UdpServerOptions.defaults().withPort(0)
                .withAddressValidation(validation));
             PipedOutputStream keyboard = new PipedOutputStream()) {
            PipedInputStream stdin = new PipedInputStream(keyboard);
            Main main = new Main(stdin, r -> fail("the client installs no hook"));
            Capture out = new Capture();
            CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> main.execute(
                    new String[] {"client", "--port", String.valueOf(server.port())},
                    out.stream(), new Capture().stream()));
            // No wait before the first message: the client pings at once.
            out.await(Pattern.compile("\\* welcome 127\\.0\\.0\\.1:\\d+ "));
            keyboard.write("hello there\n".getBytes(StandardCharsets.UTF_8));
            keyboard.flush();
            out.await(Pattern.compile("<127\\.0\\.0\\.1:\\d+> hello there"));
            long t0 = System.nanoTime();
            keyboard.write("/quit\n".getBytes(StandardCharsets.UTF_8));
            keyboard.flush();
            assertEquals(0, code.get(5, TimeUnit.SECONDS));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(3));
            assertTrue(out.text().contains("* bye"), out.text());
            UdpChatServerTest.awaitTrue(() -> server.clientCount() == 0, Duration.ofSeconds(1),
                    "the server saw /quit");
        }
    }

    @Test
    void shouldEndTheDemoClientAtTheEndOfInputLeavingAtOnce() throws Exception {
        try (UdpChatServer server = UdpChatServer.start(UdpServerOptions.defaults().withPort(0))) {
            InputStream stdin = new java.io.ByteArrayInputStream(
                    "one line then eof\n".getBytes(StandardCharsets.UTF_8));
            Main main = new Main(stdin, r -> fail("the client installs no hook"));
            Capture out = new Capture();
            long t0 = System.nanoTime();
            int code = main.execute(new String[] {"client", "--port",
                    String.valueOf(server.port())}, out.stream(), new Capture().stream());
            assertEquals(0, code);
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(3));
            UdpChatServerTest.awaitTrue(() -> server.clientCount() == 0, Duration.ofSeconds(1),
                    "the server saw /quit");
        }
    }

    @Test
    void shouldExitZeroOnSigtermAsAProcess(@TempDir Path dir) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path stdout = dir.resolve("stdout.txt");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "server", "--port", "0")
                .redirectOutput(stdout.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            Matcher m = LISTENING.matcher("");
            while (!m.find()) {
                if (System.nanoTime() - deadline > 0 || !p.isAlive()) {
                    fail("no listening line: " + Files.readString(stdout));
                }
                Thread.sleep(10);
                m = LISTENING.matcher(Files.readString(stdout));
            }
            try (TestPeer peer = new TestPeer(
                    new InetSocketAddress("127.0.0.1", Integer.parseInt(m.group(1))))) {
                peer.register();
                p.destroy(); // SIGTERM
                peer.awaitLine("* server shutting down");
            }
            assertTrue(p.waitFor(10, TimeUnit.SECONDS), "exited");
            assertEquals(0, p.exitValue());
            assertEquals(m.group() + System.lineSeparator(), Files.readString(stdout),
                    "nothing but the listening line");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void shouldSayInOneLineThatNoServerAnsweredAndExitOne() throws Exception {
        int closedPort;
        try (java.net.DatagramSocket s = new java.net.DatagramSocket(0,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            closedPort = s.getLocalPort();
        }
        try (PipedOutputStream keyboard = new PipedOutputStream()) {
            PipedInputStream stdin = new PipedInputStream(keyboard); // stays open: a user typing
            Main main = new Main(stdin, r -> fail("the client installs no hook"));
            Capture out = new Capture();
            Capture err = new Capture();
            CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> main.execute(
                    new String[] {"client", "--port", String.valueOf(closedPort),
                        "--answer-timeout", "3"}, out.stream(), err.stream()));
            assertEquals(1, code.get(10, TimeUnit.SECONDS));
            assertEquals("chat-udp client: the server at 127.0.0.1:" + closedPort
                    + " did not answer (port unreachable); is it running?", err.text().strip());
            assertEquals("", out.text());
        }
    }

    @Test
    void shouldNameTheAddressWhenTheHostCannotBeResolved() {
        Result r = run("server", "--host", "[not-an-address]"); // fails in the JDK, no DNS query
        assertEquals(2, r.code());
        assertTrue(r.err().contains("cannot resolve '[not-an-address]'"), r.err());
    }
}
