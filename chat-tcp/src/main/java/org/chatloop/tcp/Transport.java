package org.chatloop.tcp;

import java.io.IOException;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;

/**
 * The byte stream under a connection: plain TCP ({@link PlainTransport}) or TLS
 * ({@link TlsTransport}). Reads and writes carry plaintext and never block: {@code read} returns 0
 * and {@code write} returns fewer bytes than offered when the socket (or the TLS state machine)
 * cannot go on now, and the caller waits for the selector as for a plain socket.
 *
 * <p>Not thread safe: owned by the loop thread of its connection.
 */
interface Transport extends ByteChannel, GatheringByteChannel {
    /** @return whether the opening handshake (TLS) has yet to finish */
    default boolean handshaking() {
        return false;
    }

    /**
     * Advances the opening handshake, if the transport has one.
     *
     * @return 0 once the handshake is done, else the interest op ({@code OP_READ} or
     *         {@code OP_WRITE}) to wait for before calling again
     * @throws IOException if the handshake failed (garbage, protocol refused, bad certificate)
     */
    default int handshake() throws IOException {
        return 0;
    }

    /**
     * Writes what the transport buffers itself (for TLS, a record not yet fully sent).
     *
     * @return whether nothing is left buffered
     */
    default boolean drain() throws IOException {
        return true;
    }

    /**
     * @return whether the last read or write left output buffered in the transport, which
     *         {@link #drain()} must send (for example a TLS handshake or key-update reply)
     */
    default boolean owesWrite() {
        return false;
    }

    /**
     * @return whether input may be buffered inside the transport, where the selector cannot see
     *         it (TLS decrypts one record per read): a reader that stops before a read returned 0
     *         must come back without waiting for the socket to become readable
     */
    default boolean buffersInput() {
        return false;
    }
}
