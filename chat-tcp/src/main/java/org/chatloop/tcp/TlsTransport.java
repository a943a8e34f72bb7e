package org.chatloop.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import tlschannel.BufferAllocator;
import tlschannel.ClientTlsChannel;
import tlschannel.NeedsReadException;
import tlschannel.NeedsWriteException;
import tlschannel.ServerTlsChannel;
import tlschannel.TlsChannel;

/**
 * TLS over a non-blocking socket, as a {@link Transport}: tls-channel's {@link TlsChannel} runs
 * the {@code SSLEngine} state machine (handshake, wrap, unwrap, close_notify) and its
 * {@link NeedsReadException}/{@link NeedsWriteException} become the plain non-blocking results
 * (0 bytes, or fewer bytes taken than offered) plus {@link #owesWrite()}. Everything runs on the
 * caller's thread, the loop thread, delegated handshake tasks included.
 *
 * <p>Only TLS 1.3 and 1.2 are enabled, with the JDK's default cipher suites. A TLS 1.2
 * renegotiation that the engine completes within one read goes through; one still in progress
 * when a read needs more input, or when a write begins, fails the connection, since a
 * non-blocking {@code SSLEngine} cannot wrap application data in the middle of it.
 *
 * <p>Writes: a gathering {@link #write(ByteBuffer[], int, int)} becomes as few records as the
 * engine allows, each taking up to 16 KiB of plaintext from as many buffers as it needs (the JDK
 * engine gathers sources into one record), and each record goes to the socket in one write.
 * Bytes the engine has taken are reported as written even if their record is still buffered
 * here; {@link #drain()} sends it.
 *
 * <p>Not thread safe: owned by the loop thread.
 */
final class TlsTransport implements Transport {
    private static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
    /** The JDK's switch that makes a server engine refuse a TLS 1.2 client's renegotiation. */
    static final String REJECT_RENEGOTIATION = "jdk.tls.rejectClientInitiatedRenegotiation";

    static {
        // A renegotiation half done on a non-blocking engine can stall a connection (see
        // docs/SECURITY.md, section 8); no chat client needs one. SunJSSE reads the switch once,
        // at its first server handshake in this JVM, so it is set here, before any of ours, unless
        // the application has chosen already.
        if (System.getProperty(REJECT_RENEGOTIATION) == null) {
            System.setProperty(REJECT_RENEGOTIATION, "true");
        }
    }

    private final TlsChannel tls;
    /** Known once the handshake is done (a server picks its engine after reading the hello). */
    private SSLEngine engine;
    private boolean handshaken;
    private boolean renegotiable;
    private boolean owesWrite;

    private TlsTransport(TlsChannel tls) {
        this.tls = tls;
    }

    /**
     * @param buffers where the channel's buffers come from (a loop-confined pool)
     * @return the server end of TLS over {@code raw}
     */
    static TlsTransport server(ByteChannel raw, SSLContext context, BufferAllocator buffers) {
        return new TlsTransport(ServerTlsChannel.newBuilder(raw, context)
                .withEngineFactory(TlsTransport::serverEngine)
                .withPlainBufferAllocator(buffers)
                .withEncryptedBufferAllocator(buffers)
                .build());
    }

    /**
     * @param host the server's name as the user gave it (checked against the certificate when
     *             {@code verifyHostName}, and sent as SNI when it is a name)
     * @return the client end of TLS over {@code raw}
     */
    static TlsTransport client(SocketChannel raw, SSLContext context, String host, int port,
                               boolean verifyHostName) {
        SSLEngine engine = context.createSSLEngine(host, port);
        engine.setUseClientMode(true);
        restrictProtocols(engine);
        if (verifyHostName) {
            SSLParameters p = engine.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            engine.setSSLParameters(p);
        }
        return new TlsTransport(ClientTlsChannel.newBuilder(raw, engine).build());
    }

    private static SSLEngine serverEngine(SSLContext context) {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        restrictProtocols(engine);
        return engine;
    }

    private static void restrictProtocols(SSLEngine engine) {
        List<String> enabled = new ArrayList<>();
        for (String p : engine.getSupportedProtocols()) {
            if (PROTOCOLS.contains(p)) {
                enabled.add(p);
            }
        }
        engine.setEnabledProtocols(enabled.toArray(new String[0]));
    }

    @Override
    public boolean handshaking() {
        return !handshaken;
    }

    @Override
    public int handshake() throws IOException {
        if (handshaken) {
            return 0;
        }
        try {
            tls.handshake();
        } catch (NeedsReadException e) {
            return SelectionKey.OP_READ;
        } catch (NeedsWriteException e) {
            return SelectionKey.OP_WRITE;
        }
        handshaken = true;
        engine = tls.getSslEngine();
        renegotiable = !"TLSv1.3".equals(engine.getSession().getProtocol());
        return 0;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        try {
            return tls.read(dst);
        } catch (NeedsReadException e) {
            refuseRenegotiation();
            return 0;
        } catch (NeedsWriteException e) {
            refuseRenegotiation();
            owesWrite = true;
            return 0;
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return (int) write(new ByteBuffer[] {src}, 0, 1);
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        refuseRenegotiation();
        long before = remaining(srcs, offset, length);
        try {
            tls.write(srcs, offset, length);
            owesWrite = false;
        } catch (NeedsWriteException e) {
            owesWrite = true; // a record is buffered; what the engine took counts as written
        } catch (NeedsReadException e) {
            refuseRenegotiation();
        }
        return before - remaining(srcs, offset, length);
    }

    private static long remaining(ByteBuffer[] srcs, int offset, int length) {
        long n = 0;
        for (int i = offset; i < offset + length; i++) {
            n += srcs[i].remaining();
        }
        return n;
    }

    @Override
    public boolean drain() throws IOException {
        if (owesWrite) {
            write(EMPTY);
        }
        return !owesWrite;
    }

    @Override
    public boolean owesWrite() {
        return owesWrite;
    }

    @Override
    public boolean buffersInput() {
        return handshaken;
    }

    /** A TLS 1.2 renegotiation left half done is refused: the engine cannot wrap data then. */
    private void refuseRenegotiation() throws SSLException {
        if (renegotiable && engine.getHandshakeStatus() != HandshakeStatus.NOT_HANDSHAKING) {
            throw new SSLException("TLS renegotiation is not supported");
        }
    }

    @Override
    public boolean isOpen() {
        return tls.isOpen();
    }

    /**
     * After a handshake, sends close_notify if the socket takes it at once; closes the socket.
     */
    @Override
    public void close() throws IOException {
        if (handshaken) {
            tls.close();
        } else {
            tls.getUnderlying().close();
        }
    }

    @Override
    public String toString() {
        return handshaken ? "tls " + engine.getSession().getProtocol() + " "
                + engine.getSession().getCipherSuite() : "tls handshaking";
    }
}
