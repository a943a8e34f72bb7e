package org.chatloop.tcp;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Builds {@link SSLContext}s from PEM files with the JDK alone: a certificate chain (leaf first,
 * {@code -----BEGIN CERTIFICATE-----} blocks) and an unencrypted PKCS#8 private key
 * ({@code -----BEGIN PRIVATE KEY-----}, RSA or EC), as
 * {@code openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem} makes them.
 *
 * <pre>{@code
 * TcpServerOptions options = TcpServerOptions.defaults()
 *         .withTls(PemTls.serverContext(Path.of("cert.pem"), Path.of("key.pem")));
 * ClientTls tls = new ClientTls(PemTls.clientContext(Path.of("cert.pem")), true);
 * }</pre>
 *
 * <p>Every failure is an {@link IOException} whose message names the file and the problem (no
 * such file, no certificate in it, a key that is not PKCS#8, a key that does not match the
 * certificate), fit to show a user as it is.
 */
public final class PemTls {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");

    private PemTls() {
    }

    /**
     * A server context: presents {@code certificateChain} and proves it owns it with
     * {@code privateKey}.
     *
     * @param certificateChain PEM certificates, the server's own first
     * @param privateKey the PEM PKCS#8 private key of the first certificate
     * @return the context
     * @throws IOException if a file cannot be read, holds no usable PEM, or the key does not match
     */
    public static SSLContext serverContext(Path certificateChain, Path privateKey)
            throws IOException {
        List<X509Certificate> chain = certificates(certificateChain);
        PrivateKey key = privateKey(privateKey);
        requireMatch(chain.get(0), certificateChain, key, privateKey);
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("server", key, new char[0], chain.toArray(new Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(
                    KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, new char[0]);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException(certificateChain + ", " + privateKey + ": cannot be used for TLS: "
                    + e.getMessage(), e);
        }
    }

    /**
     * A client context that trusts only the certificates in {@code caCertificates} (a CA, or a
     * server's self-signed certificate).
     *
     * @param caCertificates PEM certificates to trust
     * @return the context
     * @throws IOException if the file cannot be read or holds no certificate
     */
    public static SSLContext clientContext(Path caCertificates) throws IOException {
        List<X509Certificate> trusted = certificates(caCertificates);
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < trusted.size(); i++) {
                store.setCertificateEntry("ca" + i, trusted.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(
                    TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException(caCertificates + ": cannot be used as trusted certificates: "
                    + e.getMessage(), e);
        }
    }

    /**
     * A client context that trusts any server certificate: encryption without authentication,
     * for tests and {@code --insecure} only (anyone in the path can pose as the server).
     *
     * @return the context
     */
    public static SSLContext insecureClientContext() {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {new TrustAll()}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no TLS", e);
        }
    }

    private static List<X509Certificate> certificates(Path file) throws IOException {
        byte[] bytes = read(file);
        if (!new String(bytes, StandardCharsets.US_ASCII).contains("-----BEGIN CERTIFICATE-----")) {
            throw new IOException(file + ": no PEM certificate in it "
                    + "(expected -----BEGIN CERTIFICATE-----)");
        }
        List<X509Certificate> chain = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (Certificate c : cf.generateCertificates(new ByteArrayInputStream(bytes))) {
                chain.add((X509Certificate) c);
            }
        } catch (CertificateException e) {
            throw new IOException(file + ": not a valid PEM certificate (" + e.getMessage() + ")",
                    e);
        }
        if (chain.isEmpty()) {
            throw new IOException(file + ": no PEM certificate in it "
                    + "(expected -----BEGIN CERTIFICATE-----)");
        }
        return chain;
    }

    private static PrivateKey privateKey(Path file) throws IOException {
        String text = new String(read(file), StandardCharsets.US_ASCII);
        Matcher m = BLOCK.matcher(text);
        List<String> seen = new ArrayList<>();
        while (m.find()) {
            String type = m.group(1);
            if (type.equals("PRIVATE KEY")) {
                return pkcs8(file, m.group(2));
            }
            seen.add(type);
        }
        if (seen.contains("ENCRYPTED PRIVATE KEY")) {
            throw new IOException(file + ": the private key is encrypted; decrypt it with "
                    + "openssl pkcs8 -in " + file + " -out plain-key.pem");
        }
        if (seen.contains("RSA PRIVATE KEY") || seen.contains("EC PRIVATE KEY")) {
            throw new IOException(file + ": not a PKCS#8 private key (found a "
                    + seen.get(0) + "); convert it with openssl pkcs8 -topk8 -nocrypt -in "
                    + file + " -out key8.pem");
        }
        throw new IOException(file + ": no PEM private key in it (expected -----BEGIN PRIVATE "
                + "KEY-----" + (seen.isEmpty() ? "" : ", found " + String.join(", ", seen)) + ")");
    }

    private static PrivateKey pkcs8(Path file, String base64) throws IOException {
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": the private key is not valid base64", e);
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String algorithm : new String[] {"RSA", "EC"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (InvalidKeySpecException e) {
                // not this algorithm: try the next
            } catch (GeneralSecurityException e) {
                throw new IOException(file + ": " + e.getMessage(), e);
            }
        }
        throw new IOException(file + ": not an RSA or EC PKCS#8 private key");
    }

    private static void requireMatch(X509Certificate leaf, Path certFile, PrivateKey key,
                                     Path keyFile) throws IOException {
        PublicKey pub = leaf.getPublicKey();
        String mismatch = keyFile + ": the private key does not match the certificate in "
                + certFile;
        if (!pub.getAlgorithm().equals(key.getAlgorithm())) {
            throw new IOException(mismatch + " (a " + key.getAlgorithm() + " key for a "
                    + pub.getAlgorithm() + " certificate)");
        }
        try {
            String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
            byte[] probe = new byte[32];
            new SecureRandom().nextBytes(probe);
            Signature signer = Signature.getInstance(alg);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(alg);
            verifier.initVerify(pub);
            verifier.update(probe);
            if (!verifier.verify(signature)) {
                throw new IOException(mismatch);
            }
        } catch (GeneralSecurityException e) {
            throw new IOException(mismatch + " (" + e.getMessage() + ")", e);
        }
    }

    private static byte[] read(Path file) throws IOException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file", e);
        } catch (IOException e) {
            throw new IOException(file + ": cannot be read (" + e.getMessage() + ")", e);
        }
    }

    /** Trusts every certificate: {@code --insecure}. */
    private static final class TrustAll extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType,
                                       SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType,
                                       SSLEngine engine) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
