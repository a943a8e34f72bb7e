package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** TLS end to end: openssl, the JDK's SSLSocket and our own client against a TLS server. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsServerTest {
    @TempDir
    static Path dir;
    private static TestCerts certs;

    private final List<AutoCloseable> closeLater = new ArrayList<>();
    private TcpChatServer server;

    @BeforeAll
    static void makeCertificates() throws Exception {
        certs = TestCerts.make(dir, "server", false);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeLater) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        if (server != null) {
            server.stop();
        }
    }

    private TcpChatServer start(UnaryOperator<TcpServerOptions> tweak) throws IOException {
        server = TestServers.start(tweak.apply(TcpServerOptions.defaults().withPort(0)
                .withTls(PemTls.serverContext(certs.cert(), certs.key()))));
        return server;
    }

    private InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", server.port());
    }

    /** The JDK's blocking SSLSocket, trusting the test certificate and checking the name. */
    private LineClient sslSocket(String... protocols) throws IOException {
        SSLContext ctx = PemTls.clientContext(certs.cert());
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", server.port());
        SSLParameters p = s.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        if (protocols.length > 0) {
            p.setProtocols(protocols);
        }
        s.setSSLParameters(p);
        s.startHandshake();
        LineClient c = new LineClient(s);
        closeLater.add(c);
        return c;
    }

    /** Our own client over TLS; its lines go to {@code lines}. */
    private TcpChatClient ours(BlockingQueue<String> lines) throws IOException {
        TcpChatClient c = TcpChatClient.connect(address(),
                TcpChatClient.Listener.ofStrings(lines::add),
                new ClientTls(PemTls.clientContext(certs.cert()), true));
        closeLater.add(c);
        return c;
    }

    private static String expect(BlockingQueue<String> lines, Predicate<String> p)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
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
        return fail("no matching line within 10 s; seen: " + seen);
    }

    /** Starts a process whose stdout lines go to {@code lines}; stderr goes to a file. */
    private Process process(BlockingQueue<String> lines, String... cmd) throws IOException {
        Path err = Files.createTempFile(dir, "stderr", ".txt");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        closeLater.add(p::destroyForcibly);
        Thread t = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = in.readLine()) != null) {
                    lines.add(l);
                }
            } catch (IOException ignored) {
                // process ended
            }
        }, "process-stdout");
        t.setDaemon(true);
        t.start();
        return p;
    }

    @Test
    void shouldLetOpensslSClientAndOurTlsClientChatInOneRoom() throws Exception {
        start(o -> o);
        BlockingQueue<String> mine = new LinkedBlockingQueue<>();
        TcpChatClient java = ours(mine);
        expect(mine, l -> l.startsWith("* welcome "));
        java.send("/nick java");
        expect(mine, l -> l.contains("now known as java") || l.contains("you are now"));

        BlockingQueue<String> theirs = new LinkedBlockingQueue<>();
        Process openssl = process(theirs, "openssl", "s_client", "-connect",
                "127.0.0.1:" + server.port(), "-quiet", "-CAfile", certs.cert().toString(),
                "-verify_return_error", "-verify_ip", "127.0.0.1");
        expect(theirs, l -> l.startsWith("* welcome "));
        OutputStream stdin = openssl.getOutputStream();
        stdin.write("/nick ossl\nhello from openssl\n".getBytes(StandardCharsets.UTF_8));
        stdin.flush();
        expect(mine, "<ossl> hello from openssl"::equals);

        java.send("hi from java");
        expect(theirs, "<java> hi from java"::equals);

        stdin.write("/quit\n".getBytes(StandardCharsets.UTF_8));
        stdin.flush();
        expect(theirs, "* bye"::equals);
        expect(mine, "* ossl left (quit)"::equals);
        assertTrue(openssl.waitFor(10, TimeUnit.SECONDS), "s_client ends when the server closes");
    }

    @Test
    void shouldRefuseTls11AndServeTls12() throws Exception {
        start(o -> o);
        Process old = new ProcessBuilder("openssl", "s_client", "-connect",
                "127.0.0.1:" + server.port(), "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
                        new java.io.File("/dev/null"))).start();
        closeLater.add(old::destroyForcibly);
        String output = new String(old.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(old.waitFor(10, TimeUnit.SECONDS));
        assertNotEquals(0, old.exitValue(), output);
        // The server refuses the TLS 1.1 ClientHello (and closes): no cipher was agreed.
        assertTrue(output.contains("Cipher is (NONE)"), output);

        LineClient tls12 = sslSocket("TLSv1.2");
        tls12.expect(l -> l.startsWith("* welcome "));
        assertEquals("TLSv1.2", ((SSLSocket) tls12.socket).getSession().getProtocol());
        LineClient tls13 = sslSocket();
        tls13.expect(l -> l.startsWith("* welcome "));
        assertEquals("TLSv1.3", ((SSLSocket) tls13.socket).getSession().getProtocol());
        tls13.send("both here");
        tls12.expectLine("<" + "127.0.0.1:" + tls13.socket.getLocalPort() + "> both here");
    }

    @Test
    void shouldSurviveATls12Renegotiation() throws Exception {
        start(o -> o);
        LineClient member = sslSocket();
        member.expect(l -> l.startsWith("* welcome "));
        BlockingQueue<String> theirs = new LinkedBlockingQueue<>();
        // Interactive s_client (no -quiet): a line "R" asks for a renegotiation, and a line
        // follows at once. The server refuses client-initiated renegotiation (docs/SECURITY.md,
        // section 8): that client is closed, and the loop and everyone else go on.
        Process openssl = process(theirs, "openssl", "s_client", "-connect",
                "127.0.0.1:" + server.port(), "-tls1_2", "-CAfile", certs.cert().toString());
        expect(theirs, l -> l.startsWith("* welcome "));
        OutputStream stdin = openssl.getOutputStream();
        stdin.write("R\nafter renegotiation\n".getBytes(StandardCharsets.UTF_8));
        stdin.flush();
        for (int i = 0; i < 3; i++) {
            member.send("still here " + i);
            String name = "127.0.0.1:" + member.socket.getLocalPort();
            member.expect(("<" + name + "> still here " + i)::equals);
        }
        assertTrue(openssl.waitFor(10, TimeUnit.SECONDS), "the renegotiating client is closed");
        TcpChatServerTest.await("only the member is left", () -> server.connectionCount() == 1);
        LineClient late = sslSocket();
        late.expect(l -> l.startsWith("* welcome "));
        member.send("still here");
        member.expect(l -> l.endsWith("> still here"));
    }

    @Test
    void shouldCloseAPlaintextClientAndGarbageCleanlyAndKeepServing() throws Exception {
        start(o -> o);
        LineClient member = sslSocket();
        member.expect(l -> l.startsWith("* welcome "));

        LineClient plain = new LineClient(server.port());
        closeLater.add(plain);
        plain.send("hello, is this chat?");
        assertEquals(List.of(), plain.awaitEof(), "nothing in clear text, then closed");

        byte[] garbage = new byte[8192];
        new Random(11).nextBytes(garbage);
        garbage[0] = 0x16; // a handshake record header with nonsense after it
        garbage[1] = 0x03;
        garbage[2] = 0x03;
        LineClient noise = new LineClient(server.port());
        closeLater.add(noise);
        noise.sendRaw(garbage);
        assertEquals(List.of(), noise.awaitEof());

        TcpChatServerTest.await("only the TLS member left", () -> server.connectionCount() == 1);
        member.send("still here");
        member.expect(l -> l.endsWith("> still here"));
        assertTrue(member.drain().stream().noneMatch(l -> l.contains("joined")),
                "clients that never finished a handshake never joined the lobby");
    }

    @Test
    void shouldCloseAClientThatDoesNotFinishTheHandshakeInTime() throws Exception {
        start(o -> o.withHandshakeTimeout(Duration.ofMillis(300)));
        List<Socket> silent = new ArrayList<>();
        long started = System.nanoTime();
        for (int i = 0; i < 2; i++) {
            Socket s = new Socket("127.0.0.1", server.port());
            closeLater.add(s);
            s.setSoTimeout(10_000);
            silent.add(s);
        }
        // The second one starts a record and never finishes it.
        silent.get(1).getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01});
        TcpChatServerTest.await("both connected", () -> server.connectionCount() == 2);
        for (Socket s : silent) {
            InputStream in = s.getInputStream();
            assertEquals(-1, in.read(), "closed, without a TLS alert either");
        }
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(waited >= 250, "closed only after the timeout: " + waited + " ms");
        TcpChatServerTest.await("released", () -> server.connectionCount() == 0);

        LineClient late = sslSocket();
        late.expect(l -> l.startsWith("* welcome "));
    }

    @Test
    void shouldDropASlowTlsReaderWhileAnotherGetsEveryLineInOrder() throws Exception {
        start(o -> o.withMaxPendingBytes(256 * 1024).withSlowConsumerTimeout(Duration.ofSeconds(1)));
        int messages = 60_000; // more than loopback socket buffers hold
        String pad = "t".repeat(80);
        List<String> drops = new CopyOnWriteArrayList<>();
        AtomicInteger next = new AtomicInteger();
        AtomicInteger outOfOrder = new AtomicInteger();
        TcpChatClient reader = TcpChatClient.connect(address(), TcpChatClient.Listener.ofStrings(l -> {
            if (l.startsWith("<pub> ")) {
                int n = Integer.parseInt(l.substring(6, l.indexOf(' ', 6)));
                if (n != next.get()) {
                    outOfOrder.incrementAndGet();
                }
                next.set(n + 1);
            } else if (l.endsWith("left (too slow)")) {
                drops.add(l);
            }
        }), new ClientTls(PemTls.clientContext(certs.cert()), true));
        closeLater.add(reader);

        SSLSocket stalled = (SSLSocket) PemTls.clientContext(certs.cert()).getSocketFactory()
                .createSocket();
        closeLater.add(stalled);
        stalled.setReceiveBufferSize(4096);
        stalled.connect(address());
        stalled.startHandshake(); // then never reads
        String stalledName = "127.0.0.1:" + stalled.getLocalPort();

        BlockingQueue<String> pubLines = new LinkedBlockingQueue<>();
        TcpChatClient publisher = ours(pubLines);
        TcpChatServerTest.await("all three in the lobby", () -> server.connectionCount() == 3);
        publisher.send("/nick pub");
        StringBuilder batch = new StringBuilder();
        for (int i = 0; i < messages; i++) {
            batch.append(i).append(' ').append(pad).append('\n');
            if (batch.length() > 32 * 1024) {
                publisher.sendRaw(batch.toString().getBytes(StandardCharsets.UTF_8));
                batch.setLength(0);
            }
        }
        publisher.sendRaw(batch.toString().getBytes(StandardCharsets.UTF_8));

        TcpChatServerTest.await("the reader has every line", () -> next.get() == messages);
        assertEquals(0, outOfOrder.get(), "in order");
        TcpChatServerTest.await("the stalled reader dropped", () -> !drops.isEmpty());
        assertEquals(List.of("* " + stalledName + " left (too slow)"), drops);
        assertEquals(2, server.connectionCount());
    }

    @Test
    void shouldSendTheShutdownNoticeOverTls() throws Exception {
        start(o -> o);
        LineClient jdk = sslSocket();
        jdk.expect(l -> l.startsWith("* welcome "));
        BlockingQueue<String> mine = new LinkedBlockingQueue<>();
        TcpChatClient java = ours(mine);
        expect(mine, l -> l.startsWith("* welcome "));

        server.stop();
        assertTrue(jdk.awaitEof().contains("* server shutting down"));
        expect(mine, "* server shutting down"::equals);
        java.closed().get(10, TimeUnit.SECONDS);
    }

    @Test
    void shouldCheckTheServerCertificateAndItsName() throws Exception {
        TestCerts other = TestCerts.make(dir, "other", true);
        // A certificate for localhost and 127.0.0.1 that the client does not trust.
        start(o -> o);
        ClientTls trustsOther = new ClientTls(PemTls.clientContext(other.cert()), true);
        assertThrows(SSLHandshakeException.class, () -> TcpChatClient.connect(address(),
                TcpChatClient.Listener.ofStrings(l -> { }), trustsOther));

        // A trusted certificate that names another host.
        Path cert = dir.resolve("elsewhere-cert.pem");
        Path key = dir.resolve("elsewhere-key.pem");
        TestCerts.run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.toString(), "-out",
                cert.toString(), "-days", "2", "-subj", "/CN=elsewhere.example",
                "-addext", "subjectAltName=DNS:elsewhere.example"));
        server.stop();
        server = TestServers.start(TcpServerOptions.defaults().withPort(0)
                .withTls(PemTls.serverContext(cert, key)));
        SSLContext trusting = PemTls.clientContext(cert);
        assertThrows(SSLHandshakeException.class, () -> TcpChatClient.connect(address(),
                TcpChatClient.Listener.ofStrings(l -> { }), new ClientTls(trusting, true)));
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        TcpChatClient unchecked = TcpChatClient.connect(address(),
                TcpChatClient.Listener.ofStrings(lines::add), new ClientTls(trusting, false));
        closeLater.add(unchecked);
        expect(lines, l -> l.startsWith("* welcome "));
        assertFalse(server.connectionCount() == 0);
    }
}
