package org.chatloop.server;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Test clients of every transport ({@link ChatServerTest}, {@link NodeWebSocketInteropTest},
 * {@link BrowserTest}): each queues the lines it receives in its {@link Lines}, read by a daemon
 * thread and consumed with deadline-bounded waits. Only 127.0.0.1 is ever contacted.
 */
final class InteropPeers {
    /** How long one expected line may take. */
    static final Duration WAIT = Duration.ofSeconds(10);
    /** What follows the name in a welcome. */
    static final String WELCOME_TAIL = " (room lobby; /nick NAME to rename, /help for commands)";

    private InteropPeers() {
    }

    /** Lines received by a reader thread, consumed in order by the test thread. */
    static final class Lines {
        private static final String END = "\u0000END";
        private final String who;
        private final BlockingQueue<String> queue = new LinkedBlockingQueue<>();
        /** The last lines consumed, for failure messages. */
        private final Deque<String> seen = new ArrayDeque<>();

        Lines(String who) {
            this.who = who;
        }

        void add(String line) {
            queue.add(line);
        }

        /** The source ended (socket closed, process exited): waits fail from then on. */
        void end() {
            queue.add(END);
        }

        /** Skips lines until one matches, failing at end of stream or after {@link #WAIT}. */
        String expect(String what, Predicate<String> p) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            try {
                while (true) {
                    long left = deadline - System.nanoTime();
                    String l = left <= 0 ? null : queue.poll(left, TimeUnit.NANOSECONDS);
                    if (l == null) {
                        return fail(who + ": no line " + what + " within " + WAIT
                                + "; last lines seen: " + seen);
                    }
                    if (l.equals(END)) {
                        queue.add(END);
                        return fail(who + ": ended while waiting for a line " + what
                                + "; last lines seen: " + seen);
                    }
                    seen.addLast(l);
                    if (seen.size() > 30) {
                        seen.removeFirst();
                    }
                    if (p.test(l)) {
                        return l;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return fail(who + ": interrupted while waiting for a line " + what);
            }
        }

        String expect(Predicate<String> p) {
            return expect("that matches", p);
        }

        String expectLine(String exact) {
            return expect("equal to \"" + exact + "\"", exact::equals);
        }

        String expectMatching(String regex) {
            return expect("matching /" + regex + "/", l -> l.matches(regex));
        }
    }

    /** A client of some transport: what it receives goes to {@link #lines}. */
    abstract static class Peer implements Closeable {
        final Lines lines;

        Peer(String who) {
            lines = new Lines(who);
        }

        abstract void send(String line) throws IOException;
    }

    /** {@code nc}: a TCP line client (lines end with {@code \n}, UTF-8) on a plain socket. */
    static final class Tcp extends Peer {
        private final Socket socket;
        private final OutputStream out;

        Tcp(InetSocketAddress server) throws IOException {
            super("tcp client");
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    server.getPort()), 5_000);
            out = socket.getOutputStream();
            pump(socket.getInputStream(), "tcp-reader", lines);
        }

        @Override
        void send(String line) throws IOException {
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        /** @return the name the server gave, {@code 127.0.0.1:LOCALPORT}, from the welcome */
        String awaitWelcome() {
            String name = "127.0.0.1:" + socket.getLocalPort();
            lines.expectLine("* welcome " + name + WELCOME_TAIL);
            return name;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** {@code nc -u}: one datagram per line, replies read with a receive timeout. */
    static final class Udp extends Peer {
        private final DatagramSocket socket;
        private final InetSocketAddress server;
        private volatile boolean closed;

        Udp(InetSocketAddress serverAddress) throws IOException {
            super("udp client");
            server = new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    serverAddress.getPort());
            socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            socket.setSoTimeout(200);
            Thread reader = new Thread(this::read, "udp-reader");
            reader.setDaemon(true);
            reader.start();
        }

        private void read() {
            byte[] buf = new byte[65_535];
            while (!closed) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    socket.receive(p);
                } catch (SocketTimeoutException e) {
                    continue;
                } catch (IOException e) {
                    break;
                }
                if (p.getSocketAddress().equals(server)) {
                    String s = new String(p.getData(), p.getOffset(), p.getLength(),
                            StandardCharsets.UTF_8);
                    lines.add(s.endsWith("\n") ? s.substring(0, s.length() - 1) : s);
                }
            }
            lines.end();
        }

        @Override
        void send(String line) throws IOException {
            byte[] b = line.getBytes(StandardCharsets.UTF_8);
            socket.send(new DatagramPacket(b, b.length, server));
        }

        /**
         * Registers with {@code #ping#} (answering a {@code * verify TOKEN} challenge should the
         * server validate addresses) and waits for the welcome.
         *
         * @return the welcome's name, {@code 127.0.0.1:PORT}
         */
        String join() throws IOException {
            send("#ping#");
            String first = lines.expect("starting \"* welcome \" or \"* verify \"",
                    l -> l.startsWith("* welcome ") || l.startsWith("* verify "));
            if (first.startsWith("* verify ")) {
                send("#ping# " + first.substring("* verify ".length()));
                first = lines.expect("starting \"* welcome \"", l -> l.startsWith("* welcome "));
            }
            String name = "127.0.0.1:" + socket.getLocalPort();
            String expected = "* welcome " + name + WELCOME_TAIL;
            if (!first.equals(expected)) {
                fail("udp welcome: expected \"" + expected + "\" but got \"" + first + "\"");
            }
            return name;
        }

        @Override
        public void close() {
            closed = true;
            socket.close();
        }
    }

    /** A browser's part, played by the JDK's own WebSocket client. */
    static final class Ws extends Peer {
        private final WebSocket ws;

        Ws(InetSocketAddress server) throws Exception {
            super("websocket client");
            ws = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + server.getPort() + "/ws"),
                            new WebSocket.Listener() {
                                private final StringBuilder part = new StringBuilder();

                                @Override
                                public CompletionStage<?> onText(WebSocket w, CharSequence data,
                                                                 boolean last) {
                                    part.append(data);
                                    if (last) {
                                        lines.add(part.toString());
                                        part.setLength(0);
                                    }
                                    w.request(1);
                                    return null;
                                }
                            })
                    .get(10, TimeUnit.SECONDS);
        }

        @Override
        void send(String line) throws IOException {
            try {
                ws.sendText(line, true).get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IOException("sending " + line, e);
            }
        }

        @Override
        public void close() {
            ws.abort();
        }
    }

    /** A client in another process: its stdout (and stderr) lines are what it received. */
    static final class Process extends Peer {
        private final java.lang.Process process;
        private final OutputStream stdin;

        Process(String name, List<String> command) throws IOException {
            super(name);
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
            stdin = process.getOutputStream();
            pump(process.getInputStream(), name + "-stdout", lines);
        }

        /** Types a line, as a user at the client's prompt would. */
        @Override
        void send(String line) throws IOException {
            stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        }

        boolean awaitExit() throws InterruptedException {
            return process.waitFor(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    /** Reads {@code in} into {@code lines} on a daemon thread, then ends them. */
    static void pump(InputStream in, String threadName, Lines lines) {
        pump(in, threadName, lines::add, lines::end);
    }

    /** Reads {@code in} into {@code each} line by line on a daemon thread, then runs atEnd. */
    static void pump(InputStream in, String threadName, Consumer<String> each, Runnable atEnd) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    each.accept(l);
                }
            } catch (IOException e) {
                // closed or reset: the end of the stream
            }
            atEnd.run();
        }, threadName);
        t.setDaemon(true);
        t.start();
    }

    /** Closes each that is not null, in order, all even if one fails; throws the first failure. */
    static void closeAll(AutoCloseable... all) throws Exception {
        Exception first = null;
        for (AutoCloseable c : all) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
