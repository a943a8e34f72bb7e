package org.chatloop.redis;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.JarURLConnection;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * A real {@code redis-server} child process for tests, listening on 127.0.0.1 only, on a free
 * ephemeral port, without persistence ({@code --save "" --appendonly no}).
 *
 * <p>Which binary, resolved once per JVM by {@link #startOrSkip(String...)} (or
 * {@link #start(String...)}):
 * <ol>
 *   <li>the path in the system property {@value #SERVER_PROPERTY} if it is set (the module's
 *       {@code redis7} surefire execution sets it to Debian's {@code /usr/bin/redis-server}); a
 *       binary named this way that does not start is a test <em>failure</em>, not a skip;</li>
 *   <li>else the binary that the test dependency {@code com.github.codemonstur:embedded-redis}
 *       ships as a jar resource for this OS and architecture (Redis 6.2), extracted under
 *       {@code target/redis/bin/};</li>
 *   <li>else {@code redis-server} on the {@code PATH}.</li>
 * </ol>
 * If none of them starts a server here, the calling test is skipped (aborted) with the reasons
 * ({@link #start(String...)}, for callers outside JUnit, throws them instead).
 * Once one has started in this JVM, every later start uses it, and its failures fail.
 *
 * <p>Redis's output goes to {@code target/redis/redis-PORT-N.log}; a start that fails quotes the
 * log's tail. Readiness is a real {@code PING} answered with {@code PONG}, polled until a deadline.
 * On Redis 7 and later the server also gets {@code --enable-debug-command local}, so that
 * {@code DEBUG} (for instance {@code DEBUG SLEEP}) works as it does by default on 6.2.
 *
 * <p>{@link #stop()} kills the process (SIGKILL, like a crash: nothing saved, every connection
 * dropped) and {@link #restart()} starts a fresh, empty server on the same port. Still-running
 * servers are killed when the JVM exits. Methods are thread-safe; {@link #command(String...)}
 * opens its own connection on each call.
 */
public final class RedisServerProcess implements AutoCloseable {
    /** System property naming the redis-server binary to use instead of the embedded one. */
    static final String SERVER_PROPERTY = "chatloop.redis.server";

    private static final String HOST = "127.0.0.1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final int COMMAND_TIMEOUT_SECONDS = 10;
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(COMMAND_TIMEOUT_SECONDS);
    private static final Duration PING_TIMEOUT = Duration.ofMillis(500);
    private static final int PORT_TRIES = 5;
    private static final int LOG_TAIL_LINES = 30;
    private static final Pattern VERSION = Pattern.compile("v=(\\d+)\\.(\\d+)\\.(\\d+)");
    private static final Path WORK_DIR = Path.of("target", "redis").toAbsolutePath();
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    /** Servers whose process may be running, killed by the shutdown hook. */
    private static final Set<RedisServerProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (RedisServerProcess r : LIVE) {
                Process p = r.process;
                if (p != null) {
                    p.destroyForcibly();
                }
            }
        }, "redis-server-reaper"));
    }

    /** The binary that started a server in this JVM; guarded by the class lock. */
    private static Binary resolved;
    /** Why no binary could start a server here, once found out; guarded by the class lock. */
    private static String skipReason;

    private final Binary binary;
    private final List<String> extraArgs;
    private final int port;
    private final Path log;
    private volatile Process process;
    private boolean closed;

    /** A redis-server executable that runs here, and the version its {@code --version} prints. */
    private record Binary(Path path, String source, String version, int major) {
        @Override
        public String toString() {
            return path + " (" + source + ", Redis " + version + ")";
        }
    }

    /** An error reply ({@code -ERR ...}) to {@link #command(String...)}. */
    static final class RedisError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RedisError(String message) {
            super(message);
        }
    }

    private RedisServerProcess(Binary binary, List<String> extraArgs, int port) {
        this.binary = binary;
        this.extraArgs = List.copyOf(extraArgs);
        this.port = port;
        this.log = WORK_DIR.resolve("redis-" + port + "-" + SEQUENCE.incrementAndGet() + ".log");
    }

    /**
     * Starts a server that answers PING, or aborts the calling test (JUnit assumption) when no
     * redis-server binary can start one on this machine.
     *
     * @param extraArgs further {@code redis-server} options, e.g. {@code "--timeout", "1"}; a
     *        server that rejects them is a failure, not a skip
     * @throws IllegalStateException when the binary that works here fails to start this time, or
     *         the binary named by {@value #SERVER_PROPERTY} does not start
     */
    public static RedisServerProcess startOrSkip(String... extraArgs) {
        synchronized (RedisServerProcess.class) {
            RedisServerProcess r = startIfAnyBinary(Arrays.asList(extraArgs));
            if (r == null) {
                Assumptions.abort(skipReason);
            }
            return r;
        }
    }

    /**
     * Starts a server that answers PING, as {@link #startOrSkip(String...)} does, for callers
     * outside JUnit (the benchmarks): where no redis-server binary can start one on this machine
     * it throws instead of skipping.
     *
     * @param extraArgs further {@code redis-server} options, e.g. {@code "--timeout", "1"}
     * @throws IllegalStateException when no redis-server binary starts a server here (the
     *         message says why for each candidate), or the one that works fails this time
     */
    public static RedisServerProcess start(String... extraArgs) {
        synchronized (RedisServerProcess.class) {
            RedisServerProcess r = startIfAnyBinary(Arrays.asList(extraArgs));
            if (r == null) {
                throw new IllegalStateException(skipReason);
            }
            return r;
        }
    }

    /**
     * Starts a server with the binary that works here (resolving it on the first call).
     *
     * @return the server, or null if no binary starts one here ({@link #skipReason} says why)
     */
    private static RedisServerProcess startIfAnyBinary(List<String> extras) {
        if (resolved == null && skipReason == null) {
            RedisServerProcess first = resolve();
            if (first != null && extras.isEmpty()) {
                return first;
            }
            if (first != null) {
                first.close();
            }
        }
        if (resolved == null) {
            return null;
        }
        try {
            return launch(resolved, extras);
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /**
     * Finds the binary to use by starting a plain server with each candidate in turn; sets
     * {@link #resolved} and returns that server, or sets {@link #skipReason} and returns null.
     */
    private static RedisServerProcess resolve() {
        String configured = System.getProperty(SERVER_PROPERTY, "").trim();
        if (!configured.isEmpty()) {
            try {
                Binary b = probe(Path.of(configured), "-D" + SERVER_PROPERTY);
                RedisServerProcess r = launch(b, List.of());
                resolved = b;
                return r;
            } catch (IOException e) {
                throw new IllegalStateException("-D" + SERVER_PROPERTY + "=" + configured
                        + " names a redis-server that does not start here: " + e.getMessage(), e);
            }
        }
        List<String> why = new ArrayList<>();
        for (String source : List.of("embedded-redis", "PATH")) {
            try {
                Path path = source.equals("PATH") ? onPath("redis-server") : extractEmbedded();
                Binary b = probe(path, source);
                RedisServerProcess r = launch(b, List.of());
                resolved = b;
                return r;
            } catch (IOException | RuntimeException e) {
                why.add(source + ": " + e.getMessage());
            }
        }
        skipReason = "no redis-server starts here (set -D" + SERVER_PROPERTY
                + "=/path/to/redis-server, or install Debian's redis-server): "
                + String.join("; ", why);
        return null;
    }

    /** Runs {@code binary --version} (bounded) to check that it executes here and read its version. */
    private static Binary probe(Path path, String source) throws IOException {
        if (!Files.isExecutable(path)) {
            throw new FileNotFoundException(path + " is not an executable file");
        }
        Process p = new ProcessBuilder(path.toString(), "--version").redirectErrorStream(true).start();
        try {
            if (!p.waitFor(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(path + " --version did not exit within " + START_TIMEOUT);
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            Matcher m = VERSION.matcher(out);
            if (p.exitValue() != 0 || !m.find()) {
                throw new IOException(path + " --version exited " + p.exitValue() + ": " + out);
            }
            return new Binary(path, source, m.group(1) + "." + m.group(2) + "." + m.group(3),
                    Integer.parseInt(m.group(1)));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + path + " --version", e);
        }
    }

    /** Starts a server of {@code b} on a fresh ephemeral port, trying another if the bind fails. */
    private static RedisServerProcess launch(Binary b, List<String> extras) throws IOException {
        Files.createDirectories(WORK_DIR);
        String lastBindFailure = "";
        for (int attempt = 0; attempt < PORT_TRIES; attempt++) {
            RedisServerProcess r = new RedisServerProcess(b, extras, freePort());
            String bindFailure = r.startProcess();
            if (bindFailure == null) {
                return r;
            }
            lastBindFailure = bindFailure;
        }
        throw new IOException(b + " could not bind a free port in " + PORT_TRIES + " tries; last: "
                + lastBindFailure);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, loopback())) {
            return s.getLocalPort();
        }
    }

    private static InetAddress loopback() throws IOException {
        return InetAddress.getByAddress(HOST, new byte[] {127, 0, 0, 1});
    }

    private static Path onPath(String name) throws FileNotFoundException {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                if (!dir.isEmpty()) {
                    Path candidate = Path.of(dir, name);
                    if (Files.isExecutable(candidate)) {
                        return candidate;
                    }
                }
            }
        }
        throw new FileNotFoundException(name + " is not on the PATH");
    }

    /**
     * Copies the embedded-redis jar's {@code redis-server-*-OS-ARCH} resource to an executable
     * file of this JVM under {@code target/redis/bin/} (deleted when the JVM exits).
     */
    private static Path extractEmbedded() throws IOException {
        String suffix = embeddedSuffix();
        URL marker = RedisServerProcess.class.getResource("/redis/embedded/RedisServer.class");
        if (marker == null) {
            throw new FileNotFoundException("com.github.codemonstur:embedded-redis is not on the test classpath");
        }
        URLConnection c = marker.openConnection();
        if (!(c instanceof JarURLConnection jc)) {
            throw new FileNotFoundException("embedded-redis is not loaded from a jar: " + marker);
        }
        jc.setUseCaches(false);
        try (JarFile jar = jc.getJarFile()) {
            JarEntry best = null;
            for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                JarEntry entry = e.nextElement();
                String n = entry.getName();
                if (n.startsWith("redis-server-") && n.endsWith(suffix) && n.indexOf('/') < 0
                        && (best == null || n.compareTo(best.getName()) > 0)) {
                    best = entry;
                }
            }
            if (best == null) {
                throw new FileNotFoundException(jar.getName() + " ships no redis-server-*" + suffix);
            }
            Path dir = Files.createDirectories(WORK_DIR.resolve("bin"));
            Path target = Files.createTempFile(dir, best.getName() + "-", "");
            target.toFile().deleteOnExit();
            try (InputStream in = jar.getInputStream(best)) {
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
            return target;
        }
    }

    /** The resource-name ending of embedded-redis's binary for this OS and architecture. */
    private static String embeddedSuffix() throws FileNotFoundException {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("linux") ? "linux" : os.contains("mac") || os.contains("darwin") ? "darwin" : null;
        String a = switch (arch) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "x86", "i386", "i486", "i586", "i686" -> "386";
            default -> null;
        };
        if (o == null || a == null) {
            throw new FileNotFoundException("embedded-redis has no binary for " + os + "/" + arch);
        }
        return "-" + o + "-" + a;
    }

    /**
     * Starts the process on {@link #port} and waits (bounded) until it answers PING.
     *
     * @return null once it answers; the log's tail if it exited because the port was taken
     * @throws IOException if it exited for another reason or did not answer in time
     */
    private synchronized String startProcess() throws IOException {
        List<String> cmd = new ArrayList<>(List.of(binary.path().toString(),
                "--port", Integer.toString(port), "--bind", HOST,
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--dir", WORK_DIR.toString()));
        if (binary.major() >= 7) {
            cmd.addAll(List.of("--enable-debug-command", "local"));
        }
        cmd.addAll(extraArgs);
        long logStart = Files.exists(log) ? Files.size(log) : 0;
        Files.writeString(log, "=== " + String.join(" ", cmd) + System.lineSeparator(),
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        Process p = new ProcessBuilder(cmd)
                .directory(WORK_DIR.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        process = p;
        LIVE.add(this);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String lastPing = "no attempt";
        try {
            while (true) {
                if (!p.isAlive()) {
                    process = null;
                    LIVE.remove(this);
                    String tail = tail(logStart);
                    if (tail.contains("Address already in use")) {
                        return tail;
                    }
                    throw new IOException(binary + " exited with " + p.exitValue()
                            + " before answering PING on port " + port + "; log " + log + ":\n" + tail);
                }
                try {
                    Object reply = roundTrip(port, PING_TIMEOUT, "PING");
                    if ("PONG".equals(reply)) {
                        return null;
                    }
                    lastPing = String.valueOf(reply);
                } catch (IOException | RedisError e) {
                    lastPing = e.toString();
                }
                if (System.nanoTime() - deadline > 0) {
                    kill(p);
                    throw new IOException(binary + " did not answer PING on port " + port + " within "
                            + START_TIMEOUT + " (last: " + lastPing + "); log " + log + ":\n" + tail(logStart));
                }
                // A short pause between polls that ends at once if the process exits.
                p.waitFor(20, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for redis-server on port " + port, e);
        }
    }

    /** The last lines that the log got from offset {@code from} on. */
    private String tail(long from) {
        try {
            byte[] all = Files.readAllBytes(log);
            int start = (int) Math.min(from, all.length);
            String text = new String(all, start, all.length - start, StandardCharsets.UTF_8);
            List<String> lines = text.lines().toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    private void kill(Process p) {
        process = null;
        p.destroyForcibly();
        try {
            if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("redis-server pid " + p.pid() + " (port " + port
                        + ") did not exit within " + STOP_TIMEOUT + " of SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for redis-server on port " + port
                    + " to exit", e);
        } finally {
            if (!p.isAlive()) {
                LIVE.remove(this);
            }
        }
    }

    /** The TCP port on 127.0.0.1; the same across {@link #restart()}. */
    public int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:PORT}. */
    public String uri() {
        return "redis://" + HOST + ":" + port;
    }

    /** The executable this server runs. */
    public Path binary() {
        return binary.path();
    }

    /** The server's log file (all starts of this instance, each after a {@code ===} line). */
    public Path log() {
        return log;
    }

    /** Whether the process is running (started and neither stopped nor exited). */
    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** {@code redis_version} from {@code INFO server}, e.g. {@code 7.0.15}. */
    public String version() {
        String info = command("INFO", "server");
        for (String line : info.split("\r?\n")) {
            if (line.startsWith("redis_version:")) {
                return line.substring("redis_version:".length()).trim();
            }
        }
        throw new IllegalStateException("INFO server has no redis_version line: " + info);
    }

    /**
     * Kills the server (SIGKILL, so connections drop as in a crash and nothing is saved) and waits
     * (bounded) for it to exit; from then on connections to {@link #port()} are refused. Does
     * nothing if it is not running.
     */
    public synchronized void stop() {
        Process p = process;
        if (p != null) {
            kill(p);
        }
    }

    /**
     * Stops the server if it runs, then starts a fresh one, with no data, on the same port and
     * waits (bounded) until it answers PING: "Redis stopped and started again".
     *
     * @throws IllegalStateException if it does not come back in time, or after {@link #close()}
     */
    public synchronized void restart() {
        if (closed) {
            throw new IllegalStateException("closed: " + uri());
        }
        stop();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        try {
            while (true) {
                String bindFailure = startProcess();
                if (bindFailure == null) {
                    return;
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException(binary + " could not bind port " + port
                            + " again within " + START_TIMEOUT + "; log " + log + ":\n" + bindFailure);
                }
                Thread.sleep(50);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while restarting " + uri(), e);
        }
    }

    /** Stops the server for good. */
    @Override
    public synchronized void close() {
        closed = true;
        stop();
        LIVE.remove(this);
    }

    /**
     * @param channel a pub/sub channel
     * @return how many clients subscribe to it now ({@code PUBSUB NUMSUB})
     */
    public int subscribers(String channel) {
        String reply = command("PUBSUB", "NUMSUB", channel);
        return Integer.parseInt(reply.substring(reply.lastIndexOf('\n') + 1).trim());
    }

    /**
     * Waits until {@code n} clients subscribe to {@code channel} (a subscription is asynchronous),
     * polling with a deadline.
     *
     * @throws IllegalStateException if they do not within {@code within}
     */
    public void awaitSubscribers(String channel, int n, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        int now = subscribers(channel);
        while (now != n) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(channel + " has " + now + " subscribers, not "
                        + n + ", after " + within);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            now = subscribers(channel);
        }
    }

    /**
     * Sends one command on a new connection and returns its reply as text: a simple string or a
     * bulk string as is, an integer in decimal, an array as its elements rendered so and joined
     * by {@code "\n"} (nested arrays flattened; a null element as {@code ""}, an error element as
     * {@code "-"} and its text); a null bulk or null array as {@code null}. For commands with one
     * reply: not for SUBSCRIBE, MONITOR or SHUTDOWN.
     *
     * @throws RedisError if the reply is an error
     * @throws UncheckedIOException if the server cannot be reached or does not answer in
     *         {@value #COMMAND_TIMEOUT_SECONDS} s
     */
    public String command(String... args) {
        try {
            Object reply = roundTrip(port, COMMAND_TIMEOUT, args);
            return reply == null ? null : render(reply);
        } catch (IOException e) {
            throw new UncheckedIOException(String.join(" ", args) + " to " + uri() + ": " + e, e);
        }
    }

    private static String render(Object reply) {
        if (reply instanceof List<?> list) {
            List<String> parts = new ArrayList<>(list.size());
            for (Object o : list) {
                parts.add(o == null ? "" : o instanceof RedisError e ? "-" + e.getMessage() : render(o));
            }
            return String.join("\n", parts);
        }
        return (String) reply;
    }

    /** One RESP2 round trip; a top-level error reply is thrown, nested ones are returned. */
    private static Object roundTrip(int port, Duration timeout, String... args) throws IOException {
        if (args.length == 0) {
            throw new IllegalArgumentException("no command");
        }
        int millis = (int) timeout.toMillis();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(loopback(), port), millis);
            s.setSoTimeout(millis);
            s.setTcpNoDelay(true);
            OutputStream out = new BufferedOutputStream(s.getOutputStream());
            out.write(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            for (String a : args) {
                byte[] b = a.getBytes(StandardCharsets.UTF_8);
                out.write(("$" + b.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(b);
                out.write('\r');
                out.write('\n');
            }
            out.flush();
            Object reply = read(new BufferedInputStream(s.getInputStream()));
            if (reply instanceof RedisError e) {
                throw new RedisError(e.getMessage());
            }
            return reply;
        }
    }

    private static Object read(InputStream in) throws IOException {
        int type = in.read();
        if (type < 0) {
            throw new EOFException("connection closed before a reply");
        }
        String line = readLine(in);
        switch (type) {
            case '+':
            case ':':
                return line;
            case '-':
                return new RedisError(line);
            case '$': {
                int n = Integer.parseInt(line);
                if (n < 0) {
                    return null;
                }
                byte[] b = in.readNBytes(n);
                if (b.length < n || !readLine(in).isEmpty()) {
                    throw new EOFException("bulk reply of " + n + " bytes cut short");
                }
                return new String(b, StandardCharsets.UTF_8);
            }
            case '*': {
                int n = Integer.parseInt(line);
                if (n < 0) {
                    return null;
                }
                List<Object> items = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    items.add(read(in));
                }
                return items;
            }
            default:
                throw new IOException("unexpected RESP reply type '" + (char) type + "': " + line);
        }
    }

    /** Reads up to CRLF (not included). */
    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64);
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("connection closed inside a reply line");
            }
            if (c == '\r') {
                int lf = in.read();
                if (lf != '\n') {
                    throw new IOException("CR not followed by LF in a reply");
                }
                return b.toString(StandardCharsets.UTF_8);
            }
            b.write(c);
        }
    }

    @Override
    public String toString() {
        return "redis-server " + uri() + " " + binary;
    }
}
