package org.chatloop.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
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
 * finish within the handshake timeout, ends it through {@link #abort}. A plain connection holds no
 * {@link Transport} object at all: its socket is reached through its selection key.
 *
 * <p>On a WebSocket server ({@link TcpChatServer#startWebSocket}) the same connection reads an
 * HTTP request head first (the handshake timeout covers it, and the TLS handshake before it): the
 * {@link WebSocketStream} that stands in for the line decoder answers it, and only an upgraded
 * client joins the hub. Its pending output comes from the server's WebSocket slab pool, where each
 * frame is placed once as a WebSocket text frame for every WebSocket recipient; and a close that
 * starts here sends a close frame first.
 *
 * <p>Not thread safe: owned by the server's loop thread.
 */
final class Connection implements IoHandler, ClientOutput, StreamIo.End,
        WebSocketStream.Peer {
    private static final int READ_BUDGET_BYTES = 64 * 1024;
    static final long WRITE_BUDGET_BYTES = 128 * 1024;
    /**
     * Writes per flush: one, of at most about {@link #WRITE_BUDGET_BYTES}, so that one connection
     * with a backlog does not hold up the pass for the others; the rest waits for the next pass or
     * {@code OP_WRITE}.
     */
    private static final int WRITES_PER_FLUSH = 1;
    /**
     * How long a partial line from a client that has never sent a newline may stay idle before it
     * counts as a line: 150 ms. Such a client (the original tutorial's) writes each typed line with
     * one {@code send()}, which arrives as one segment, or as a few within one round trip; the
     * next line is typed seconds later. 150 ms is longer than a segment split over loopback or a
     * LAN (a newline client whose first line arrives in two segments 25 ms apart still sends one
     * line), and short enough that a chat user does not notice the wait.
     */
    static final long UNFRAMED_LINE_IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(150);

    /** The states, as bytes rather than an enum reference: an idle connection's size counts. */
    private static final class State {
        static final byte OPEN = 0;
        static final byte CLOSING = 1;
        static final byte CLOSED = 2;
        private static final String[] NAMES = {"OPEN", "CLOSING", "CLOSED"};
    }

    private final StreamLoop server;
    private final StreamDecoder decoder;
    private final OutboundQueue out;
    private SelectionKey key;
    private Client client;
    private byte state = State.OPEN;
    private boolean dirty;
    private boolean writeInterest;
    private boolean tooSlow;
    /** Whether a WebSocket close frame is queued: nothing may follow it. */
    private boolean closeFrameSent;
    private boolean congested;
    /**
     * When the connection became congested, in the loop clock's milliseconds, truncated to an int
     * (differences stay exact for 24 days; an idle connection's size counts).
     */
    private int congestedSinceMillis;
    private boolean readPaused;
    /**
     * The one timer a connection needs at a time, as they never overlap: while a TLS handshake
     * runs, its deadline; then, until the first byte, the silence deadline ({@code idleTimeout});
     * while {@code OPEN} after that, the pause that ends an unframed client's line; while
     * {@code CLOSING}, the flush deadline. One field, not four: an idle connection's size counts
     * (see {@code IdleMemoryProbe}).
     */
    private LoopTimer timer;
    private int slot = -1;
    /** Flood control ({@code maxLinesPerSecond}), or null when off; it holds its own timer. */
    private final LineThrottle throttle;
    private boolean ratePaused;
    /** The TLS stream over the socket, or null for plain TCP. */
    private final Transport tls;
    /**
     * How to join the hub once the TLS handshake (and, for a WebSocket, the upgrade) is done;
     * null once joined, or when it was never needed.
     */
    private Supplier<Client> join;
    /** Whether the TLS handshake has yet to finish. */
    private boolean handshaking;

    /**
     * @param tls the TLS transport over the connection's socket, or null for plain TCP (the
     *            socket itself is reached through the selection key given to {@link #start})
     */
    Connection(StreamLoop server, Transport tls) {
        this.server = server;
        this.tls = tls;
        WebSite site = server.webSite();
        this.decoder = site == null ? new LineDecoder(server.options().maxLineBytes())
                : new WebSocketStream(site, this, server.options().maxLineBytes());
        // A WebSocket server's pool places frames as WebSocket text frames (see SlabPool).
        this.out = new OutboundQueue(server.pool());
        int rate = server.options().maxLinesPerSecond();
        this.throttle = rate > 0
                ? new LineThrottle(rate, decoder, this, server.loop().nanoTime()) : null;
    }

    /**
     * Joins the hub through {@code joinHub} now, or once the TLS handshake and the WebSocket
     * upgrade are done: both must be done within the handshake timeout.
     */
    void start(SelectionKey selectionKey, Supplier<Client> joinHub) {
        this.key = selectionKey;
        handshaking = tls != null && tls.handshaking();
        boolean webSocket = decoder instanceof WebSocketStream;
        if (!handshaking && !webSocket) {
            joined(joinHub);
            return;
        }
        join = joinHub;
        timer = server.loop().schedule(server.options().handshakeTimeout().toNanos(),
                TimeUnit.NANOSECONDS, () -> {
                    timer = null;
                    server.log().log(System.Logger.Level.DEBUG, "{0} timed out: {1}",
                            handshaking ? "TLS handshake" : "HTTP request", this);
                    abort(LeaveReason.TIMED_OUT);
                });
    }

    private void joined(Supplier<Client> joinHub) {
        join = null;
        this.client = joinHub.get();
        long idle = server.options().idleTimeout().toNanos();
        if (idle > 0 && state == State.OPEN && decoder instanceof LineDecoder) {
            timer = server.loop().schedule(idle, TimeUnit.NANOSECONDS, this::silentTooLong);
        }
    }

    /** Advances the TLS handshake; once done, joins the hub and reads what came with it. */
    private void handshake() throws IOException {
        if (!StreamIo.handshake(tls, key)) {
            return;
        }
        handshaking = false;
        if (!(decoder instanceof WebSocketStream)) {
            // A WebSocket keeps the deadline: its request head must arrive within it too.
            timer.cancel();
            timer = null;
            joined(join);
        }
        updateInterest();
        read();
    }

    Client client() {
        return client;
    }

    /** @return the raw socket (under TLS, the one the TLS stream runs on) */
    SocketChannel channel() {
        return (SocketChannel) key.channel();
    }

    /** @return where output goes, and what closes: the TLS stream, or the socket */
    private GatheringByteChannel stream() {
        return tls != null ? tls : channel();
    }

    /** @return the connection's index in the server's list of open connections, or -1 */
    int slot() {
        return slot;
    }

    void slot(int index) {
        slot = index;
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
        if (handshaking) {
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
        for (int i = 0; i < StreamIo.READS_PER_EVENT && total < READ_BUDGET_BYTES; i++) {
            int n = StreamIo.read(tls, key, buf, decoder, this);
            if (n == 0) {
                return; // nothing more now, or the stream ended (see endOfStream)
            }
            total += n;
            if (timer != null && join == null) {
                // The silence deadline (heard now), or an unframed pause (restarted below); not
                // the deadline of a WebSocket's request head, which bytes alone do not meet.
                timer.cancel();
                timer = null;
            }
            if (throttle == null) {
                decoder.feed(buf.array(), buf.arrayOffset(), n, this, Integer.MAX_VALUE);
            } else if (!throttle.feed(buf.array(), buf.arrayOffset(), n,
                    server.loop().nanoTime())) {
                awaitUnframedPauseIfHeld();
                pauseForRate();
                return;
            }
            awaitUnframedPauseIfHeld();
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
        if (tls != null && tls.buffersInput()) {
            server.loop().execute(() -> {
                if (state == State.OPEN && !readPaused && !ratePaused && key.isValid()) {
                    try {
                        onReady(SelectionKey.OP_READ);
                    } catch (IOException | RuntimeException e) {
                        onFailure(e);
                    }
                }
            });
        }
    }

    /**
     * An unframed client sent part of a line: once it has been quiet for
     * {@link #UNFRAMED_LINE_IDLE_NANOS}, what it sent is a line. Each read re-arms the one timer
     * (only clients that have never sent a newline pay for it).
     */
    private void awaitUnframedPauseIfHeld() {
        if (state == State.OPEN && decoder.holdsUnframedLine()) {
            awaitUnframedPause();
        }
    }

    private void awaitUnframedPause() {
        if (timer != null) {
            timer.cancel();
        }
        timer = server.loop().schedule(UNFRAMED_LINE_IDLE_NANOS, TimeUnit.NANOSECONDS,
                this::onUnframedIdle);
    }

    private void onUnframedIdle() {
        timer = null;
        if (state == State.OPEN && decoder.holdsUnframedLine()) {
            decoder.flushUnframed(this);
        }
    }

    /** End of stream from the client: what the decoder held is reported; now close in order. */
    @Override
    public void endOfStream() {
        closeGracefully(LeaveReason.DISCONNECTED);
    }

    @Override
    public void onLine(byte[] buf, int off, int len) {
        if (state == State.OPEN) {
            server.hub().onLine(client, buf, off, len);
        }
    }

    @Override
    public void onLineTooLong() {
        sendInOrder(server.lineTooLongFrame());
    }

    /**
     * Sends a frame of the connection's own (an error, the shutdown notice) through the hub once
     * joined, so that it comes after the room messages the hub has gathered for this client in
     * the pass.
     */
    void sendInOrder(Frame frame) {
        if (client != null) {
            server.hub().send(client, frame);
        } else {
            send(frame);
        }
    }

    /**
     * Appends the frame to pending output; marks the connection too slow past the bound. This is
     * the per-recipient step of every broadcast: a connection already dirty in this pass and below
     * a quarter of its bound (the usual case) costs one append and one comparison.
     */
    @Override
    public void send(Frame frame) {
        if (refusesFrames()) {
            return;
        }
        out.append(frame);
        appended();
    }

    /**
     * @return whether frames are dropped: closed, too slow, not joined yet (TLS handshake,
     *         WebSocket upgrade), or after a WebSocket close frame
     */
    private boolean refusesFrames() {
        return state == State.CLOSED || tooSlow || join != null || closeFrameSent;
    }

    /** After an append: the bound checks, skipped while dirty and below a quarter of the bound. */
    private void appended() {
        if (!dirty || out.pendingBytes() > server.congestedAbove) {
            queued();
        }
    }

    /** Appends a room's frames of this pass, placed once for all its members: as {@link #send}. */
    @Override
    public void send(Frame[] frames, int count) {
        if (refusesFrames()) {
            return;
        }
        out.append(frames, count);
        appended();
    }

    /** Appends protocol bytes of the WebSocket side (HTTP responses, control frames). */
    @Override
    public void sendRaw(byte[] bytes) {
        if (state == State.CLOSED || tooSlow) {
            return;
        }
        out.append(bytes, 0, bytes.length);
        queued();
    }

    @Override
    public void sendClose(byte[] closeFrame) {
        sendRaw(closeFrame);
        closeFrameSent = true;
    }

    /** The WebSocket upgrade is queued: the request head came in time; join the hub. */
    @Override
    public void upgraded() {
        if (timer != null) {
            timer.cancel();
            timer = null;
        }
        joined(join);
    }

    /** The WebSocket side ends the connection (answered close, error, refused request). */
    @Override
    public void end(LeaveReason reason) {
        closeGracefully(reason);
    }

    private void queued() {
        long pending = out.pendingBytes();
        if (pending > server.options().maxPendingBytes()) {
            markTooSlow();
            return;
        }
        if (!congested && pending > server.congestedAbove) {
            congested = true;
            congestedSinceMillis = (int) (server.loop().nanoTime() / 1_000_000);
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

    /**
     * Writes what is pending (also what TLS owes after a read), within the write budget; closes a
     * {@code CLOSING} connection once all is written.
     */
    @Override
    public void flush() {
        if (state == State.CLOSED) {
            return;
        }
        boolean drained;
        try {
            drained = StreamIo.write(out, stream(), tls, server.gatherScratch(),
                    WRITE_BUDGET_BYTES, WRITES_PER_FLUSH);
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
        return congested
                && (long) ((int) (now / 1_000_000) - congestedSinceMillis) * 1_000_000 > timeoutNanos;
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

    /**
     * The client is past its line rate: stop reading (TCP then pushes back) and decode what is
     * held, then read again, as tokens return.
     */
    private void pauseForRate() {
        if (!ratePaused) {
            ratePaused = true;
            updateInterest();
        }
        throttle.timer = server.loop().schedule(
                throttle.nanosUntilTokens(server.loop().nanoTime()), TimeUnit.NANOSECONDS,
                this::onRateTimer);
    }

    private void onRateTimer() {
        throttle.timer = null;
        if (state != State.OPEN) {
            return;
        }
        boolean drained = throttle.drain(server.loop().nanoTime());
        awaitUnframedPauseIfHeld();
        if (drained) {
            ratePaused = false;
            updateInterest();
            readBufferedLater();
        } else if (state == State.OPEN) {
            pauseForRate();
        }
    }

    /** The client connected and sent nothing at all for {@code idleTimeout}. */
    private void silentTooLong() {
        timer = null;
        sendInOrder(Frame.error("nothing received for " + server.options().idleTimeout().toSeconds()
                + " s; closing"));
        closeGracefully(LeaveReason.TIMED_OUT);
    }

    private void updateInterest() {
        StreamIo.interest(key, state == State.OPEN && !readPaused && !ratePaused, writeInterest);
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
            // Leaving the room hands this client what the room gathered for it in this pass: it
            // goes out before a WebSocket close frame, after which nothing may be sent.
            server.hub().disconnect(client, reason);
        }
        if (decoder instanceof WebSocketStream ws) {
            ws.closing(reason == LeaveReason.SHUTDOWN ? CloseCodes.GOING_AWAY
                    : reason == LeaveReason.TIMED_OUT ? CloseCodes.POLICY_VIOLATION
                    : CloseCodes.NORMAL, reason.text());
        }
        updateInterest();
        if (out.isEmpty() && !dirty) {
            release();
            return;
        }
        if (timer != null) {
            timer.cancel();
        }
        timer = server.loop().schedule(
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
        if (timer != null) {
            timer.cancel();
            timer = null;
        }
        if (throttle != null && throttle.timer != null) {
            throttle.timer.cancel();
            throttle.timer = null;
        }
        IOException failed = StreamIo.release(key, stream(), out);
        if (failed != null) {
            server.log().log(System.Logger.Level.DEBUG, "closing " + client, failed);
        }
        if (congested) {
            congested = false;
            server.decongested(this);
        }
        server.removed(this);
    }

    @Override
    public String toString() {
        return "Connection[" + client + ", " + State.NAMES[state] + ", "
                + (tls != null ? tls : "plain") + ", " + out
                + (writeInterest ? ", OP_WRITE" : "") + (congested ? ", congested" : "")
                + (readPaused ? ", paused" : "") + (ratePaused ? ", rate-limited" : "")
                + (tooSlow ? ", too slow" : "") + "]";
    }
}
