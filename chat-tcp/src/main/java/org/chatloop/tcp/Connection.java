package org.chatloop.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.chatloop.core.Client;
import org.chatloop.core.ClientOutput;
import org.chatloop.core.Frame;
import org.chatloop.core.LeaveReason;
import org.chatloop.loop.IoHandler;
import org.chatloop.loop.LoopTimer;

/**
 * One accepted TCP client: the selection key's handler, the hub's {@link ClientOutput}, and the
 * line decoder's sink.
 *
 * <p>States: {@code OPEN} (reading and writing) &rarr; {@code CLOSING} (left the hub; no more
 * reads; pending output is flushed for at most the server's flush timeout) &rarr; {@code CLOSED}.
 * Every end &mdash; {@code /quit}, end of stream, reset, I/O error, too slow, server full,
 * shutdown &mdash; goes through {@link #closeGracefully} or {@link #abort}, and both end in
 * {@link #release()}, the one place that cancels the key, closes the socket, returns the buffers
 * and forgets the connection.
 *
 * <p>Over TLS a connection starts out handshaking: it is not in the hub yet (it joins the lobby
 * once the handshake is done), nothing is sent to it, and a handshake that fails, or does not
 * finish within the handshake timeout, ends it through {@link #abort}.
 *
 * <p>Not thread safe: owned by the server's loop thread.
 */
final class Connection implements IoHandler, ClientOutput, LineDecoder.Sink {
    private static final int READS_PER_EVENT = 16;
    private static final int READ_BUDGET_BYTES = 64 * 1024;
    static final long WRITE_BUDGET_BYTES = 128 * 1024;

    private enum State { OPEN, CLOSING, CLOSED }

    private final TcpChatServer server;
    private final Transport channel;
    private final LineDecoder decoder;
    private final OutboundQueue out;
    private SelectionKey key;
    private Client client;
    private State state = State.OPEN;
    private boolean dirty;
    private boolean writeInterest;
    private boolean tooSlow;
    private boolean congested;
    private long congestedSince;
    private boolean readPaused;
    private LoopTimer closeDeadline;
    private Supplier<Client> join;
    private LoopTimer handshakeDeadline;

    Connection(TcpChatServer server, Transport channel) {
        this.server = server;
        this.channel = channel;
        this.decoder = new LineDecoder(server.options().maxLineBytes());
        this.out = new OutboundQueue(server.pool());
    }

    /** Joins the hub through {@code joinHub} now, or once the TLS handshake is done. */
    void start(SelectionKey selectionKey, Supplier<Client> joinHub) {
        this.key = selectionKey;
        if (!channel.handshaking()) {
            this.client = joinHub.get();
            return;
        }
        join = joinHub;
        handshakeDeadline = server.loop().schedule(server.options().handshakeTimeout().toNanos(),
                TimeUnit.NANOSECONDS, () -> {
                    server.log().log(System.Logger.Level.DEBUG, "TLS handshake timed out: {0}", this);
                    abort(LeaveReason.TIMED_OUT);
                });
    }

    /** Advances the TLS handshake; once done, joins the hub and reads what came with it. */
    private void handshake() throws IOException {
        int waitFor = channel.handshake();
        if (waitFor != 0) {
            key.interestOps(waitFor);
            return;
        }
        handshakeDeadline.cancel();
        Supplier<Client> joinHub = join;
        join = null;
        client = joinHub.get();
        updateInterest();
        read();
    }

    Client client() {
        return client;
    }

    boolean isClosed() {
        return state == State.CLOSED;
    }

    long pendingBytes() {
        return out.pendingBytes();
    }

    long oldestSlabSequence() {
        return out.oldestSlabSequence();
    }

    @Override
    public void onReady(int readyOps) throws IOException {
        if (join != null) {
            handshake();
            return;
        }
        if ((readyOps & SelectionKey.OP_WRITE) != 0) {
            flush();
        }
        if ((readyOps & SelectionKey.OP_READ) != 0 && state == State.OPEN) {
            if (server.roomIsCongested(this)) {
                pauseReading();
            } else {
                read();
            }
        }
    }

    @Override
    public void onFailure(Exception cause) {
        server.log().log(System.Logger.Level.DEBUG, "connection {0} failed: {1}", client, cause);
        abort(LeaveReason.CONNECTION_ERROR);
    }

    private void read() throws IOException {
        ByteBuffer buf = server.readBuffer();
        int total = 0;
        for (int i = 0; i < READS_PER_EVENT && total < READ_BUDGET_BYTES; i++) {
            buf.clear();
            int n = channel.read(buf);
            if (n < 0) {
                decoder.finish(this);
                closeGracefully(LeaveReason.DISCONNECTED);
                return;
            }
            if (n == 0) {
                if (channel.owesWrite()) {
                    flush(); // TLS: a handshake message (e.g. a key update) waits to go out
                }
                return;
            }
            total += n;
            decoder.feed(buf.array(), buf.arrayOffset(), n, this);
            if (state != State.OPEN || server.roomIsCongested(this)) {
                return;
            }
        }
        readBufferedLater();
    }

    /**
     * TLS decrypts one record per read and may hold more that the selector cannot report: a read
     * cut short by the budget comes back on the next pass instead of waiting for the socket.
     */
    private void readBufferedLater() {
        if (channel.buffersInput()) {
            server.loop().execute(() -> {
                if (state == State.OPEN && !readPaused && key.isValid()) {
                    try {
                        onReady(SelectionKey.OP_READ);
                    } catch (IOException | RuntimeException e) {
                        onFailure(e);
                    }
                }
            });
        }
    }

    @Override
    public void onLine(byte[] buf, int off, int len) {
        if (state == State.OPEN) {
            server.hub().onLine(client, buf, off, len);
        }
    }

    @Override
    public void onLineTooLong() {
        send(server.lineTooLongFrame());
    }

    /** Appends the frame to pending output; marks the connection too slow past the bound. */
    @Override
    public void send(Frame frame) {
        if (state == State.CLOSED || tooSlow || join != null) {
            return;
        }
        out.append(frame);
        long pending = out.pendingBytes();
        if (pending > server.options().maxPendingBytes()) {
            markTooSlow();
            return;
        }
        if (!congested && pending > server.options().maxPendingBytes() / 4) {
            congested = true;
            congestedSince = server.loop().nanoTime();
            server.congested(this);
        }
        if (!dirty && !writeInterest) {
            dirty = true;
            server.markDirty(this);
        }
    }

    /** The hub removed the client ({@code /quit}): flush, then close. */
    @Override
    public void close() {
        closeGracefully(LeaveReason.QUIT);
    }

    /** Called once per loop pass by the server for a dirty connection. */
    void flushFromPass() {
        dirty = false;
        if (state != State.CLOSED && !writeInterest) {
            flush();
        }
    }

    private void flush() {
        if (state == State.CLOSED) {
            return;
        }
        boolean drained;
        try {
            out.writeTo(channel, server.gatherScratch(), WRITE_BUDGET_BYTES);
            drained = out.isEmpty() && channel.drain();
        } catch (IOException e) {
            abort(LeaveReason.CONNECTION_ERROR);
            return;
        }
        if (congested && out.pendingBytes() <= server.options().maxPendingBytes() / 16) {
            congested = false;
            server.decongested(this);
        }
        if (drained) {
            if (writeInterest) {
                writeInterest = false;
                updateInterest();
            }
            if (state == State.CLOSING) {
                release();
            }
        } else if (!writeInterest) {
            writeInterest = true;
            updateInterest();
        }
    }

    /** Marks the connection to be dropped as too slow at the end of the pass (once). */
    void markTooSlow() {
        if (!tooSlow && state != State.CLOSED) {
            tooSlow = true;
            server.closeTooSlowLater(this);
        }
    }

    /** @return whether output remains and the connection waits for {@code OP_WRITE} */
    boolean waitsForWritable() {
        return writeInterest;
    }

    /** @return whether the connection has been congested for longer than {@code timeoutNanos} */
    boolean congestedLongerThan(long now, long timeoutNanos) {
        return congested && now - congestedSince > timeoutNanos;
    }

    /**
     * Stops reading from this client while its room is congested (instead of reading lines whose
     * fan-out could not be written); TCP flow control then slows the client itself down.
     */
    private void pauseReading() {
        readPaused = true;
        updateInterest();
        server.paused(this);
    }

    /** Reads again once the room has drained. */
    void resumeReading() {
        readPaused = false;
        updateInterest();
        readBufferedLater();
    }

    private void updateInterest() {
        if (key.isValid()) {
            int ops = (state == State.OPEN && !readPaused ? SelectionKey.OP_READ : 0)
                    | (writeInterest ? SelectionKey.OP_WRITE : 0);
            key.interestOps(ops);
        }
    }

    /**
     * Leaves the hub for {@code reason}, stops reading, and closes once pending output is written
     * or the flush timeout passes, whichever comes first.
     */
    void closeGracefully(LeaveReason reason) {
        if (state != State.OPEN) {
            return;
        }
        state = State.CLOSING;
        if (client != null) {
            server.hub().disconnect(client, reason);
        }
        updateInterest();
        if (out.isEmpty() && !dirty) {
            release();
            return;
        }
        closeDeadline = server.loop().schedule(
                server.options().shutdownFlushTimeout().toNanos(), TimeUnit.NANOSECONDS,
                this::release);
    }

    /** Leaves the hub for {@code reason} and closes at once, dropping pending output. */
    void abort(LeaveReason reason) {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSING;
        if (client != null) {
            server.hub().disconnect(client, reason);
        }
        release();
    }

    /** The one place a connection's resources are released. */
    private void release() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        if (closeDeadline != null) {
            closeDeadline.cancel();
        }
        if (handshakeDeadline != null) {
            handshakeDeadline.cancel();
        }
        key.cancel();
        try {
            channel.close();
        } catch (IOException e) {
            server.log().log(System.Logger.Level.DEBUG, "closing " + client, e);
        }
        out.clear();
        if (congested) {
            congested = false;
            server.decongested(this);
        }
        server.removed(this);
    }

    @Override
    public String toString() {
        return "Connection[" + client + ", " + state + ", " + channel + ", " + out
                + (writeInterest ? ", OP_WRITE" : "") + (congested ? ", congested" : "")
                + (readPaused ? ", paused" : "") + (tooSlow ? ", too slow" : "") + "]";
    }
}
