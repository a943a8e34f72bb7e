package org.chatloop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private static ChatServerOptions parse(String... args) {
        Main.Server server = new Main.Server();
        CommandLine cl = new CommandLine(server);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.parseArgs(args);
        return server.options();
    }

    @Test
    void helpListsTheFlagsOfEveryTransport() {
        assertEquals(0, run("server", "--help"));
        String help = out.toString(StandardCharsets.UTF_8);
        for (String flag : new String[] {"--tcp-port", "--udp-port", "--http-port",
                "--max-pending-bytes", "--heartbeat-timeout", "--address-validation",
                "--allowed-origin", "--tls-cert", "--handshake-timeout", "--cluster",
                "--node-name", "--cluster-ttl", "--reuse-port"}) {
            assertTrue(help.contains(flag), flag + " in " + help);
        }
        assertTrue(help.contains("(default: 9001)") && help.contains("(default: 8080)"), help);
    }

    @Test
    void defaultsAreTcpAndUdpOn9001AndHttpOn8080() {
        ChatServerOptions o = parse();
        assertEquals(9001, o.tcp().port());
        assertEquals(9001, o.udp().port());
        assertEquals(8080, o.http().port());
        assertEquals("127.0.0.1", o.http().host());
        assertEquals(Set.of(), o.webSocket().allowedOrigins());
    }

    @Test
    void minusOneTurnsAListenerOffAndSharedFlagsApplyToEach() {
        ChatServerOptions o = parse("--udp-port", "-1", "--tcp-port", "0", "--max-clients", "7",
                "--max-lines-per-second", "20", "--allowed-origin", "https://chat.example",
                "--idle-timeout", "30", "--address-validation", "ON");
        assertNull(o.udp());
        assertEquals(0, o.tcp().port());
        assertEquals(7, o.tcp().maxClients());
        assertEquals(7, o.http().maxClients());
        assertEquals(20, o.http().maxLinesPerSecond());
        assertEquals(Duration.ofSeconds(30), o.tcp().idleTimeout());
        assertEquals(Duration.ZERO, o.http().idleTimeout(), "the idle timeout is TCP's");
        assertEquals(Set.of("https://chat.example"), o.webSocket().allowedOrigins());
        ChatServerOptions u = parse("--max-clients", "7", "--address-validation", "on");
        assertEquals(7, u.udp().maxClients());
    }

    @ParameterizedTest
    @CsvSource({
        "--tcp-port,70000,--tcp-port",
        "--udp-port,-2,--udp-port",
        "--http-port,abc,--http-port",
        "--max-line-bytes,0,--max-line-bytes",
        "--max-message-bytes,70000,--max-message-bytes",
        "--address-validation,maybe,--address-validation",
        "--allowed-origin,chat.example,--allowed-origin",
        "--tls-cert,/nonexistent.pem,--tls-key",
        "--bogus,1,--bogus",
        "--cluster,http://127.0.0.1:6379,--cluster",
        "--cluster,redis://127.0.0.1,--cluster",
        "--node-name,a,--node-name",
    })
    void aBadFlagIsNamedWithExitTwo(String flag, String value, String named) {
        assertEquals(2, run("server", flag, value));
        String msg = err.toString(StandardCharsets.UTF_8);
        assertTrue(msg.contains(named), msg);
    }

    @Test
    void everyListenerOffIsABadFlag() {
        assertEquals(2, run("server", "--tcp-port", "-1", "--udp-port", "-1", "--http-port", "-1"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("every listener is off"));
    }

    @Test
    void aClusterTtlOutOfRangeIsABadFlag() {
        assertEquals(2, run("server", "--cluster", "redis://127.0.0.1:6379", "--cluster-ttl", "0"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--cluster-ttl"));
    }

    @Test
    void anUnreachableRedisExitsOneNamingIt() throws Exception {
        int free;
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress("127.0.0.1", 0));
            free = probe.getLocalPort();
        }
        assertEquals(1, run("server", "--tcp-port", "0", "--udp-port", "0", "--http-port", "-1",
                "--cluster", "redis://127.0.0.1:" + free));
        String msg = err.toString(StandardCharsets.UTF_8);
        assertTrue(msg.startsWith("chat-server: cannot join the cluster at redis://127.0.0.1:"
                + free), msg);
    }

    @Test
    void aPortInUseExitsOneNamingTheListener() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            assertEquals(1, run("server", "--tcp-port", String.valueOf(taken.getLocalPort()),
                    "--udp-port", "0", "--http-port", "0"));
            String msg = err.toString(StandardCharsets.UTF_8);
            assertTrue(msg.startsWith("chat-server: cannot bind tcp 127.0.0.1:"
                    + taken.getLocalPort() + ": "), msg);
        }
    }
}
