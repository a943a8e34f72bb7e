package org.chatloop.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.chatloop.tcp.PemTls;

/**
 * A throw-away self-signed EC P-256 certificate for the TLS benchmarks, made with
 * {@code openssl req -x509} (as the README's how-to does) and loaded with {@link PemTls}; clients
 * trust it without checks ({@link PemTls#insecureClientContext()}), which skips no cryptography
 * of the handshake itself.
 */
public final class BenchTls {
    private BenchTls() {
    }

    /**
     * @return a server context holding a fresh certificate and key
     * @throws IOException if openssl is missing or fails
     */
    public static SSLContext serverContext() throws IOException {
        Path dir = Files.createTempDirectory("chatloop-bench-tls");
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        try {
            Process p = new ProcessBuilder(List.of("openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.toString(),
                    "-out", cert.toString(), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"))
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("openssl req failed: " + out);
            }
            return PemTls.serverContext(cert, key);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            Files.deleteIfExists(cert);
            Files.deleteIfExists(key);
            Files.deleteIfExists(dir);
        }
    }
}
