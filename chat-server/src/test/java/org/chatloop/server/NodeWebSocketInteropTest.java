package org.chatloop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.chatloop.core.HubOptions;
import org.chatloop.tcp.TcpServerOptions;
import org.chatloop.tcp.WebSocketOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.opentest4j.TestAbortedException;

/**
 * Interop with a WebSocket client we did not write: Node's {@code ws} package (major 8, from the
 * npm registry), talking to a {@link ChatServer} next to a plain TCP line client in the same room.
 *
 * <p>The setup installs {@code ws@8} into {@code target/node-ws} (kept there: a later run in the
 * same tree reuses it). The class is <b>skipped</b>, never passed, when {@code node} or
 * {@code npm} is not on the PATH, or when the install fails because the registry cannot be
 * reached (or does not answer within {@link #INSTALL_TIMEOUT}); an install that fails for any
 * other reason fails the class. The Node side is {@code ws-client.js} (a test resource): it only
 * relays events to stdout and commands from stdin; every assertion is here.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NodeWebSocketInteropTest {
    static final Duration INSTALL_TIMEOUT = Duration.ofSeconds(180);
    private static final String WELCOME_TAIL = InteropPeers.WELCOME_TAIL;
    /** Signs that npm could not reach the registry, as opposed to a broken install. */
    private static final List<String> OFFLINE_SIGNS = List.of("ENOTFOUND", "EAI_AGAIN",
            "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH",
            "ESOCKETTIMEDOUT", "network request", "request to http", "FetchError",
            "getaddrinfo", "proxy");

    private static Path wsDir;
    private static Path script;
    private static String node;
    private static String wsVersion;

    private ChatServer server;
    private InteropPeers.Tcp tcp;
    private NodeClient client;

    /** Why the class is skipped (no node, registry unreachable), or null. */
    private static String skipReason;
    /** Why the setup failed (an install that broke for another reason), or null. */
    private static Throwable setupFailure;

    /**
     * Installs {@code ws@8} once for the class. A skip or failure is kept and reported by
     * {@link #startServer()} for every test: an assumption failing in {@code @BeforeAll} would
     * make Surefire report no test at all, the reason nowhere.
     */
    @BeforeAll
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    static void setUpNode() {
        try {
            installWs();
        } catch (TestAbortedException e) {
            String m = String.valueOf(e.getMessage());
            skipReason = m.startsWith("Assumption failed: ")
                    ? m.substring("Assumption failed: ".length()) : m;
        } catch (Exception | AssertionError e) {
            setupFailure = e;
        }
    }

    private static void installWs() throws Exception {
        Optional<Path> nodeBin = onPath("node");
        Optional<Path> npmBin = onPath("npm");
        Assumptions.assumeTrue(nodeBin.isPresent() && npmBin.isPresent(),
                "node and npm are needed for the ws interop test (found node: "
                        + nodeBin.map(Path::toString).orElse("no") + ", npm: "
                        + npmBin.map(Path::toString).orElse("no")
                        + "): apt-get install nodejs npm");
        node = nodeBin.get().toString();
        wsDir = Path.of("target", "node-ws").toAbsolutePath();
        Files.createDirectories(wsDir);
        script = wsDir.resolve("ws-client.js");
        try (InputStream in = NodeWebSocketInteropTest.class.getResourceAsStream("ws-client.js")) {
            if (in == null) {
                fail("test resource org/chatloop/server/ws-client.js is missing");
            }
            Files.copy(in, script, StandardCopyOption.REPLACE_EXISTING);
        }
        wsVersion = installedWsVersion();
        if (wsVersion == null) {
            npmInstall(npmBin.get());
            wsVersion = installedWsVersion();
            assertTrue(wsVersion != null, "npm install succeeded but " + wsDir
                    + "/node_modules/ws holds no ws 8.x");
        }
    }

    /** @return the version of {@code node_modules/ws} under {@link #wsDir} if it is 8.x */
    private static String installedWsVersion() throws IOException {
        Path pkg = wsDir.resolve("node_modules/ws/package.json");
        if (!Files.isRegularFile(pkg)) {
            return null;
        }
        Matcher m = Pattern.compile("\"version\"\\s*:\\s*\"([^\"]+)\"")
                .matcher(Files.readString(pkg));
        return m.find() && m.group(1).startsWith("8.") ? m.group(1) : null;
    }

    private static void npmInstall(Path npm) throws Exception {
        Path log = wsDir.resolve("npm-install.log");
        List<String> cmd = List.of(npm.toString(), "install", "--no-audit", "--no-fund",
                "--no-update-notifier", "--fetch-retries=1", "--fetch-timeout=60000",
                "--prefix", wsDir.toString(), "ws@8");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(
                        new File("/dev/null"))).start();
        boolean done = p.waitFor(INSTALL_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        String output = Files.isRegularFile(log) ? Files.readString(log) : "";
        Assumptions.assumeTrue(done, "npm install ws@8 did not finish within " + INSTALL_TIMEOUT
                + " (npm registry unreachable?); log: " + log + "\n" + tail(output));
        if (p.exitValue() != 0) {
            boolean offline = OFFLINE_SIGNS.stream().anyMatch(
                    s -> output.toLowerCase(Locale.ROOT).contains(s.toLowerCase(Locale.ROOT)));
            Assumptions.assumeFalse(offline, "npm registry unreachable: npm install ws@8 failed "
                    + "(exit " + p.exitValue() + "); log: " + log + "\n" + tail(output));
            fail("npm install ws@8 failed (exit " + p.exitValue() + "), not for want of the "
                    + "registry; " + String.join(" ", cmd) + "\n" + output);
        }
    }

    private static String tail(String s) {
        return s.length() <= 2_000 ? s : "..." + s.substring(s.length() - 2_000);
    }

    private static Optional<Path> onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path f = Path.of(dir, name);
            if (Files.isRegularFile(f) && Files.isExecutable(f)) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    @BeforeEach
    void startServer() throws Throwable {
        if (setupFailure != null) {
            throw setupFailure;
        }
        Assumptions.assumeTrue(skipReason == null, skipReason);
        server = ChatServer.start(new ChatServerOptions(TcpServerOptions.defaults().withPort(0),
                null, TcpServerOptions.defaults().withPort(0), WebSocketOptions.defaults(),
                HubOptions.defaults()));
        tcp = new InteropPeers.Tcp(server.tcpAddress().orElseThrow());
        String tcpName = tcp.awaitWelcome();
        tcp.send("/nick tcp");
        tcp.lines.expectLine("* " + tcpName + " is now known as tcp");
    }

    @AfterEach
    void stopAll() throws Exception {
        InteropPeers.closeAll(client, tcp, server);
    }

    /**
     * Starts the Node client, waits for its handshake and welcome, checks that the TCP client
     * saw it join, and renames it {@code node}.
     */
    private NodeClient nodeJoinedAsNode() throws IOException {
        client = new NodeClient(server.httpAddress().orElseThrow().getPort());
        client.events.expectLine("open " + wsVersion);
        String welcome = client.events.expectMatching(
                "message \\* welcome 127\\.0\\.0\\.1:\\d+" + Pattern.quote(WELCOME_TAIL));
        String name = welcome.substring("message * welcome ".length(),
                welcome.length() - WELCOME_TAIL.length());
        tcp.lines.expectLine("* " + name + " joined lobby");
        client.command("send /nick node");
        client.events.expectLine("message * " + name + " is now known as node");
        tcp.lines.expectLine("* " + name + " is now known as node");
        return client;
    }

    @Test
    void welcomeNickAndMessagesBothWays() throws IOException {
        NodeClient n = nodeJoinedAsNode();

        n.command("send hello from node");
        tcp.lines.expectLine("<node> hello from node");
        n.events.expectLine("message <node> hello from node"); // the room includes the sender

        tcp.send("hello from tcp");
        n.events.expectLine("message <tcp> hello from tcp");
        tcp.lines.expectLine("<tcp> hello from tcp");

        n.command("send /who");
        n.events.expectLine("message * in lobby (2): node, tcp");
    }

    @Test
    void utf8SurvivesBothWays() throws IOException {
        NodeClient n = nodeJoinedAsNode();
        String fromNode = "grüße aus Köln, 日本語, ελληνικά, emoji 🎉 (U+1F389)";
        String fromTcp = "naïve café ☕, Ŧ, 𝄞 (U+1D11E), עברית";

        n.command("send " + fromNode);
        tcp.lines.expectLine("<node> " + fromNode);
        n.events.expectLine("message <node> " + fromNode);

        tcp.send(fromTcp);
        n.events.expectLine("message <tcp> " + fromTcp);
    }

    @Test
    void pingIsAnsweredWithPong() throws IOException {
        NodeClient n = nodeJoinedAsNode();
        n.command("ping interop-ping-1");
        n.events.expectLine("pong \"interop-ping-1\"");
        // The ping is control traffic: the room sees nothing, and the session goes on.
        n.command("send after the ping");
        tcp.lines.expectLine("<node> after the ping");
        n.events.expectLine("message <node> after the ping");
    }

    @Test
    void closeWithCode1000IsAnnouncedAsDisconnected() throws Exception {
        NodeClient n = nodeJoinedAsNode();
        n.command("close 1000 done");
        String close = n.events.expectMatching("close \\d+ .*");
        assertEquals("1000", close.split(" ")[1], "close code the server echoed: " + close);
        tcp.lines.expectLine("* node left (disconnected)");
        assertTrue(n.process.waitFor(InteropPeers.WAIT.toSeconds(), TimeUnit.SECONDS),
                "the node client did not exit after the close");
        assertEquals(0, n.process.exitValue(), "node exit code; stderr: " + n.stderr());
        // The name is free again, and the room goes on without it.
        tcp.send("/who");
        tcp.lines.expectLine("* in lobby (1): tcp");
    }

    /** {@code node ws-client.js}: events on stdout (decoded into {@link #events}), commands on stdin. */
    static final class NodeClient implements AutoCloseable {
        final Process process;
        final InteropPeers.Lines events = new InteropPeers.Lines("node ws client");
        private final Writer stdin;
        private final StringBuffer stderr = new StringBuffer();

        NodeClient(int httpPort) throws IOException {
            ProcessBuilder pb = new ProcessBuilder(node, script.toString(),
                    "ws://127.0.0.1:" + httpPort + "/ws", wsDir.toString());
            pb.environment().remove("NODE_OPTIONS");
            process = pb.start();
            stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            InteropPeers.pump(process.getInputStream(), "node-ws-stdout",
                    line -> events.add(decode(line)), events::end);
            InteropPeers.pump(process.getErrorStream(), "node-ws-stderr",
                    line -> stderr.append(line).append('\n'), () -> { });
        }

        String stderr() {
            return stderr.toString();
        }

        /**
         * {@code message "TEXT"} becomes {@code message TEXT}, the JSON string decoded; other
         * events keep their payload quoted. Lines that are not events are kept as they are.
         */
        static String decode(String line) {
            if (line.startsWith("message \"") && line.endsWith("\"")) {
                return "message " + unquote(line.substring("message ".length()));
            }
            return line;
        }

        void command(String line) throws IOException {
            if (line.indexOf('\n') >= 0 || line.indexOf('\r') >= 0) {
                throw new IllegalArgumentException("one line per command: " + line);
            }
            stdin.write(line + "\n");
            stdin.flush();
        }

        /** Ends the script: closes its stdin, then destroys it if it lingers. */
        @Override
        public void close() {
            try {
                stdin.close(); // the script ends itself on end of input
            } catch (IOException e) {
                // already gone
            }
            try {
                if (!process.waitFor(2, TimeUnit.SECONDS)) {
                    process.destroy();
                    if (!process.waitFor(2, TimeUnit.SECONDS)) {
                        process.destroyForcibly();
                        process.waitFor(5, TimeUnit.SECONDS);
                    }
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Decodes one JSON string literal (as {@code JSON.stringify} writes it). */
    static String unquote(String json) {
        if (json.length() < 2 || json.charAt(0) != '"' || json.charAt(json.length() - 1) != '"') {
            throw new IllegalArgumentException("not a JSON string: " + json);
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i < json.length() - 1; i++) {
            char c = json.charAt(i);
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char e = json.charAt(++i);
            switch (e) {
                case '"', '\\', '/' -> sb.append(e);
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    sb.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16));
                    i += 4;
                }
                default -> throw new IllegalArgumentException("bad escape \\" + e + " in " + json);
            }
        }
        return sb.toString();
    }
}
