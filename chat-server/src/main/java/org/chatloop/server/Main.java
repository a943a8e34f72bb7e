package org.chatloop.server;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import javax.net.ssl.SSLContext;
import org.chatloop.core.Addresses;
import org.chatloop.core.HubOptions;
import org.chatloop.redis.ClusterFlags;
import org.chatloop.redis.RedisCluster;
import org.chatloop.tcp.PemTls;
import org.chatloop.tcp.TcpServerOptions;
import org.chatloop.tcp.WebSocketOptions;
import org.chatloop.udp.UdpServerOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The entry point of {@code chat-server.jar}: {@code server} runs TCP, UDP and HTTP (the chat page
 * and WebSocket) in the same rooms until SIGINT or SIGTERM. The flags are those of
 * {@code chat-tcp.jar server} and {@code chat-udp.jar server}, with one port flag per listener;
 * a flag both transports have (say {@code --max-clients}) applies to each listener. Defaults come
 * from the options records, never retyped here. Exit codes: 0 after an orderly shutdown, 1 when a
 * listener cannot be bound, 2 on a bad flag (a TLS file that is missing or does not fit
 * included).
 */
@Command(name = "chat-server", mixinStandardHelpOptions = true, version = "chat-server 0.1.0",
        description = "Chat rooms for TCP, UDP and browsers in one process, on one selector thread.",
        subcommands = {Main.Server.class})
public final class Main implements Runnable {
    @Spec
    CommandSpec spec;

    /**
     * Runs the command line and exits with its code.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("error: " + e.getMessage());
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing command: server");
    }

    /** {@code chat-server server}: serves until SIGINT or SIGTERM, then shuts down and exits 0. */
    @Command(name = "server", mixinStandardHelpOptions = true,
            description = "Run one chat server for TCP, UDP and browsers. A port of 0 takes a "
                    + "free port, -1 turns that listener off.")
    static final class Server implements Callable<Integer> {
        private static final TcpServerOptions TCP = TcpServerOptions.defaults();
        private static final UdpServerOptions UDP = UdpServerOptions.defaults();
        private static final HubOptions HUB = HubOptions.defaults();

        @Spec
        CommandSpec spec;
        @Option(names = "--host", description = "address every listener binds "
                + "(default: ${DEFAULT-VALUE})")
        String host = TCP.host();
        @Option(names = "--tcp-port", paramLabel = "PORT", description = "TCP line protocol "
                + "(nc, telnet) (default: ${DEFAULT-VALUE})")
        int tcpPort = TCP.port();
        @Option(names = "--udp-port", paramLabel = "PORT", description = "UDP datagrams "
                + "(default: ${DEFAULT-VALUE})")
        int udpPort = UDP.port();
        @Option(names = "--http-port", paramLabel = "PORT", description = "HTTP: the chat page "
                + "at / and WebSocket at /ws (default: ${DEFAULT-VALUE})")
        int httpPort = 8080;
        @Option(names = "--backlog", description = "listen backlog (default: ${DEFAULT-VALUE})")
        int backlog = TCP.backlog();
        @Option(names = "--loops", paramLabel = "N", description = "selector threads; TCP and "
                + "browser connections are spread over them, UDP has a socket on each, and rooms "
                + "span them; one per core is the usual choice (default: ${DEFAULT-VALUE})")
        int loops = 1;
        @Option(names = "--max-line-bytes", description = "longest line (TCP) or WebSocket "
                + "message a client may send (default: ${DEFAULT-VALUE})")
        int maxLineBytes = TCP.maxLineBytes();
        @Option(names = "--max-message-bytes", paramLabel = "N", description = "largest UDP "
                + "datagram accepted, 1..65507 (default: ${DEFAULT-VALUE})")
        int maxMessageBytes = UDP.maxMessageBytes();
        @Option(names = "--max-clients", description = "clients served at once, per listener "
                + "(default: ${DEFAULT-VALUE})")
        int maxClients = TCP.maxClients();
        @Option(names = "--max-pending-bytes", description = "unsent output past which a TCP or "
                + "WebSocket client is dropped as too slow (default: ${DEFAULT-VALUE})")
        int maxPendingBytes = TCP.maxPendingBytes();
        @Option(names = "--slow-consumer-timeout", paramLabel = "SECONDS", description = "seconds "
                + "a client may stay congested before it is dropped (default: ${DEFAULT-VALUE})")
        long slowConsumerTimeout = TCP.slowConsumerTimeout().toSeconds();
        @Option(names = "--max-lines-per-second", paramLabel = "R", description = "lines a "
                + "client may send per second, burst R; TCP and WebSocket clients are read later, "
                + "UDP datagrams past it are dropped; 0 for no limit (default: ${DEFAULT-VALUE})")
        int maxLinesPerSecond = TCP.maxLinesPerSecond();
        @Option(names = "--max-clients-per-ip", paramLabel = "N", description = "clients from "
                + "one IP address at once, per listener; 0 for no limit "
                + "(default: ${DEFAULT-VALUE})")
        int maxClientsPerIp = TCP.maxClientsPerIp();
        @Option(names = "--idle-timeout", paramLabel = "SECONDS", description = "close a TCP "
                + "connection that sends nothing at all for this long; 0 for never "
                + "(default: ${DEFAULT-VALUE})")
        long idleTimeout = TCP.idleTimeout().toSeconds();
        @Option(names = "--keepalive-idle", paramLabel = "SECONDS", description = "TCP "
                + "keepalive: idle time before the first probe; 0 turns it off "
                + "(default: ${DEFAULT-VALUE})")
        long keepAliveIdle = TCP.keepAliveIdle().toSeconds();
        @Option(names = "--keepalive-interval", paramLabel = "SECONDS", description = "TCP "
                + "keepalive: time between unanswered probes (default: ${DEFAULT-VALUE})")
        long keepAliveInterval = TCP.keepAliveInterval().toSeconds();
        @Option(names = "--keepalive-count", paramLabel = "N", description = "TCP keepalive: "
                + "unanswered probes before the connection is dropped (default: ${DEFAULT-VALUE})")
        int keepAliveCount = TCP.keepAliveCount();
        @Option(names = "--heartbeat-timeout", paramLabel = "SECONDS", description = "silence "
                + "after which a UDP client is removed (default: ${DEFAULT-VALUE})")
        long heartbeatTimeout = UDP.heartbeatTimeout().toSeconds();
        @Option(names = "--max-queued-datagrams", paramLabel = "N", description = "UDP "
                + "datagrams that may wait for the socket; more are dropped "
                + "(default: ${DEFAULT-VALUE})")
        int maxQueuedDatagrams = UDP.maxQueuedDatagrams();
        @Option(names = "--address-validation", paramLabel = "on|off|auto", description = "make "
                + "a new UDP address echo a token before it is registered; auto is on unless "
                + "bound to loopback (default: ${DEFAULT-VALUE})")
        UdpServerOptions.AddressValidation addressValidation = UDP.addressValidation();
        @Option(names = "--announce-limit", description = "largest room whose joins and leaves "
                + "are announced one by one (default: ${DEFAULT-VALUE})")
        int announceLimit = HUB.announceLimit();
        @Option(names = "--allowed-origin", paramLabel = "ORIGIN", description = "an Origin "
                + "(https://chat.example.org) whose pages may open a WebSocket; repeat for more; "
                + "none accepts any")
        List<String> allowedOrigins = List.of();
        @Option(names = "--tls-cert", paramLabel = "CERT.pem", description = "serve TLS with "
                + "this PEM certificate chain: TCP becomes TLS, HTTP becomes HTTPS and WSS; "
                + "needs --tls-key")
        Path tlsCert;
        @Option(names = "--tls-key", paramLabel = "KEY.pem", description = "the PEM PKCS#8 "
                + "private key (RSA or EC) of --tls-cert")
        Path tlsKey;
        @Option(names = "--handshake-timeout", paramLabel = "SECONDS", description = "seconds a "
                + "client may take for its TLS handshake and its HTTP request "
                + "(default: ${DEFAULT-VALUE})")
        long handshakeTimeout = TCP.handshakeTimeout().toSeconds();
        @Option(names = "--reuse-port", description = "bind every listener with SO_REUSEPORT, "
                + "so that several servers (cluster nodes) share the ports and the kernel spreads "
                + "clients over them")
        boolean reusePort;
        @Mixin
        ClusterFlags clusterFlags = new ClusterFlags();

        @Override
        public Integer call() throws InterruptedException {
            ChatServerOptions options = options();
            SSLContext tls = options.tcp() != null ? options.tcp().tls()
                    : options.http() != null ? options.http().tls() : null;
            RedisCluster cluster;
            try {
                cluster = clusterFlags.join(spec, loops);
            } catch (IllegalStateException e) {
                spec.commandLine().getErr().println("chat-server: " + e.getMessage());
                return 1;
            }
            ChatServer server;
            try {
                server = ChatServer.start(options, loops,
                        cluster == null ? null : cluster.directory(),
                        cluster == null ? null : cluster.bus());
            } catch (ChatServer.ListenerException e) {
                if (cluster != null) {
                    cluster.close();
                }
                int port = switch (e.listener()) {
                    case "tcp" -> tcpPort;
                    case "udp" -> udpPort;
                    default -> httpPort;
                };
                spec.commandLine().getErr().println("chat-server: cannot bind " + e.listener()
                        + " " + Addresses.format(new InetSocketAddress(host, port)) + ": "
                        + describe(e.getCause()));
                return 1;
            } catch (IOException e) {
                if (cluster != null) {
                    cluster.close();
                }
                spec.commandLine().getErr().println("chat-server: " + describe(e));
                return 1;
            }
            PrintWriter out = spec.commandLine().getOut();
            server.tcpAddress().ifPresent(a -> out.println("listening on " + Addresses.format(a)
                    + (tls == null ? " (tcp)" : " (tls)")));
            server.udpAddress().ifPresent(a -> out.println("listening on " + Addresses.format(a)
                    + " (udp)"));
            server.httpAddress().ifPresent(a -> out.println("listening on " + Addresses.format(a)
                    + (tls == null ? " (http)" : " (https)")));
            if (cluster != null) {
                out.println(ClusterFlags.joined(cluster));
            }
            out.flush();
            CountDownLatch forever = new CountDownLatch(1);
            Runnable stop = ClusterFlags.leavingFirst(cluster, server::stop);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stop.run();
                System.out.flush();
                // Exit 0 after an orderly shutdown on SIGINT/SIGTERM (the JVM would report 130/143).
                Runtime.getRuntime().halt(0);
            }, "chat-server-shutdown"));
            forever.await();
            return 0;
        }

        /** @return the validated settings; a bad flag throws (exit 2) naming it */
        ChatServerOptions options() {
            requirePort("--tcp-port", tcpPort);
            requirePort("--udp-port", udpPort);
            requirePort("--http-port", httpPort);
            if (tcpPort < 0 && udpPort < 0 && httpPort < 0) {
                throw bad("every listener is off: give at least one port that is not -1");
            }
            requireAtLeast("--backlog", backlog, 1);
            requireRange("--loops", loops, 1, 1024);
            requireAtLeast("--max-line-bytes", maxLineBytes, 1);
            requireRange("--max-message-bytes", maxMessageBytes, 1,
                    UdpServerOptions.MAX_DATAGRAM_BYTES);
            requireAtLeast("--max-clients", maxClients, 1);
            requireAtLeast("--max-pending-bytes", maxPendingBytes, 1);
            requireSeconds("--slow-consumer-timeout", slowConsumerTimeout, 1);
            requireAtLeast("--max-lines-per-second", maxLinesPerSecond, 0);
            requireAtLeast("--max-clients-per-ip", maxClientsPerIp, 0);
            requireSeconds("--idle-timeout", idleTimeout, 0);
            requireSeconds("--keepalive-idle", keepAliveIdle, 0);
            requireSeconds("--keepalive-interval", keepAliveInterval, 1);
            requireAtLeast("--keepalive-count", keepAliveCount, 1);
            requireSeconds("--heartbeat-timeout", heartbeatTimeout, 1);
            requireAtLeast("--max-queued-datagrams", maxQueuedDatagrams, 1);
            requireAtLeast("--announce-limit", announceLimit, 0);
            requireSeconds("--handshake-timeout", handshakeTimeout, 1);
            InetSocketAddress resolved = host.isBlank() ? null : new InetSocketAddress(host, 0);
            if (resolved == null || resolved.isUnresolved()) {
                throw bad("Invalid value for option '--host': cannot resolve '" + host + "'");
            }
            for (String origin : allowedOrigins) {
                if (!origin.matches("(?i)https?://[^/\\s]+")) {
                    throw bad("Invalid value for option '--allowed-origin': '" + origin
                            + "' is not an origin like https://chat.example.org");
                }
            }
            SSLContext tls = serverTls();
            TcpServerOptions stream = TCP.withHost(host).withBacklog(backlog)
                    .withMaxLineBytes(maxLineBytes).withMaxPendingBytes(maxPendingBytes)
                    .withSlowConsumerTimeout(Duration.ofSeconds(slowConsumerTimeout))
                    .withMaxLinesPerSecond(maxLinesPerSecond).withMaxClientsPerIp(maxClientsPerIp)
                    .withKeepAlive(Duration.ofSeconds(keepAliveIdle),
                            Duration.ofSeconds(keepAliveInterval), keepAliveCount)
                    .withTls(tls).withHandshakeTimeout(Duration.ofSeconds(handshakeTimeout))
                    .withReusePort(reusePort);
            stream = stream.withMaxClients(maxClients);
            TcpServerOptions tcp = tcpPort < 0 ? null : stream.withPort(tcpPort)
                    .withIdleTimeout(Duration.ofSeconds(idleTimeout));
            TcpServerOptions http = httpPort < 0 ? null : stream.withPort(httpPort);
            UdpServerOptions udp = null;
            if (udpPort >= 0) {
                udp = UDP.withHost(host).withPort(udpPort).withMaxMessageBytes(maxMessageBytes)
                        .withHeartbeatTimeout(Duration.ofSeconds(heartbeatTimeout))
                        .withMaxQueuedDatagrams(maxQueuedDatagrams)
                        .withAddressValidation(addressValidation)
                        .withMaxLinesPerSecond(maxLinesPerSecond)
                        .withMaxClientsPerIp(maxClientsPerIp).withMaxClients(maxClients)
                        .withReusePort(reusePort);
            }
            WebSocketOptions ws = WebSocketOptions.defaults()
                    .withAllowedOrigins(new LinkedHashSet<>(allowedOrigins));
            return new ChatServerOptions(tcp, udp, http, ws,
                    HUB.withAnnounceLimit(announceLimit));
        }

        /** @return the TLS context of --tls-cert and --tls-key, or null without them */
        private SSLContext serverTls() {
            if (tlsCert == null && tlsKey == null) {
                return null;
            }
            if (tlsCert == null || tlsKey == null) {
                throw bad("--tls-cert and --tls-key go together: give both or neither");
            }
            try {
                return PemTls.serverContext(tlsCert, tlsKey);
            } catch (IOException e) {
                throw bad("Invalid TLS files: " + e.getMessage());
            }
        }

        private ParameterException bad(String message) {
            return new ParameterException(spec.commandLine(), message);
        }

        private void requirePort(String option, int port) {
            requireRange(option, port, -1, 65535);
        }

        private void requireAtLeast(String option, long value, long min) {
            requireRange(option, value, min, Integer.MAX_VALUE);
        }

        private void requireSeconds(String option, long value, long min) {
            requireRange(option, value, min, Integer.MAX_VALUE);
        }

        private void requireRange(String option, long value, long min, long max) {
            if (value < min || value > max) {
                throw bad("Invalid value for option '" + option + "': " + value + " is not in "
                        + min + ".." + max);
            }
        }
    }

    /** @return {@code "address already in use"} and the like, for a one-line message */
    static String describe(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        int paren = m.indexOf(" (");
        m = paren > 0 && m.endsWith(")") ? m.substring(0, paren) : m; // "...(Bind failed)"
        return m.substring(0, 1).toLowerCase(Locale.ROOT) + m.substring(1);
    }
}
