package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A blocking WebSocket test client on a plain socket that writes exactly the bytes a test gives
 * it (masked frames from {@link ClientFrames}, or malformed ones) and parses what the server
 * sends into events: text messages, pongs, a close frame, end of stream.
 */
final class WsTestClient implements Closeable {
    static final Duration WAIT = Duration.ofSeconds(10);

    /** One thing the server sent. */
    record Event(int opcode, byte[] payload) {
        static final int EOF = -1;

        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        int closeCode() {
            return payload.length < 2 ? 1005 : ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
        }

        @Override
        public String toString() {
            return opcode == EOF ? "EOF" : opcode + ":" + text();
        }
    }

    final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private Thread reader;

    private WsTestClient(Socket socket) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.in = socket.getInputStream();
    }

    /** Connects without sending anything. */
    static WsTestClient connect(int port) throws IOException {
        return connect(port, 0);
    }

    /** Connects with a small receive buffer ({@code receiveBuffer} > 0) and sends nothing. */
    static WsTestClient connect(int port, int receiveBuffer) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer);
        }
        s.setTcpNoDelay(true);
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout((int) WAIT.toMillis());
        return new WsTestClient(s);
    }

    /** Connects, upgrades at {@code /ws} and waits for the lobby's welcome. */
    static WsTestClient joined(int port) throws IOException, InterruptedException {
        WsTestClient c = connect(port);
        String head = c.upgrade("/ws");
        assertTrue(head.startsWith("HTTP/1.1 101 "), head);
        c.expectText(t -> t.startsWith("* welcome "));
        return c;
    }

    static String upgradeRequest(String path, String... extraHeaders) {
        StringBuilder sb = new StringBuilder("GET " + path + " HTTP/1.1\r\n"
                + "Host: 127.0.0.1\r\n"
                + "Upgrade: websocket\r\n"
                + "Connection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Version: 13\r\n");
        for (String h : extraHeaders) {
            sb.append(h).append("\r\n");
        }
        return sb.append("\r\n").toString();
    }

    /** Sends an upgrade request and returns the response head; starts reading frames on a 101. */
    String upgrade(String path, String... extraHeaders) throws IOException {
        return upgrade(true, path, extraHeaders);
    }

    /** Upgrades at {@code /ws} and then never reads again: a client that stops reading. */
    static WsTestClient stalled(int port) throws IOException {
        WsTestClient c = connect(port, 4096);
        String head = c.upgrade(false, "/ws");
        assertTrue(head.startsWith("HTTP/1.1 101 "), head);
        return c;
    }

    private String upgrade(boolean read, String path, String... extraHeaders) throws IOException {
        sendRaw(upgradeRequest(path, extraHeaders).getBytes(StandardCharsets.US_ASCII));
        String head = readHead();
        if (read && head.startsWith("HTTP/1.1 101 ")) {
            assertTrue(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), head);
            startReader();
        }
        return head;
    }

    /** Reads an HTTP response head (up to the empty line), byte by byte. */
    String readHead() throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("end of stream in a response head: " + head);
            }
            head.write(b);
            matched = b == end[matched] ? matched + 1 : b == '\r' ? 1 : 0;
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    /** Reads the rest of the stream (a response body before the server closes). */
    String readToEnd() throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    void startReader() {
        reader = new Thread(this::readLoop, "ws-test-reader");
        reader.setDaemon(true);
        reader.start();
    }

    private void readLoop() {
        DataInputStream data = new DataInputStream(in);
        try {
            while (true) {
                int b0 = data.readUnsignedByte();
                int b1 = data.readUnsignedByte();
                if ((b0 & 0x80) == 0 || (b1 & 0x80) != 0) {
                    fail("server frames are final and unmasked: " + b0 + " " + b1);
                }
                long len = b1 & 0x7F;
                if (len == 126) {
                    len = data.readUnsignedShort();
                } else if (len == 127) {
                    len = data.readLong();
                }
                byte[] payload = new byte[(int) len];
                data.readFully(payload);
                events.add(new Event(b0 & 0x0F, payload));
            }
        } catch (IOException e) {
            events.add(new Event(Event.EOF, new byte[0]));
        }
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    void sendText(String text) throws IOException {
        sendRaw(new ClientFrames().text(text).build());
    }

    /** @return the next event, failing after {@link #WAIT} */
    Event next() throws InterruptedException {
        Event e = events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        if (e == null) {
            fail("no frame within " + WAIT);
        }
        return e;
    }

    /** @return the next event, or null within the time */
    Event poll(Duration within) throws InterruptedException {
        return events.poll(within.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Skips events until a text message matches; fails on close, end of stream or timeout. */
    String expectText(Predicate<String> p) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            Event e = events.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (e == null) {
                break;
            }
            if (e.opcode() == WebSocketDecoder.OP_TEXT && p.test(e.text())) {
                return e.text();
            }
            if (e.opcode() == Event.EOF || e.opcode() == WebSocketDecoder.OP_CLOSE) {
                fail("connection ended (" + e + "); seen: " + seen);
            }
            seen.add(e.toString());
        }
        return fail("no matching message within " + WAIT + "; seen: " + seen);
    }

    String expectText(String exact) throws InterruptedException {
        return expectText(exact::equals);
    }

    /**
     * Skips text messages until a close frame, asserts its code, then expects end of stream.
     *
     * @return the texts received before the close frame
     */
    List<String> expectClose(int code) throws InterruptedException {
        List<String> texts = new ArrayList<>();
        while (true) {
            Event e = next();
            if (e.opcode() == WebSocketDecoder.OP_TEXT) {
                texts.add(e.text());
                continue;
            }
            assertEquals(WebSocketDecoder.OP_CLOSE, e.opcode(), "expected a close frame: " + e
                    + " after " + texts);
            assertEquals(code, e.closeCode(), "close code, reason: "
                    + (e.payload().length > 2 ? new String(e.payload(), 2, e.payload().length - 2,
                    StandardCharsets.UTF_8) : ""));
            assertEquals(Event.EOF, next().opcode(), "end of stream after the close frame");
            return texts;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
