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
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Test clients of every transport, each queueing the lines it receives. */
final class Clients {
    static final long WAIT_MILLIS = 10_000;

    private Clients() {
    }

    /** Lines received by some client, with a deadline-bound wait. */
    abstract static class Received implements Closeable {
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

        abstract void send(String line) throws IOException;

        /** Skips lines until one matches; fails after {@link #WAIT_MILLIS}. */
        String expect(Predicate<String> p) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
            List<String> seen = new ArrayList<>();
            while (System.nanoTime() < deadline) {
                String l = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (l == null) {
                    break;
                }
                if (p.test(l)) {
                    return l;
                }
                seen.add(l);
            }
            return fail(this + ": no matching line within " + WAIT_MILLIS + " ms; seen " + seen);
        }

        String expectLine(String exact) throws InterruptedException {
            return expect(exact::equals);
        }
    }

    /** {@code nc}: lines ending in a newline over TCP. */
    static final class Tcp extends Received {
        private final Socket socket;
        private final OutputStream out;

        Tcp(InetSocketAddress server) throws IOException {
            socket = new Socket();
            socket.connect(server, 5_000);
            out = socket.getOutputStream();
            pump(socket.getInputStream(), lines, "tcp-reader");
        }

        @Override
        void send(String line) throws IOException {
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }

        @Override
        public String toString() {
            return "tcp client";
        }
    }

    /** {@code nc -u}: one datagram per line. */
    static final class Udp extends Received {
        private final DatagramSocket socket;
        private final InetSocketAddress server;

        Udp(InetSocketAddress server) throws IOException {
            this.server = server;
            socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
            socket.setSoTimeout(200);
            Thread t = new Thread(this::receive, "udp-reader");
            t.setDaemon(true);
            t.start();
        }

        private void receive() {
            byte[] buf = new byte[65_536];
            while (!socket.isClosed()) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    socket.receive(p);
                } catch (SocketTimeoutException e) {
                    continue;
                } catch (IOException e) {
                    return;
                }
                String text = new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
                for (String l : text.split("\n")) {
                    lines.add(l);
                }
            }
        }

        @Override
        void send(String line) throws IOException {
            byte[] b = line.getBytes(StandardCharsets.UTF_8);
            socket.send(new DatagramPacket(b, b.length, server));
        }

        @Override
        public void close() {
            socket.close();
        }

        @Override
        public String toString() {
            return "udp client";
        }
    }

    /** A browser's part, played by the JDK's own WebSocket client. */
    static final class Ws extends Received {
        private final WebSocket ws;

        Ws(InetSocketAddress server) throws Exception {
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

        @Override
        public String toString() {
            return "websocket client";
        }
    }

    /** A client in another process: its stdout lines are what it received. */
    static final class Process extends Received {
        private final java.lang.Process process;
        private final OutputStream stdin;
        private final String name;

        Process(String name, List<String> command) throws IOException {
            this.name = name;
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
            stdin = process.getOutputStream();
            pump(process.getInputStream(), lines, name + "-stdout");
        }

        /** Types a line, as a user at the client's prompt would. */
        @Override
        void send(String line) throws IOException {
            stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        }

        boolean awaitExit() throws InterruptedException {
            return process.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static void pump(InputStream in, BlockingQueue<String> into, String threadName) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    into.add(l);
                }
            } catch (IOException e) {
                // closed: nothing more to read
            }
        }, threadName);
        t.setDaemon(true);
        t.start();
    }
}
