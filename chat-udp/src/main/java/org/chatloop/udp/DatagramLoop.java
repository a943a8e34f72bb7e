package org.chatloop.udp;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Frame;
import org.chatloop.core.LeaveReason;
import org.chatloop.loop.EventLoop;
import org.chatloop.loop.LoopTimer;
import org.chatloop.loop.TokenBucket;

/**
 * One socket of a {@link UdpChatServer} and everything it serves, on one loop: the bound
 * {@link DatagramChannel}, the peers whose datagrams reach that socket (the peer table and its
 * expiry timer), the loop's hub shard they are clients of, the address validator and the send
 * queue. A server has one per loop; the kernel decides which socket a source address reaches,
 * and a peer is served by that socket's loop only. The protocol is described on
 * {@link UdpChatServer}.
 *
 * <p>States: serving; closed ({@link #beginShutdown} or {@link #shutdown}: every peer told
 * {@code * server shutting down} and forgotten, nothing more read); finished ({@link #finish}, the
 * one place the channel is closed, after the notices are flushed or the flush time is up; then
 * {@link #awaitStopped} returns).
 *
 * <p>Not thread safe: owned by its loop's thread, but for the getters said to be safe from any
 * thread.
 */
final class DatagramLoop {
    /** Most datagrams read per ready event, so a flood cannot starve timers and other channels. */
    static final int MAX_READS_PER_PASS = 256;
    /** Bytes the send queue may hold, payload and per-entry overhead (see {@link SendQueue}). */
    static final long MAX_QUEUED_BYTES = 64L << 20;
    /** Longest wait at shutdown for queued datagrams. */
    static final long SHUTDOWN_FLUSH_MILLIS = 500;

    private static final Logger LOG = System.getLogger(DatagramLoop.class.getName());
    private static final Frame SERVER_FULL = Frame.error("server full");
    private static final Frame SHUTTING_DOWN = Frame.notice("server shutting down");
    private static final Frame TOO_MANY_FROM_ADDRESS =
            Frame.error("too many connections from your address");

    private final EventLoop loop;
    private final ChatHub hub;
    private final UdpServerOptions options;
    private final ClientLimits limits;
    private final DatagramChannel channel;
    private final InetSocketAddress localAddress;
    private final SelectionKey key;
    private final DatagramSender sender;
    private final PeerTable peers = new PeerTable();
    private final Peer.Owner peerOwner = new PeerOwner();
    private final Frame tooLong;
    private final ByteBuffer in;
    private final byte[] inBytes;
    private final long timeoutNanos;
    private final LoopTimer expiryTimer;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile int registered;
    /** Datagrams from unknown addresses dropped because they look like server output. */
    private long ignoredServerLike;
    private volatile boolean closed;
    /** Whether the channel is closed (after {@link #closed}, once the notices are flushed). */
    private volatile boolean finished;
    /** Checks return routability, or null when address validation is off. */
    private final AddressValidator validator;
    /** Challenges sent to unvalidated addresses. */
    private volatile long challengesSent;
    /** Datagrams from unvalidated addresses too small to answer within 3 times their size. */
    private volatile long unanswered;
    /** Datagrams of registered clients dropped past their rate. */
    private volatile long rateLimited;

    /**
     * Starts serving a bound channel on {@code loop}: registers it, schedules expiry and hooks the
     * loop's end. On the loop's thread (or before it starts). If this throws, the caller closes
     * the channel.
     *
     * @param limits the bounds on registered clients, shared with the server's other sockets
     * @param wires wraps the channel's send side (tests make it look full or failing)
     */
    DatagramLoop(EventLoop loop, ChatHub hub, UdpServerOptions options, ClientLimits limits,
                 DatagramChannel channel, UnaryOperator<DatagramSender.Wire> wires)
            throws IOException {
        if (!loop.inLoopThread()) {
            throw new IllegalStateException("attach on the loop's thread or before it starts");
        }
        if (loop.isStopping()) {
            throw new IllegalStateException("the loop is stopping");
        }
        this.loop = loop;
        this.hub = hub;
        this.options = options;
        this.limits = limits;
        this.channel = channel;
        this.localAddress = (InetSocketAddress) channel.getLocalAddress();
        this.tooLong = Frame.error("message too long (max " + options.maxMessageBytes()
                + " bytes)");
        // One byte more than the limit: a datagram that fills it was truncated, so too long.
        this.in = ByteBuffer.allocateDirect(options.maxMessageBytes() + 1);
        this.inBytes = new byte[options.maxMessageBytes()];
        this.timeoutNanos = options.heartbeatTimeout().toNanos();
        this.validator = validates(options.addressValidation(), localAddress.getAddress())
                ? new AddressValidator(new SecureRandom()) : null;
        this.key = loop.register(channel, SelectionKey.OP_READ,
                new DatagramEndpoint(this::onWritable, this::onReadable, this::toString));
        this.sender = new DatagramSender(wires.apply(new ChannelWire()),
                options.maxQueuedDatagrams(), MAX_QUEUED_BYTES);
        this.expiryTimer = loop.scheduleRepeating(expiryPeriodNanos(timeoutNanos),
                TimeUnit.NANOSECONDS, this::expire);
        loop.onClose(this::shutdown);
    }

    /** @return whether a server bound to {@code bound} validates addresses under {@code v} */
    static boolean validates(UdpServerOptions.AddressValidation v, InetAddress bound) {
        return v == UdpServerOptions.AddressValidation.ON
                || (v == UdpServerOptions.AddressValidation.AUTO && !bound.isLoopbackAddress());
    }

    /** Expiry runs at least once a second, and twice per timeout for short timeouts. */
    static long expiryPeriodNanos(long timeoutNanos) {
        long second = TimeUnit.SECONDS.toNanos(1);
        long floor = TimeUnit.MILLISECONDS.toNanos(10);
        return Math.max(floor, Math.min(second, timeoutNanos / 2));
    }

    /** @return the loop that owns this socket; safe from any thread */
    EventLoop loop() {
        return loop;
    }

    /** @return the bound address; safe from any thread */
    InetSocketAddress localAddress() {
        return localAddress;
    }

    /** @return datagrams given up on (queue full, send failed); safe from any thread */
    long dropped() {
        return sender.dropped();
    }

    /** @return peers registered on this socket; safe from any thread (a snapshot) */
    int clientCount() {
        return registered;
    }

    /** @return the sender; loop thread only */
    DatagramSender sender() {
        return sender;
    }

    /** @return the channel's selection key; loop thread only */
    SelectionKey key() {
        return key;
    }

    /** @return whether it has stopped serving; safe from any thread */
    boolean isClosed() {
        return closed;
    }

    /** @return whether new addresses must answer a challenge; safe from any thread */
    boolean validatesAddresses() {
        return validator != null;
    }

    /** @return challenges sent so far; safe from any thread */
    long challengesSent() {
        return challengesSent;
    }

    /** @return datagrams of registered clients dropped past their rate; safe from any thread */
    long rateLimitedDatagrams() {
        return rateLimited;
    }

    /**
     * Waits until the channel is closed; safe from any thread.
     *
     * @return whether it was within the timeout
     */
    boolean awaitStopped(long timeout, TimeUnit unit) throws InterruptedException {
        return stopped.await(timeout, unit);
    }

    private void onReadable() {
        for (int n = 0; n < MAX_READS_PER_PASS && !closed; n++) {
            in.clear();
            SocketAddress from;
            try {
                from = channel.receive(in);
            } catch (PortUnreachableException e) {
                continue; // an ICMP error for an earlier send: nothing to read
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.log(Level.WARNING, "receive failed on " + localAddress, e);
                return;
            }
            if (from == null) {
                return;
            }
            if (isOwnAddress((InetSocketAddress) from)) {
                continue;
            }
            in.flip();
            try {
                onDatagram((InetSocketAddress) from);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "datagram from " + from + " failed", e);
            }
        }
    }

    /**
     * A datagram "from" the server's port on this host can only be spoofed (every socket of the
     * server has that port), and answering it would make the server talk to itself for ever:
     * such datagrams are ignored.
     */
    boolean isOwnAddress(InetSocketAddress from) {
        if (from.getPort() != localAddress.getPort()) {
            return false;
        }
        InetAddress source = from.getAddress();
        InetAddress bound = localAddress.getAddress();
        if (source.equals(bound)) {
            return true;
        }
        if (!bound.isAnyLocalAddress()) {
            return false;
        }
        if (source.isLoopbackAddress() || source.isAnyLocalAddress()) {
            return true;
        }
        try {
            return NetworkInterface.getByInetAddress(source) != null;
        } catch (SocketException e) {
            return true;
        }
    }

    /**
     * @return whether a datagram starts like a line this protocol's servers send (the hub's own
     *         wire text: {@link Frame#startsLikeServerLine}); {@code in}'s position is unchanged
     */
    static boolean looksLikeServerOutput(ByteBuffer in, int size) {
        return Frame.startsLikeServerLine(in, size);
    }

    private void onDatagram(InetSocketAddress from) {
        int size = in.remaining();
        boolean serverLike = looksLikeServerOutput(in, size);
        boolean truncated = size > options.maxMessageBytes();
        int len = 0;
        if (!truncated) {
            in.get(inBytes, 0, size);
            len = Datagrams.stripTerminator(inBytes, size);
        }
        long now = loop.nanoTime();
        Peer peer = peers.heardFrom(from, now);
        if (peer == null) {
            if (serverLike) {
                // Another chat server's (or this protocol's) output from an unknown address: never
                // register or answer it, or two servers would relay each other's replies for ever.
                ignoredServerLike++;
                return;
            }
            if (validator != null && !validated(from, size, truncated ? -1 : len, now)) {
                return;
            }
            switch (limits.admit(from.getAddress())) {
                case SERVER_FULL -> {
                    sender.send(SERVER_FULL, from);
                    return;
                }
                case TOO_MANY_FROM_ADDRESS -> {
                    sender.send(TOO_MANY_FROM_ADDRESS, from);
                    return;
                }
                case ADMITTED -> peer = register(from, now);
            }
        }
        if (truncated) {
            hub.send(peer.client(), tooLong); // after what its room gathered in this pass
        } else if (!Datagrams.isHeartbeat(inBytes, len)) {
            if (peer.mayAct(now)) {
                hub.onLine(peer.client(), inBytes, 0, len);
            } else {
                rateLimited++;
            }
        }
    }

    /**
     * A datagram from an unregistered address while validation is on: true if it is
     * {@code #ping# TOKEN} with the address's valid token; otherwise answers it with a fresh
     * challenge, if that is at most 3 times its size, and returns false.
     *
     * @param len the datagram's length without terminator, -1 if it was truncated
     */
    private boolean validated(InetSocketAddress from, int size, int len, long now) {
        int tokenAt = len < 0 ? -1 : Datagrams.pingTokenOffset(inBytes, len);
        if (tokenAt >= 0 && validator.isValid(from, inBytes, tokenAt, len - tokenAt, now)) {
            return true;
        }
        if (size >= AddressValidator.MIN_ANSWERED_BYTES) {
            sender.send(validator.challenge(from, now), from);
            challengesSent++;
        } else {
            unanswered++;
        }
        return false;
    }

    /** Registers an address admitted by {@link #limits}: its place is given back if this fails. */
    private Peer register(InetSocketAddress from, long now) {
        Peer peer = new Peer(from, peerOwner, now);
        if (options.maxLinesPerSecond() > 0) {
            peer.limit(new TokenBucket(options.maxLinesPerSecond(), options.maxLinesPerSecond(),
                    now));
        }
        peers.add(peer, now);
        registered = peers.size();
        try {
            peer.client(hub.connect(Datagrams.addressText(from), peer));
        } catch (RuntimeException e) {
            peers.remove(peer);
            forgotten(List.of(peer));
            peer.markGone();
            throw e;
        }
        return peer;
    }

    /** Peers just removed from the table: their places under the limits are given back. */
    private void forgotten(List<Peer> removed) {
        registered = peers.size();
        limits.release(removed);
    }

    private void expire() {
        if (closed) {
            return;
        }
        List<Peer> expired = peers.expire(loop.nanoTime(), timeoutNanos);
        if (expired.isEmpty()) {
            return;
        }
        forgotten(expired);
        for (Peer p : expired) {
            disconnect(p, LeaveReason.TIMED_OUT);
        }
    }

    /** Tells the hub a peer is gone; one peer's failure does not keep the others registered. */
    private void disconnect(Peer p, LeaveReason reason) {
        p.markGone();
        try {
            hub.disconnect(p.client(), reason);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "disconnecting " + p + " failed", e);
        }
    }

    /**
     * The loop is ending (its close hook), or the server's own loop is being stopped from its
     * thread: tell everyone, flush for at most {@value #SHUTDOWN_FLUSH_MILLIS} ms (the loop runs
     * no more passes, so this waits on its thread), close.
     */
    void shutdown() {
        if (finished) {
            return;
        }
        try {
            tellEveryone();
            sender.flush(TimeUnit.MILLISECONDS.toNanos(SHUTDOWN_FLUSH_MILLIS));
        } finally {
            finish();
        }
    }

    /**
     * Stopping on a loop that goes on: tell everyone, then let the loop's passes flush
     * (OP_WRITE), checking every few milliseconds, for at most {@value #SHUTDOWN_FLUSH_MILLIS} ms,
     * and close; the loop thread never waits, so the loop's other transports are not stalled.
     */
    void beginShutdown() {
        if (closed) {
            return;
        }
        tellEveryone();
        sender.onWritable();
        if (sender.queued() == 0) {
            finish();
            return;
        }
        long deadline = loop.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SHUTDOWN_FLUSH_MILLIS);
        LoopTimer[] poll = new LoopTimer[1];
        poll[0] = loop.scheduleRepeating(5, TimeUnit.MILLISECONDS, () -> {
            if (sender.queued() == 0 || loop.nanoTime() - deadline >= 0) {
                poll[0].cancel();
                sender.flush(0); // drops and counts what is left
                finish();
            }
        });
    }

    /** Stops serving: every client is told {@code * server shutting down} and forgotten. */
    private void tellEveryone() {
        if (closed) {
            return;
        }
        closed = true;
        expiryTimer.cancel();
        List<Peer> all = peers.removeAll();
        forgotten(all);
        for (Peer p : all) {
            // Through the hub: after what the peer's room gathered for it in this pass.
            hub.send(p.client(), SHUTTING_DOWN);
        }
        for (Peer p : all) {
            disconnect(p, LeaveReason.SHUTDOWN);
        }
    }

    /** The one place the channel is closed. */
    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        closed = true;
        key.cancel();
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing " + localAddress, e);
        }
        stopped.countDown();
        LOG.log(Level.DEBUG, "stopped {0}", this);
    }

    /** The socket can take more: send what is queued. */
    private void onWritable() {
        sender.onWritable();
    }

    private final class ChannelWire implements DatagramSender.Wire {
        @Override
        public int send(ByteBuffer datagram, SocketAddress target) throws IOException {
            return channel.send(datagram, target);
        }

        @Override
        public void writeInterest(boolean on) {
            if (key.isValid()) {
                key.interestOps(on ? SelectionKey.OP_READ | SelectionKey.OP_WRITE
                        : SelectionKey.OP_READ);
            }
        }
    }

    private final class PeerOwner implements Peer.Owner {
        @Override
        public void send(Frame frame, InetSocketAddress target) {
            sender.send(frame, target);
        }

        @Override
        public void quit(Peer peer) {
            // The hub has removed the client and queued "* bye": forget the address. A later
            // datagram from it registers it anew.
            if (peers.remove(peer)) {
                forgotten(List.of(peer));
            }
            peer.markGone();
        }
    }

    @Override
    public String toString() {
        return "DatagramLoop[" + Datagrams.addressText(localAddress) + ", clients=" + registered
                + ", " + sender + (validator != null ? ", validating, challenges=" + challengesSent
                + ", unanswered=" + unanswered : "")
                + (rateLimited > 0 ? ", rate-limited=" + rateLimited : "")
                + (closed ? ", closed" : "") + "]";
    }
}
