package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A self-signed certificate and its PKCS#8 key, made by {@code openssl req -x509} for a test
 * (names {@code localhost} and {@code 127.0.0.1}). Tests that need one are skipped, with the
 * reason, where openssl is not installed.
 */
record TestCerts(Path cert, Path key) {

    /** Makes {@code NAME-cert.pem} and {@code NAME-key.pem} in {@code dir}: EC P-256 or RSA 2048. */
    static TestCerts make(Path dir, String name, boolean rsa) throws IOException,
            InterruptedException {
        Assumptions.assumeTrue(opensslPresent(), "openssl is not installed: TLS tests need it");
        Path cert = dir.resolve(name + "-cert.pem");
        Path key = dir.resolve(name + "-key.pem");
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl", "req", "-x509"));
        if (rsa) {
            cmd.addAll(List.of("-newkey", "rsa:2048"));
        } else {
            cmd.addAll(List.of("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"));
        }
        cmd.addAll(List.of("-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"));
        run(cmd);
        return new TestCerts(cert, key);
    }

    static boolean opensslPresent() {
        try {
            Process p = new ProcessBuilder("openssl", "version")
                    .redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Runs a command to completion (at most 30 s) and fails with its output if it fails. */
    static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + output);
        return output;
    }
}
