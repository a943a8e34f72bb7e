package org.chatloop.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * The steps that both ends of a stream connection take alike, the server's {@link Connection}
 * and the client's {@code TcpChatClient.Handler}: advancing the transport's handshake, reading
 * into a buffer (end of stream and a write the transport owes included), writing pending output
 * through the transport, setting the key's interest, and releasing the key, the socket and the
 * pending slabs. What differs stays with each end: the server's bounds, timers, flood control,
 * congestion and close path; the client's futures and listener.
 *
 * <p>Stateless: each end keeps its own fields and passes them in, so a server connection holds no
 * object more for it (an idle connection's size counts), and the steps are static calls the JIT
 * inlines into the end's own loop. The transport is null for a plain server connection, which
 * holds none: its socket is the key's channel.
 *
 * <p>Not thread safe: called on the loop thread that owns the connection.
 */
final class StreamIo {
    /** Reads per readiness event at most, before the loop's other channels get their turn. */
    static final int READS_PER_EVENT = 16;

    /** An end of a stream connection, as {@link #read} calls it back on the rare exits. */
    interface End extends LineDecoder.Sink {
        /** The peer ended the stream; the decoder has reported what it held. Close. */
        void endOfStream();

        /** Writes pending output, with what the transport owes (see {@link #read}). */
        void flush();
    }

    private StreamIo() {
    }

    /**
     * Advances the transport's opening handshake; while it is not done, the key waits for what it
     * needs next.
     *
     * @return whether the handshake is done
     * @throws IOException if the handshake failed
     */
    static boolean handshake(Transport transport, SelectionKey key) throws IOException {
        int waitFor = transport.handshake();
        if (waitFor != 0) {
            key.interestOps(waitFor);
            return false;
        }
        return true;
    }

    /**
     * Reads once into {@code buf} (cleared first). At end of stream the decoder reports what it
     * holds to {@code end}, then {@link End#endOfStream()} is called; when nothing came and the
     * transport owes the peer a write (TLS: a handshake message, such as a key update's answer),
     * {@link End#flush()} is.
     *
     * @param transport the stream, or null for the key's socket itself
     * @return the bytes read, from the start of {@code buf}'s array; 0 when nothing more is to be
     *         read now (also once the stream ended)
     */
    static int read(Transport transport, SelectionKey key, ByteBuffer buf, StreamDecoder decoder,
                    End end) throws IOException {
        buf.clear();
        int n = transport != null ? transport.read(buf) : ((SocketChannel) key.channel()).read(buf);
        if (n < 0) {
            decoder.finish(end);
            end.endOfStream();
            return 0;
        }
        if (n == 0 && transport != null && transport.owesWrite()) {
            end.flush();
        }
        return n;
    }

    /**
     * Writes pending output: at most {@code maxWrites} writes of about {@code budget} bytes each
     * (one gathering write for several ranges), fewer once the channel takes nothing; then, once
     * nothing is pending, what the transport holds itself (a TLS record not fully sent).
     *
     * @param channel where output goes: the transport, or the socket when there is none
     * @param transport the transport, or null
     * @param scratch where buffers are gathered; its length bounds buffers per write
     * @return whether everything is written, the transport's own buffer included
     */
    static boolean write(OutboundQueue out, GatheringByteChannel channel, Transport transport,
                         ByteBuffer[] scratch, long budget, int maxWrites) throws IOException {
        for (int i = 0; i < maxWrites && !out.isEmpty(); i++) {
            if (out.writeTo(channel, scratch, budget) == 0) {
                break;
            }
        }
        return out.isEmpty() && (transport == null || transport.drain());
    }

    /** Sets what the key waits for; nothing once it has been cancelled. */
    static void interest(SelectionKey key, boolean read, boolean write) {
        if (key.isValid()) {
            key.interestOps((read ? SelectionKey.OP_READ : 0)
                    | (write ? SelectionKey.OP_WRITE : 0));
        }
    }

    /**
     * Releases what an end holds: cancels the key, closes the stream (over TLS, with close_notify
     * if the socket takes it at once; the socket with it) and drops pending output, returning its
     * slabs to the pool.
     *
     * @param key the key, or null if the socket was never registered
     * @param stream the transport, or the socket when there is none; null if neither was opened
     * @return what closing threw, or null
     */
    static IOException release(SelectionKey key, Channel stream, OutboundQueue out) {
        if (key != null) {
            key.cancel();
        }
        IOException failure = null;
        try {
            if (stream != null) {
                stream.close();
            }
        } catch (IOException e) {
            failure = e;
        }
        out.clear();
        return failure;
    }
}
