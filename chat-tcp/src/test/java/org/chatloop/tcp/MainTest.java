package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void shouldExitOneNamingTheClusterWhenRedisCannotBeReached() throws Exception {
        int free;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getLoopbackAddress())) {
            free = probe.getLocalPort();
        }
        assertEquals(1, run("server", "--port", "0", "--cluster", "redis://127.0.0.1:" + free));
        String msg = err.toString(StandardCharsets.UTF_8);
        assertTrue(msg.startsWith("chat-tcp server: cannot join the cluster at redis://127.0.0.1:"
                + free), msg);
    }

    @Test
    void shouldExitTwoOnABadClusterFlag() {
        assertEquals(2, run("server", "--cluster", "redis://127.0.0.1:6379", "--cluster-ttl", "0"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--cluster-ttl"));
        assertEquals(2, run("server", "--node-name", "a"));
    }

    @Test
    void shouldPrintUsageAndExitZeroOnHelp() {
        assertEquals(0, run("--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("server"));
        assertEquals(0, run("server", "--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("--max-pending-bytes"));
    }

    @ParameterizedTest
    @CsvSource({
        "server,--port,abc,--port",
        "server,--port,70000,--port",
        "server,--port,-1,--port",
        "server,--max-line-bytes,0,--max-line-bytes",
        "server,--max-clients,x,--max-clients",
        "client,--port,99999,--port",
        "server,--bogus,1,--bogus",
        "server,--max-lines-per-second,-1,--max-lines-per-second",
        "server,--max-clients-per-ip,x,--max-clients-per-ip",
        "server,--idle-timeout,-5,--idle-timeout",
        "server,--keepalive-interval,0,--keepalive-interval",
        "server,--keepalive-count,0,--keepalive-count",
    })
    void shouldNameTheBadFlagAndExitTwo(String command, String flag, String value, String named) {
        assertEquals(2, run(command, flag, value));
        String msg = err.toString(StandardCharsets.UTF_8);
        assertTrue(msg.contains(named), msg);
        assertFalse(msg.contains("Exception"), "no stack trace: " + msg);
    }

    @Test
    void shouldShutDownAndExitZeroOnSigterm() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "server", "--port", "0")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            BufferedReader stdout = new BufferedReader(
                    new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String first = stdout.readLine();
            Matcher m = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) \\(tcp\\)")
                    .matcher(String.valueOf(first));
            assertTrue(m.matches(), "first line: " + first);
            int port = Integer.parseInt(m.group(1));
            try (LineClient c = LineClient.joined(port)) {
                p.destroy(); // SIGTERM
                List<String> rest = c.awaitEof();
                assertTrue(rest.contains("* server shutting down"), rest.toString());
            }
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "server exits");
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void shouldExitTheDemoClientAtEndOfInput() throws Exception {
        try (TcpChatServer server = TcpChatServer.start(TcpServerOptions.defaults().withPort(0))) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    Main.class.getName(), "client", "--port", String.valueOf(server.port()))
                    .redirectErrorStream(true).start();
            try {
                p.getOutputStream().write("hello from stdin\n".getBytes(StandardCharsets.UTF_8));
                p.getOutputStream().close();
                assertTrue(p.waitFor(20, TimeUnit.SECONDS), "client exits after end of input");
                String printed = new String(p.getInputStream().readAllBytes(),
                        StandardCharsets.UTF_8);
                assertEquals(0, p.exitValue(), printed);
                assertTrue(printed.contains("* welcome "), printed);
                assertTrue(printed.contains("> hello from stdin"), printed);
                assertTrue(printed.contains("* bye"), printed);
            } finally {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void shouldSayTheHostCannotBeResolvedAndExitTwo() {
        // An invalid IPv6 literal fails inside the JDK, without a DNS query leaving the machine.
        assertEquals(2, run("server", "--host", "[not-an-address]"));
        String msg = err.toString(StandardCharsets.UTF_8);
        assertTrue(msg.contains("--host") && msg.contains("cannot resolve '[not-an-address]'"),
                msg);
        assertFalse(msg.contains("null") || msg.contains("Exception"), msg);
    }

    @Test
    void shouldNameTheAddressAndPortWhenThePortIsTaken() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            assertEquals(1, run("server", "--port", String.valueOf(taken.getLocalPort())));
            String msg = err.toString(StandardCharsets.UTF_8);
            assertEquals("chat-tcp server: cannot bind 127.0.0.1:" + taken.getLocalPort()
                    + ": address already in use", msg.strip());
        }
    }

    @Test
    void shouldSayTheClientCannotConnectNamingTheAddress() throws Exception {
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            closedPort = s.getLocalPort();
        }
        assertEquals(1, run("client", "--port", String.valueOf(closedPort)));
        String msg = err.toString(StandardCharsets.UTF_8);
        assertEquals("chat-tcp client: cannot connect to 127.0.0.1:" + closedPort
                + ": connection refused", msg.strip());
    }

    @Test
    void shouldPrintAnIpv6AddressInBrackets() throws Exception {
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.bind(new java.net.InetSocketAddress("::1", 0));
        } catch (java.io.IOException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "no IPv6 loopback here: " + e);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "server", "--host", "::1", "--port", "0")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            String first = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8)).readLine();
            assertTrue(String.valueOf(first).matches("listening on \\[::1\\]:\\d+ \\(tcp\\)"),
                    "first line: " + first);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void shouldNameABadTlsFileAndItsProblemAndExitTwo(@TempDir Path dir) throws Exception {
        TestCerts a = TestCerts.make(dir, "a", false);
        TestCerts b = TestCerts.make(dir, "b", false);
        Path missing = dir.resolve("missing.pem");
        Path text = Files.writeString(dir.resolve("text.pem"), "not a certificate\n");
        Path traditional = dir.resolve("traditional-key.pem");
        TestCerts.run(List.of("openssl", "pkey", "-in", a.key().toString(), "-traditional",
                "-out", traditional.toString()));
        String[][] cases = {
            {missing.toString(), a.key().toString(), missing + ": no such file"},
            {text.toString(), a.key().toString(), text + ": no PEM certificate"},
            {a.cert().toString(), a.cert().toString(), a.cert() + ": no PEM private key"},
            {a.cert().toString(), traditional.toString(), traditional + ": not a PKCS#8"},
            {a.cert().toString(), b.key().toString(),
                b.key() + ": the private key does not match the certificate in " + a.cert()},
        };
        for (String[] c : cases) {
            out.reset();
            err.reset();
            assertEquals(2, run("server", "--port", "0", "--tls-cert", c[0], "--tls-key", c[1]),
                    c[2]);
            String msg = err.toString(StandardCharsets.UTF_8);
            assertTrue(msg.contains(c[2]), msg);
            assertFalse(msg.contains("Exception"), "no stack trace: " + msg);
        }
        err.reset();
        assertEquals(2, run("server", "--port", "0", "--tls-cert", a.cert().toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--tls-key"));
        err.reset();
        assertEquals(2, run("client", "--tls", "--ca", missing.toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains(missing + ": no such file"));
        err.reset();
        assertEquals(2, run("client", "--insecure"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--insecure needs --tls"));
    }

    @Test
    void shouldServeTlsToTheDemoClient(@TempDir Path dir) throws Exception {
        TestCerts certs = TestCerts.make(dir, "demo", false);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process server = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "server", "--port", "0", "--tls-cert",
                certs.cert().toString(), "--tls-key", certs.key().toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            BufferedReader stdout = new BufferedReader(
                    new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            String first = stdout.readLine();
            Matcher m = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) \\(tls\\)")
                    .matcher(String.valueOf(first));
            assertTrue(m.matches(), "first line: " + first);
            Process client = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    Main.class.getName(), "client", "--port", m.group(1), "--tls", "--ca",
                    certs.cert().toString()).redirectErrorStream(true).start();
            try {
                client.getOutputStream().write("hello over tls\n".getBytes(StandardCharsets.UTF_8));
                client.getOutputStream().close();
                assertTrue(client.waitFor(20, TimeUnit.SECONDS), "client exits at end of input");
                String printed = new String(client.getInputStream().readAllBytes(),
                        StandardCharsets.UTF_8);
                assertEquals(0, client.exitValue(), printed);
                assertTrue(printed.contains("* welcome "), printed);
                assertTrue(printed.contains("> hello over tls"), printed);
                assertTrue(printed.contains("* bye"), printed);
            } finally {
                client.destroyForcibly();
            }
        } finally {
            server.destroyForcibly();
        }
    }
}
