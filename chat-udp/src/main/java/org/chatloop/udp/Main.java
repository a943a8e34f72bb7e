package org.chatloop.udp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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
 * The command line: {@code server} runs a {@link UdpChatServer} until SIGINT or SIGTERM;
 * {@code client} runs a {@link UdpChatClient} that prints what it receives and sends the lines of
 * standard input. Exit codes: 0 done, 1 failed (say, the port is taken), 2 bad usage.
 */
public final class Main {
    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;
    /** How long the client waits for {@code * bye} after sending {@code /quit}. */
    static final long BYE_WAIT_MILLIS = 1_000;

    private final InputStream stdin;
    private final Consumer<Runnable> onTermination;

    /**
     * @param stdin what the client reads its lines from
     * @param onTermination registers what to run when the process is told to end (a JVM
     *                      shutdown hook by default; tests call it themselves)
     */
    Main(InputStream stdin, Consumer<Runnable> onTermination) {
        this.stdin = stdin;
        this.onTermination = onTermination;
    }

    /**
     * Runs the command line and exits with its code.
     *
     * @param args {@code server [options]} or {@code client [options]}; {@code --help} for more
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs the command line without exiting.
     *
     * @return the exit code
     */
    static int run(String[] args, PrintStream out, PrintStream err) {
        return new Main(System.in, Main::addShutdownHook).execute(args, out, err);
    }

    int execute(String[] args, PrintStream out, PrintStream err) {
        PrintWriter o = new PrintWriter(out, true);
        PrintWriter e = new PrintWriter(err, true);
        CommandLine cli = new CommandLine(new Top())
                .addSubcommand(new ServerCommand(onTermination))
                .addSubcommand(new ClientCommand(stdin))
                .setOut(o)
                .setErr(e)
                .setParameterExceptionHandler((ex, a) -> {
                    CommandLine cmd = ex.getCommandLine();
                    cmd.getErr().println(ex.getMessage());
                    CommandLine.UnmatchedArgumentException.printSuggestions(ex, cmd.getErr());
                    cmd.getErr().println("Try '" + cmd.getCommandSpec().qualifiedName()
                            + " --help' for more information.");
                    return EXIT_USAGE;
                })
                .setExecutionExceptionHandler((ex, cmd, parsed) -> {
                    cmd.getErr().println("chat-udp " + cmd.getCommandName() + ": " + ex);
                    return EXIT_FAILED;
                });
        try {
            return cli.execute(args);
        } finally {
            o.flush();
            e.flush();
        }
    }

    /**
     * On SIGINT or SIGTERM: stop, then end the process with status 0 (the JVM would otherwise
     * report 130 or 143 for a signal).
     */
    private static void addShutdownHook(Runnable stop) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                stop.run();
            } finally {
                System.out.flush();
                System.err.flush();
                Runtime.getRuntime().halt(EXIT_OK);
            }
        }, "chat-udp-shutdown"));
    }

    static void requireRange(CommandSpec spec, String option, long value, long min, long max) {
        if (value < min || value > max) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '" + option
                    + "': " + value + " is not in " + min + ".." + max);
        }
    }

    /** @return {@code "address already in use"} and the like, for a one-line message */
    static String describe(IOException e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        return m.substring(0, 1).toLowerCase(java.util.Locale.ROOT) + m.substring(1);
    }

    static InetSocketAddress resolve(CommandSpec spec, String host, int port) {
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (host.isBlank() || address.isUnresolved()) {
            throw new ParameterException(spec.commandLine(),
                    "Invalid value for option '--host': cannot resolve '" + host + "'");
        }
        return address;
    }

    @Command(name = "chat-udp", mixinStandardHelpOptions = true, version = "chat-udp 0.1.0",
            description = "UDP chat rooms: a server and a client.",
            synopsisSubcommandLabel = "(server | client)")
    static final class Top {
    }

    @Command(name = "server", mixinStandardHelpOptions = true, version = "chat-udp 0.1.0",
            description = "Runs the chat server until SIGINT or SIGTERM.")
    static final class ServerCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--host", paramLabel = "HOST", description = "Address to bind (default: ${DEFAULT-VALUE}).")
        String host = UdpServerOptions.defaults().host();

        @Option(names = "--port", paramLabel = "PORT", description = "Port to bind, 0 for any free port (default: ${DEFAULT-VALUE}).")
        int port = UdpServerOptions.defaults().port();

        @Option(names = "--loops", paramLabel = "N", description = "Selector threads, 1..255, each with a socket of its own on the port (SO_REUSEPORT): the kernel spreads source addresses over them and rooms span them; one per core is the usual choice (default: ${DEFAULT-VALUE}).")
        int loops = 1;

        @Option(names = "--max-message-bytes", paramLabel = "N", description = "Largest datagram accepted, 1..65507 (default: ${DEFAULT-VALUE}).")
        int maxMessageBytes = UdpServerOptions.defaults().maxMessageBytes();

        @Option(names = "--max-clients", paramLabel = "N", description = "Most registered addresses (default: ${DEFAULT-VALUE}).")
        int maxClients = UdpServerOptions.defaults().maxClients();

        @Option(names = "--heartbeat-timeout", paramLabel = "SECONDS", description = "Silence after which a client is removed (default: ${DEFAULT-VALUE}).")
        long heartbeatTimeout = UdpServerOptions.defaults().heartbeatTimeout().toSeconds();

        @Option(names = "--max-queued-datagrams", paramLabel = "N", description = "Datagrams that may wait for the socket; more are dropped (default: ${DEFAULT-VALUE}).")
        int maxQueuedDatagrams = UdpServerOptions.defaults().maxQueuedDatagrams();

        @Option(names = "--address-validation", paramLabel = "on|off|auto", description = "Make a new address echo a token (* verify TOKEN, answered by #ping# TOKEN) before it is registered; auto is on unless bound to loopback (default: ${DEFAULT-VALUE}).",
                converter = ValidationConverter.class)
        UdpServerOptions.AddressValidation addressValidation =
                UdpServerOptions.defaults().addressValidation();

        @Option(names = "--max-lines-per-second", paramLabel = "R", description = "Datagrams a client may send per second, burst R; more are dropped; 0 for no limit (default: ${DEFAULT-VALUE}).")
        int maxLinesPerSecond = UdpServerOptions.defaults().maxLinesPerSecond();

        @Option(names = "--max-clients-per-ip", paramLabel = "N", description = "Registrations from one IP address at once; 0 for no limit (default: ${DEFAULT-VALUE}).")
        int maxClientsPerIp = UdpServerOptions.defaults().maxClientsPerIp();

        @Option(names = "--announce-limit", paramLabel = "N", description = "Largest room whose joins and leaves are announced one by one; larger rooms get a summary every few seconds (default: ${DEFAULT-VALUE}).")
        int announceLimit = HubOptions.defaults().announceLimit();

        @Option(names = "--reuse-port", description = "bind with SO_REUSEPORT, so that several "
                + "servers (cluster nodes) share the port and the kernel spreads clients over them")
        boolean reusePort;

        @Mixin
        ClusterFlags clusterFlags = new ClusterFlags();

        private final Consumer<Runnable> onTermination;

        ServerCommand(Consumer<Runnable> onTermination) {
            this.onTermination = onTermination;
        }

        @Override
        public Integer call() throws InterruptedException {
            requireRange(spec, "--port", port, 0, 65535);
            requireRange(spec, "--loops", loops, 1, 255);
            requireRange(spec, "--max-message-bytes", maxMessageBytes, 1,
                    UdpServerOptions.MAX_DATAGRAM_BYTES);
            requireRange(spec, "--max-clients", maxClients, 1, Integer.MAX_VALUE);
            requireRange(spec, "--heartbeat-timeout", heartbeatTimeout, 1, 365L * 24 * 3600);
            requireRange(spec, "--max-queued-datagrams", maxQueuedDatagrams, 1,
                    Integer.MAX_VALUE);
            requireRange(spec, "--max-lines-per-second", maxLinesPerSecond, 0, Integer.MAX_VALUE);
            requireRange(spec, "--max-clients-per-ip", maxClientsPerIp, 0, Integer.MAX_VALUE);
            requireRange(spec, "--announce-limit", announceLimit, 0, Integer.MAX_VALUE);
            InetSocketAddress bind = resolve(spec, host, port);
            UdpServerOptions options = new UdpServerOptions(host, port, maxMessageBytes,
                    maxClients, Duration.ofSeconds(heartbeatTimeout), maxQueuedDatagrams,
                    addressValidation, maxLinesPerSecond, maxClientsPerIp, reusePort);
            PrintWriter out = spec.commandLine().getOut();
            RedisCluster cluster;
            try {
                cluster = clusterFlags.join(spec, loops);
            } catch (IllegalStateException e) {
                spec.commandLine().getErr().println("chat-udp server: " + e.getMessage());
                return EXIT_FAILED;
            }
            HubOptions hubOptions = HubOptions.defaults().withAnnounceLimit(announceLimit);
            UdpChatServer server;
            try {
                server = cluster == null ? UdpChatServer.start(options, hubOptions, loops)
                        : UdpChatServer.start(options, hubOptions, loops, cluster.directory(),
                                cluster.bus());
            } catch (IOException e) {
                if (cluster != null) {
                    cluster.close();
                }
                spec.commandLine().getErr().println("chat-udp server: cannot bind "
                        + Addresses.format(bind) + ": " + describe(e));
                return EXIT_FAILED;
            }
            onTermination.accept(ClusterFlags.leavingFirst(cluster, server::stop));
            InetSocketAddress bound = server.localAddress();
            out.println("listening on " + Addresses.format(bound) + " (udp)");
            if (cluster != null) {
                out.println(ClusterFlags.joined(cluster));
            }
            out.flush();
            while (!server.awaitStopped(1, TimeUnit.HOURS)) {
                // serve until stopped
            }
            return EXIT_OK;
        }
    }

    /** Reads {@code on}, {@code off} or {@code auto}, in any case. */
    static final class ValidationConverter
            implements CommandLine.ITypeConverter<UdpServerOptions.AddressValidation> {
        @Override
        public UdpServerOptions.AddressValidation convert(String value) {
            for (UdpServerOptions.AddressValidation v
                    : UdpServerOptions.AddressValidation.values()) {
                if (v.name().equalsIgnoreCase(value)) {
                    return v;
                }
            }
            throw new CommandLine.TypeConversionException("'" + value
                    + "' is not one of on, off, auto");
        }
    }

    @Command(name = "client", mixinStandardHelpOptions = true, version = "chat-udp 0.1.0",
            description = {"Sends each line of standard input, prints every datagram received.",
                    "/quit (or the end of input) leaves."})
    static final class ClientCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--host", paramLabel = "HOST", description = "Server address (default: ${DEFAULT-VALUE}).")
        String host = "127.0.0.1";

        @Option(names = "--port", paramLabel = "PORT", description = "Server port (default: ${DEFAULT-VALUE}).")
        int port = 9001;

        @Option(names = "--heartbeat-interval", paramLabel = "SECONDS", description = "Seconds between #ping# heartbeats (default: ${DEFAULT-VALUE}).")
        long heartbeatInterval = 5;

        @Option(names = "--answer-timeout", paramLabel = "SECONDS", description = "Seconds to wait for the server's first answer before giving up with exit code 1 (default: ${DEFAULT-VALUE}).")
        long answerTimeout = 5;

        private final InputStream stdin;

        ClientCommand(InputStream stdin) {
            this.stdin = stdin;
        }

        @Override
        public Integer call() throws IOException, InterruptedException {
            requireRange(spec, "--port", port, 1, 65535);
            requireRange(spec, "--heartbeat-interval", heartbeatInterval, 1, 365L * 24 * 3600);
            requireRange(spec, "--answer-timeout", answerTimeout, 1, 365L * 24 * 3600);
            InetSocketAddress server = resolve(spec, host, port);
            PrintWriter out = spec.commandLine().getOut();
            CountDownLatch bye = new CountDownLatch(1);
            Consumer<String> print = line -> {
                out.println(line);
                out.flush();
                if (line.equals("* bye")) {
                    bye.countDown();
                }
            };
            try (UdpChatClient client = UdpChatClient.connect(server,
                    Duration.ofSeconds(heartbeatInterval), print)) {
                // stdin is read on a thread of its own, so that a server that never answers can
                // end the client while a line is being waited for; send() hands each line to the
                // loop.
                CountDownLatch inputDone = new CountDownLatch(1);
                Thread pump = new Thread(() -> {
                    try {
                        BufferedReader reader = new BufferedReader(
                                new InputStreamReader(stdin, StandardCharsets.UTF_8));
                        String line;
                        while ((line = reader.readLine()) != null
                                && !line.strip().equals("/quit")) {
                            client.send(line);
                        }
                    } catch (IOException e) {
                        // end of input
                    } finally {
                        inputDone.countDown();
                    }
                }, "chat-udp-stdin");
                pump.setDaemon(true);
                pump.start();
                if (!client.awaitAnswer(Duration.ofSeconds(answerTimeout))) {
                    spec.commandLine().getErr().println("chat-udp client: the server at "
                            + Addresses.format(server) + " did not answer"
                            + (client.serverUnreachable() ? " (port unreachable)"
                            : " within " + answerTimeout + " s") + "; is it running?");
                    return EXIT_FAILED;
                }
                inputDone.await();
                // /quit, or the end of input: leave at once rather than time out.
                client.send("/quit");
                bye.await(BYE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            }
            return EXIT_OK;
        }
    }
}
