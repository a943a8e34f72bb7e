package org.chatloop.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
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
 * engine gathers sources into one record). On the server, once the handshake is done, the engine
 * seals up to {@link #RECORDS_PER_WRITE} records straight into one buffer of the loop's
 * ({@link TlsBuffers#sealBuffer}) and they go to the socket in one write, not one write per record
 * (each write on a socket is a syscall and, over loopback, a trip through the receiving stack);
 * what the socket does not take is copied into a buffer of this connection's, at most that many
 * records (one, while the loop's connections hold {@link TlsBuffers#HELD_BUDGET} together), and
 * sent first on the next write or {@link #drain()}. Everything else (the handshake,
 * reads, close_notify, and the client's writes) goes through tls-channel, over a channel that
 * sends those held bytes before anything of tls-channel's, so records leave in the engine's order.
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

    /**
     * Records sealed for one socket write at most (server side): 8 records of up to 16 KiB of
     * plaintext each, what {@link Connection}'s write budget (128 KiB) hands over in one flush.
     */
    static final int RECORDS_PER_WRITE = 8;

    private final TlsChannel tls;
    /** The socket, under {@link #tls} and under the sealed writes. */
    private final ByteChannel raw;
    /** Where the sealing buffer and held output come from; null: every write goes to tls-channel. */
    private final TlsBuffers buffers;
    /** Known once the handshake is done (a server picks its engine after reading the hello). */
    private SSLEngine engine;
    private boolean handshaken;
    private boolean renegotiable;
    /** Whether tls-channel holds a record (or a handshake message) the socket did not take. */
    private boolean tlsOwes;
    /**
     * Sealed records the socket did not take (read mode), sent before anything else; null when
     * none: an up-to-date connection holds no buffer.
     */
    private ByteBuffer held;
    /** The engine's packet buffer size: the room it needs in a buffer to seal a record into. */
    private int packetSize;

    private TlsTransport(ByteChannel raw, TlsBuffers buffers,
                         Function<ByteChannel, TlsChannel> tls) {
        this.raw = raw;
        this.buffers = buffers;
        this.tls = tls.apply(new Ordered());
    }

    /**
     * @param buffers where the channel's buffers come from (a loop-confined pool)
     * @return the server end of TLS over {@code raw}
     */
    static TlsTransport server(ByteChannel raw, SSLContext context, TlsBuffers buffers) {
        return new TlsTransport(raw, buffers, under -> ServerTlsChannel.newBuilder(under, context)
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
        return new TlsTransport(raw, null, under -> ClientTlsChannel.newBuilder(under, engine)
                .build());
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
            tlsOwes = true;
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
        if (buffers == null || !handshaken) {
            writeThroughTlsChannel(srcs, offset, length);
        } else if (sendOwed() && before > 0) {
            seal(srcs, offset, length);
        }
        return before - remaining(srcs, offset, length);
    }

    /**
     * Sends what waits here, in the engine's order: the held sealed records, then the record
     * tls-channel holds (which it sealed after them: see {@link Ordered}).
     *
     * @return whether nothing waits any more
     */
    private boolean sendOwed() throws IOException {
        if (!flushHeld()) {
            return false;
        }
        if (tlsOwes) {
            writeThroughTlsChannel(new ByteBuffer[] {EMPTY}, 0, 1);
        }
        return !tlsOwes;
    }

    private void writeThroughTlsChannel(ByteBuffer[] srcs, int offset, int length)
            throws IOException {
        try {
            tls.write(srcs, offset, length);
            tlsOwes = false;
        } catch (NeedsWriteException e) {
            tlsOwes = true; // a record is buffered; what the engine took counts as written
        } catch (NeedsReadException e) {
            refuseRenegotiation();
        }
    }

    /**
     * Seals records into the loop's sealing buffer, up to {@link #RECORDS_PER_WRITE} (one while
     * the loop holds much: {@link TlsBuffers#recordsPerWrite}), and writes them with one socket
     * write; again while the socket takes everything and plaintext is left. What the socket
     * leaves is copied into {@link #held}.
     */
    private void seal(ByteBuffer[] srcs, int offset, int length) throws IOException {
        if (!tls.isOpen() || engine.isOutboundDone()) {
            throw new ClosedChannelException();
        }
        packetSize = engine.getSession().getPacketBufferSize();
        ByteBuffer out = buffers.sealBuffer(RECORDS_PER_WRITE * packetSize);
        int room = buffers.recordsPerWrite(RECORDS_PER_WRITE) * packetSize;
        out.limit(room);
        try {
            boolean more = true;
            while (more) {
                while (out.remaining() >= packetSize) {
                    SSLEngineResult r = engine.wrap(srcs, offset, length, out);
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new ClosedChannelException();
                    }
                    HandshakeStatus hs = r.getHandshakeStatus();
                    if (r.getStatus() != SSLEngineResult.Status.OK
                            || r.bytesConsumed() == 0 && r.bytesProduced() == 0
                            || hs == HandshakeStatus.NEED_TASK || hs == HandshakeStatus.NEED_UNWRAP) {
                        more = false; // nothing more the engine can do now
                        break;
                    }
                    if (hs != HandshakeStatus.NEED_WRAP && !hasRemaining(srcs, offset, length)) {
                        more = false;
                        break;
                    }
                }
                out.flip();
                if (out.hasRemaining()) {
                    raw.write(out); // a non-blocking socket takes what it has room for
                }
                if (out.hasRemaining()) {
                    held = buffers.allocateHeld(out.remaining(), out.capacity());
                    held.put(out).flip();
                    return;
                }
                out.clear().limit(room);
            }
        } finally {
            out.clear();
        }
    }

    /**
     * Sends {@link #held}, returning its buffer once empty.
     *
     * @return whether nothing is held any more
     */
    private boolean flushHeld() throws IOException {
        if (held == null) {
            return true;
        }
        raw.write(held);
        if (held.hasRemaining()) {
            return false;
        }
        buffers.freeHeld(held);
        held = null;
        return true;
    }

    private static boolean hasRemaining(ByteBuffer[] srcs, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (srcs[i].hasRemaining()) {
                return true;
            }
        }
        return false;
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
        if (owesWrite()) {
            write(EMPTY);
        }
        return !owesWrite();
    }

    @Override
    public boolean owesWrite() {
        return tlsOwes || held != null;
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

    /**
     * The channel tls-channel reads from and writes to: the socket, except that nothing of
     * tls-channel's (a handshake message, a key update's answer, close_notify) is written while
     * sealed records are {@link #held}, which went through the engine before it.
     */
    private final class Ordered implements ByteChannel {
        @Override
        public int read(ByteBuffer dst) throws IOException {
            return raw.read(dst);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return flushHeld() ? raw.write(src) : 0;
        }

        @Override
        public boolean isOpen() {
            return raw.isOpen();
        }

        /** Closes the socket and returns the held buffer (tls-channel closes it twice). */
        @Override
        public void close() throws IOException {
            if (held != null) {
                buffers.freeHeld(held);
                held = null;
            }
            raw.close();
        }
    }

    @Override
    public String toString() {
        return handshaken ? "tls " + engine.getSession().getProtocol() + " "
                + engine.getSession().getCipherSuite() : "tls handshaking";
    }
}
