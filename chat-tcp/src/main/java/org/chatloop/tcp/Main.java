package org.chatloop.tcp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.chatloop.core.Addresses;
import org.chatloop.core.HubOptions;
import org.chatloop.redis.ClusterFlags;
import org.chatloop.redis.RedisCluster;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The demo entry point of {@code chat-tcp.jar}: {@code server} runs a server until SIGINT or
 * SIGTERM; {@code client} connects, prints every line it receives and sends each line of stdin.
 * Exit codes: 0 on success, 1 on a runtime failure (e.g. the port is taken), 2 on a bad flag
 * (including a TLS certificate or key file that is missing, unreadable or does not fit).
 */
@Command(name = "chat-tcp", mixinStandardHelpOptions = true, version = "chat-tcp 0.1.0",
        description = "TCP chat rooms on one selector thread.",
        subcommands = {Main.Server.class, Main.Client.class})
public final class Main implements Runnable {
    @Spec
    CommandSpec spec;

    /**
     * Runs the command line.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new Main());
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
        throw new ParameterException(spec.commandLine(), "Missing command: server or client");
    }

    static void requirePort(CommandSpec spec, int port) {
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(),
                    "Invalid value for option '--port': " + port + " is not in 0..65535");
        }
    }

    /**
     * @return the address, resolved
     * @throws ParameterException (exit 2) naming {@code --host} if the host cannot be resolved
     */
    static InetSocketAddress resolve(CommandSpec spec, String host, int port) {
        InetSocketAddress address = host.isBlank() ? null : new InetSocketAddress(host, port);
        if (address == null || address.isUnresolved()) {
            throw new ParameterException(spec.commandLine(),
                    "Invalid value for option '--host': cannot resolve '" + host + "'");
        }
        return address;
    }

    /** @return {@code "address already in use"} and the like, for a one-line message */
    static String describe(IOException e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        int paren = m.indexOf(" (");
        m = paren > 0 && m.endsWith(")") ? m.substring(0, paren) : m; // "...(Bind failed)"
        return m.substring(0, 1).toLowerCase(java.util.Locale.ROOT) + m.substring(1);
    }

    static void requirePositive(CommandSpec spec, String option, long value) {
        if (value < 1) {
            throw new ParameterException(spec.commandLine(),
                    "Invalid value for option '" + option + "': " + value + " must be at least 1");
        }
    }

    static void requireNotNegative(CommandSpec spec, String option, long value) {
        if (value < 0) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '"
                    + option + "': " + value + " must not be negative");
        }
    }

    static void requireSeconds(CommandSpec spec, String option, long value) {
        if (value > Integer.MAX_VALUE) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '" + option
                    + "': " + value + " is more than " + Integer.MAX_VALUE + " seconds");
        }
    }

    /** {@code chat-tcp server}: serves until SIGINT or SIGTERM, then shuts down and exits 0. */
    @Command(name = "server", mixinStandardHelpOptions = true,
            description = "Run a TCP chat server.")
    static final class Server implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--host", description = "address to bind (default: ${DEFAULT-VALUE})")
        String host = TcpServerOptions.defaults().host();
        @Option(names = "--port", description = "port to bind, 0 for any free one "
                + "(default: ${DEFAULT-VALUE})")
        int port = TcpServerOptions.defaults().port();
        @Option(names = "--backlog", description = "listen backlog (default: ${DEFAULT-VALUE})")
        int backlog = TcpServerOptions.defaults().backlog();
        @Option(names = "--loops", paramLabel = "N", description = "selector threads; "
                + "connections are spread over them and rooms span them; one per core is the "
                + "usual choice (default: ${DEFAULT-VALUE})")
        int loops = 1;
        @Option(names = "--max-line-bytes", description = "longest line a client may send "
                + "(default: ${DEFAULT-VALUE})")
        int maxLineBytes = TcpServerOptions.defaults().maxLineBytes();
        @Option(names = "--max-clients", description = "connections served at once "
                + "(default: ${DEFAULT-VALUE})")
        int maxClients = TcpServerOptions.defaults().maxClients();
        @Option(names = "--max-pending-bytes", description = "unsent output past which a client "
                + "is dropped as too slow (default: ${DEFAULT-VALUE})")
        int maxPendingBytes = TcpServerOptions.defaults().maxPendingBytes();
        @Option(names = "--slow-consumer-timeout", description = "seconds a client may stay "
                + "congested (a quarter of --max-pending-bytes behind) before it is dropped "
                + "(default: ${DEFAULT-VALUE})")
        long slowConsumerTimeout =
                TcpServerOptions.defaults().slowConsumerTimeout().toSeconds();
        @Option(names = "--max-lines-per-second", paramLabel = "R", description = "lines a "
                + "client may send per second, burst R; a faster client is read later, nothing "
                + "is dropped; 0 for no limit (default: ${DEFAULT-VALUE})")
        int maxLinesPerSecond = TcpServerOptions.defaults().maxLinesPerSecond();
        @Option(names = "--max-clients-per-ip", paramLabel = "N", description = "connections "
                + "from one IP address at once; 0 for no limit (default: ${DEFAULT-VALUE})")
        int maxClientsPerIp = TcpServerOptions.defaults().maxClientsPerIp();
        @Option(names = "--idle-timeout", paramLabel = "SECONDS", description = "close a "
                + "connection that sends nothing at all for this long; 0 for never "
                + "(default: ${DEFAULT-VALUE})")
        long idleTimeout = TcpServerOptions.defaults().idleTimeout().toSeconds();
        @Option(names = "--keepalive-idle", paramLabel = "SECONDS", description = "TCP "
                + "keepalive: idle time before the first probe; 0 turns keepalive off "
                + "(default: ${DEFAULT-VALUE})")
        long keepAliveIdle = TcpServerOptions.defaults().keepAliveIdle().toSeconds();
        @Option(names = "--keepalive-interval", paramLabel = "SECONDS", description = "TCP "
                + "keepalive: time between unanswered probes (default: ${DEFAULT-VALUE})")
        long keepAliveInterval = TcpServerOptions.defaults().keepAliveInterval().toSeconds();
        @Option(names = "--keepalive-count", paramLabel = "N", description = "TCP keepalive: "
                + "unanswered probes before the connection is dropped (default: ${DEFAULT-VALUE})")
        int keepAliveCount = TcpServerOptions.defaults().keepAliveCount();
        @Option(names = "--announce-limit", description = "largest room whose joins and leaves "
                + "are announced one by one; larger rooms get a summary every few seconds "
                + "(default: ${DEFAULT-VALUE})")
        int announceLimit = HubOptions.defaults().announceLimit();
        @Option(names = "--tls-cert", paramLabel = "CERT.pem", description = "serve TLS with "
                + "this PEM certificate chain (server's first); needs --tls-key")
        Path tlsCert;
        @Option(names = "--tls-key", paramLabel = "KEY.pem", description = "the PEM PKCS#8 "
                + "private key (RSA or EC) of --tls-cert")
        Path tlsKey;
        @Option(names = "--handshake-timeout", paramLabel = "S", description = "seconds a TLS "
                + "client may take to finish its handshake (default: ${DEFAULT-VALUE})")
        long handshakeTimeout = TcpServerOptions.defaults().handshakeTimeout().toSeconds();
        @Option(names = "--reuse-port", description = "bind with SO_REUSEPORT, so that several "
                + "servers (cluster nodes) share the port and the kernel spreads connections "
                + "over them")
        boolean reusePort;
        @Mixin
        ClusterFlags clusterFlags = new ClusterFlags();

        @Override
        public Integer call() throws IOException, InterruptedException {
            requirePort(spec, port);
            requirePositive(spec, "--backlog", backlog);
            requirePositive(spec, "--loops", loops);
            requirePositive(spec, "--max-line-bytes", maxLineBytes);
            requirePositive(spec, "--max-clients", maxClients);
            requirePositive(spec, "--max-pending-bytes", maxPendingBytes);
            requirePositive(spec, "--slow-consumer-timeout", slowConsumerTimeout);
            requireNotNegative(spec, "--max-lines-per-second", maxLinesPerSecond);
            requireNotNegative(spec, "--max-clients-per-ip", maxClientsPerIp);
            requireNotNegative(spec, "--idle-timeout", idleTimeout);
            requireNotNegative(spec, "--keepalive-idle", keepAliveIdle);
            requireSeconds(spec, "--keepalive-idle", keepAliveIdle);
            requirePositive(spec, "--keepalive-interval", keepAliveInterval);
            requireSeconds(spec, "--keepalive-interval", keepAliveInterval);
            requirePositive(spec, "--keepalive-count", keepAliveCount);
            requireNotNegative(spec, "--announce-limit", announceLimit);
            InetSocketAddress bind = resolve(spec, host, port);
            requirePositive(spec, "--handshake-timeout", handshakeTimeout);
            SSLContext tls = serverTls();
            TcpServerOptions options = TcpServerOptions.defaults().withHost(host).withPort(port)
                    .withBacklog(backlog).withMaxLineBytes(maxLineBytes).withMaxClients(maxClients)
                    .withMaxPendingBytes(maxPendingBytes)
                    .withSlowConsumerTimeout(Duration.ofSeconds(slowConsumerTimeout))
                    .withMaxLinesPerSecond(maxLinesPerSecond).withMaxClientsPerIp(maxClientsPerIp)
                    .withIdleTimeout(Duration.ofSeconds(idleTimeout))
                    .withKeepAlive(Duration.ofSeconds(keepAliveIdle),
                            Duration.ofSeconds(keepAliveInterval), keepAliveCount)
                    .withTls(tls).withHandshakeTimeout(Duration.ofSeconds(handshakeTimeout))
                    .withReusePort(reusePort);
            RedisCluster cluster;
            try {
                cluster = clusterFlags.join(spec, loops);
            } catch (IllegalStateException e) {
                spec.commandLine().getErr().println("chat-tcp server: " + e.getMessage());
                return 1;
            }
            HubOptions hubOptions = HubOptions.defaults().withAnnounceLimit(announceLimit);
            TcpChatServer server;
            try {
                server = cluster == null ? TcpChatServer.start(options, hubOptions, loops)
                        : TcpChatServer.start(options, hubOptions, loops, cluster.directory(),
                                cluster.bus());
            } catch (IOException e) {
                if (cluster != null) {
                    cluster.close();
                }
                spec.commandLine().getErr().println("chat-tcp server: cannot bind "
                        + Addresses.format(bind) + ": " + describe(e));
                return 1;
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println("listening on " + Addresses.format(server.localAddress())
                    + (tls == null ? " (tcp)" : " (tls)"));
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
            }, "chat-tcp-shutdown"));
            forever.await();
            return 0;
        }

        /** @return the TLS context of --tls-cert and --tls-key, or null without them */
        private SSLContext serverTls() {
            if (tlsCert == null && tlsKey == null) {
                return null;
            }
            if (tlsCert == null || tlsKey == null) {
                throw new ParameterException(spec.commandLine(),
                        "--tls-cert and --tls-key go together: give both or neither");
            }
            try {
                return PemTls.serverContext(tlsCert, tlsKey);
            } catch (IOException e) {
                throw new ParameterException(spec.commandLine(), "Invalid TLS files: "
                        + e.getMessage());
            }
        }
    }

    /** {@code chat-tcp client}: a line-mode terminal client. */
    @Command(name = "client", mixinStandardHelpOptions = true,
            description = "Connect to a TCP chat server; stdin lines are sent, received lines "
                    + "printed. /quit or end of input leaves.")
    static final class Client implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--host", description = "server address (default: ${DEFAULT-VALUE})")
        String host = "127.0.0.1";
        @Option(names = "--port", description = "server port (default: ${DEFAULT-VALUE})")
        int port = 9001;
        @Option(names = "--tls", description = "connect over TLS, checking the server's "
                + "certificate and that it names --host")
        boolean tls;
        @Option(names = "--ca", paramLabel = "CA.pem", description = "with --tls, trust only "
                + "these PEM certificates (default: the JDK's trusted CAs)")
        Path ca;
        @Option(names = "--insecure", description = "with --tls, trust any certificate and "
                + "name: encrypted but not authenticated")
        boolean insecure;

        @Override
        public Integer call() throws IOException, InterruptedException {
            requirePort(spec, port);
            InetSocketAddress server = resolve(spec, host, port);
            ClientTls clientTls = clientTls();
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            TcpChatClient client;
            try {
                client = TcpChatClient.connect(server,
                        TcpChatClient.Listener.ofStrings(out::println), clientTls);
            } catch (SSLException e) {
                spec.commandLine().getErr().println("chat-tcp client: TLS handshake with "
                        + Addresses.format(server) + " failed: " + e.getMessage());
                return 1;
            } catch (IOException e) {
                spec.commandLine().getErr().println("chat-tcp client: cannot connect to "
                        + Addresses.format(server) + ": " + describe(e));
                return 1;
            }
            Thread stdin = new Thread(() -> pump(client), "chat-tcp-stdin");
            stdin.setDaemon(true);
            stdin.start();
            try {
                client.closed().get();
            } catch (ExecutionException e) {
                return 1;
            }
            return 0;
        }

        /** @return the TLS settings of --tls, --ca and --insecure, or null for plain TCP */
        private ClientTls clientTls() {
            if (!tls) {
                if (ca != null || insecure) {
                    throw new ParameterException(spec.commandLine(),
                            (ca != null ? "--ca" : "--insecure") + " needs --tls");
                }
                return null;
            }
            if (ca != null && insecure) {
                throw new ParameterException(spec.commandLine(),
                        "--ca and --insecure exclude each other");
            }
            if (insecure) {
                return ClientTls.insecure();
            }
            try {
                return new ClientTls(ca == null ? SSLContext.getDefault()
                        : PemTls.clientContext(ca), true);
            } catch (IOException e) {
                throw new ParameterException(spec.commandLine(), "Invalid --ca: "
                        + e.getMessage());
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JDK has no default TLS context", e);
            }
        }

        private static void pump(TcpChatClient client) {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    client.send(line);
                    if (line.strip().equals("/quit")) {
                        break;
                    }
                }
                if (line == null) {
                    client.send("/quit");
                }
                // The server answers /quit with "* bye" and closes; wait a little for that.
                client.closed().get(3, TimeUnit.SECONDS);
            } catch (IOException | ExecutionException | TimeoutException e) {
                // fall through to close
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            client.close();
        }
    }
}
