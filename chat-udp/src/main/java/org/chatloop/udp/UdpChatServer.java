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
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.UnresolvedAddressException;
import java.security.SecureRandom;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Directory;
import org.chatloop.core.Frame;
import org.chatloop.core.HubGroup;
import org.chatloop.core.HubOptions;
import org.chatloop.core.LeaveReason;
import org.chatloop.core.RoomBus;
import org.chatloop.loop.EventLoop;
import org.chatloop.loop.LoopTimer;
import org.chatloop.loop.TokenBucket;

/**
 * A UDP chat server: one non-blocking {@link DatagramChannel} on an {@link EventLoop}, serving the
 * rooms, names and commands of a {@link ChatHub} with the same wire text as the TCP server.
 *
 * <p><b>Protocol.</b> One datagram is one message (a trailing {@code "\n"} or {@code "\r\n"} is
 * optional and stripped); every reply or broadcast is one line per datagram. {@code #ping#} is a
 * heartbeat: it registers its sender (in the lobby, with a {@code * welcome} datagram) or refreshes
 * it, and is never broadcast. Any other datagram from an unknown address registers the sender
 * first and is then handled, so {@code nc -u} works without pinging, unless it starts like this
 * protocol's server output ({@code "* "}, {@code "! "}, {@code "<"}, {@code "[private"}): that is
 * ignored, so that two servers (or a server and itself through a reflector) never relay each
 * other's replies for ever. A client not heard from for
 * the {@linkplain UdpServerOptions#heartbeatTimeout() heartbeat timeout} is removed and its room
 * told {@code * NAME left (timed out)}; {@code /quit} removes it at once. Past
 * {@linkplain UdpServerOptions#maxClients() the client limit} new senders get {@code ! server full};
 * a datagram over {@linkplain UdpServerOptions#maxMessageBytes() the size limit} gets
 * {@code ! message too long (max N bytes)}. Datagrams go only to addresses datagrams came from.
 *
 * <p><b>Address validation</b> ({@linkplain UdpServerOptions#addressValidation() on, or auto
 * and not bound to loopback}): an address is registered only once it has echoed a token, so a
 * spoofed source is never subscribed to a room. Any datagram from an unregistered address is
 * answered with one {@code * verify TOKEN} (18 bytes; datagrams under 6 bytes get nothing, so
 * the answer is never more than 3 times the request) and otherwise ignored; {@code #ping# TOKEN}
 * registers the address and is handled as a heartbeat ({@link AddressValidator}). Past
 * {@linkplain UdpServerOptions#maxLinesPerSecond() the rate limit} a registered client's
 * datagrams are dropped and counted; past
 * {@linkplain UdpServerOptions#maxClientsPerIp() the limit per IP} a new registration gets
 * {@code ! too many connections from your address}.
 *
 * <p><b>Threading.</b> One loop thread owns everything: the channel, the peer table, the hub and
 * its rooms. {@link #start} creates that thread; {@link #attach} runs on a loop you drive (for
 * example shared with a TCP server, so both share rooms on one thread). Other threads never touch
 * the server's state: {@link #stop()} hands the work to the loop ({@code execute}, which wakes the
 * selector) and waits for it; {@link #localAddress()}, {@link #port()} and
 * {@link #droppedDatagrams()} are safe from any thread.
 *
 * <p><b>Errors are scoped.</b> A datagram that cannot be handled or sent is logged through
 * {@link System.Logger} (and, if never sent, counted in {@link #droppedDatagrams()}); the loop
 * goes on.
 */
public final class UdpChatServer implements AutoCloseable {
    /** Most datagrams read per ready event, so a flood cannot starve timers and other channels. */
    static final int MAX_READS_PER_PASS = 256;
    /** Bytes the send queue may hold, payload and per-entry overhead (see {@link SendQueue}). */
    static final long MAX_QUEUED_BYTES = 64L << 20;
    /** Longest wait in {@link #stop()} for the loop, and at shutdown for queued datagrams. */
    static final long STOP_TIMEOUT_MILLIS = 5_000;
    static final long SHUTDOWN_FLUSH_MILLIS = 500;
    /** Socket buffers asked for; the kernel may grant less. */
    static final int SOCKET_BUFFER_BYTES = 1 << 20;

    private static final Logger LOG = System.getLogger(UdpChatServer.class.getName());
    private static final Frame SERVER_FULL = Frame.error("server full");
    private static final Frame SHUTTING_DOWN = Frame.notice("server shutting down");
    private static final Frame TOO_MANY_FROM_ADDRESS =
            Frame.error("too many connections from your address");

    private final EventLoop loop;
    private final ChatHub hub;
    private final UdpServerOptions options;
    private final boolean ownsLoop;
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

    private UdpChatServer(EventLoop loop, ChatHub hub, UdpServerOptions options, boolean ownsLoop,
                          DatagramChannel channel, UnaryOperator<DatagramSender.Wire> wires)
            throws IOException {
        this.loop = loop;
        this.hub = hub;
        this.options = options;
        this.ownsLoop = ownsLoop;
        this.channel = channel;
        this.localAddress = (InetSocketAddress) channel.getLocalAddress();
        this.tooLong = Frame.error("message too long (max " + options.maxMessageBytes() + " bytes)");
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

    /**
     * Binds a server on a new loop thread with a new hub of its own.
     *
     * @param options where to bind, and limits
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static UdpChatServer start(UdpServerOptions options) throws IOException {
        return start(options, HubOptions.defaults());
    }

    /**
     * Binds a server on a new loop thread with a new hub of its own, made with {@code hubOptions}
     * (its reply bound lowered to {@link UdpServerOptions#maxMessageBytes()}, so that no reply is
     * longer than the datagrams the server accepts).
     *
     * @param options where to bind, and limits
     * @param hubOptions the hub's settings (announce limit, list bounds)
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static UdpChatServer start(UdpServerOptions options, HubOptions hubOptions)
            throws IOException {
        return start(options, hubOptions, UnaryOperator.identity());
    }

    /**
     * Binds a server on a new loop thread with a new hub whose names and rooms are shared with
     * other shards through {@code directory} and {@code bus} (for a chat that spans processes, say
     * over Redis). Stopping the server stops its loop; the directory and bus are the caller's to
     * close.
     *
     * @param options where to bind, and limits
     * @param hubOptions the hub's settings
     * @param directory the names and rooms the hub shares
     * @param bus how frames reach the other shards
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static UdpChatServer start(UdpServerOptions options, HubOptions hubOptions,
                                      Directory directory, RoomBus bus) throws IOException {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(bus, "bus");
        return start(options, hubOptions, UnaryOperator.identity(),
                (loop, bounded) -> new ChatHub(loop, bounded, directory, bus));
    }

    static UdpChatServer start(UdpServerOptions options, UnaryOperator<DatagramSender.Wire> wires)
            throws IOException {
        return start(options, HubOptions.defaults(), wires);
    }

    static UdpChatServer start(UdpServerOptions options, HubOptions hubOptions,
                               UnaryOperator<DatagramSender.Wire> wires) throws IOException {
        return start(options, hubOptions, wires, ChatHub::new);
    }

    private static UdpChatServer start(UdpServerOptions options, HubOptions hubOptions,
                                       UnaryOperator<DatagramSender.Wire> wires,
                                       java.util.function.BiFunction<EventLoop, HubOptions, ChatHub> hubs)
            throws IOException {
        Objects.requireNonNull(hubOptions, "hubOptions");
        EventLoop loop = new EventLoop();
        UdpChatServer server;
        try {
            HubOptions bounded = hubOptions.withMaxReplyBytes(
                    Math.min(hubOptions.maxReplyBytes(), options.maxMessageBytes()));
            server = bind(loop, hubs.apply(loop, bounded), options, true, wires);
        } catch (IOException | RuntimeException e) {
            loop.close();
            throw e;
        }
        loop.start("chat-udp-" + server.port());
        return server;
    }

    /**
     * Binds a server on loop 0 of a group that has not started yet, so that UDP clients share rooms
     * with the group's other transports, whose clients may be on any loop. The UDP socket stays on
     * one loop: a socket per loop on one port ({@code SO_REUSEPORT}) would let the kernel spread
     * clients, but on the kernel these tests run on (gVisor) one client's datagrams were seen
     * reaching two sockets, which would register it twice.
     *
     * @param group the loops and hub shards
     * @param options where to bind, and limits
     * @return the server, serving once the loops run
     * @throws IOException if the address cannot be bound
     */
    public static UdpChatServer attach(HubGroup group, UdpServerOptions options)
            throws IOException {
        return attach(group.loop(0), group.hub(0), options);
    }

    /**
     * Binds a server on an existing loop and hub, so that it shares rooms (and the thread) with
     * whatever else runs there. Safe from any thread: off the loop thread it hands the work to
     * the loop and waits (at most 10 s), as {@code TcpChatServer.attach} does.
     * {@link #stop()} then closes only this server's channel and clients; the loop goes on.
     *
     * @param loop the loop to run on
     * @param hub the hub to feed, owned by the same loop
     * @param options where to bind, and limits
     * @return the server, serving as soon as the loop runs
     * @throws IOException if the address cannot be bound
     * @throws IllegalStateException if the loop is stopping
     */
    public static UdpChatServer attach(EventLoop loop, ChatHub hub, UdpServerOptions options)
            throws IOException {
        Objects.requireNonNull(loop, "loop");
        if (loop.inLoopThread()) {
            return bind(loop, hub, options, false, UnaryOperator.identity());
        }
        // Off the loop thread: the loop binds, this thread waits (as TcpChatServer.attach does).
        java.util.concurrent.CompletableFuture<UdpChatServer> made =
                new java.util.concurrent.CompletableFuture<>();
        loop.execute(() -> {
            try {
                made.complete(bind(loop, hub, options, false, UnaryOperator.identity()));
            } catch (IOException | RuntimeException e) {
                made.completeExceptionally(e);
            }
        });
        try {
            return made.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("attach failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while attaching", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("the loop did not run the attach within 10 s", e);
        }
    }

    static UdpChatServer bind(EventLoop loop, ChatHub hub, UdpServerOptions options,
                              boolean ownsLoop, UnaryOperator<DatagramSender.Wire> wires)
            throws IOException {
        Objects.requireNonNull(loop, "loop");
        Objects.requireNonNull(hub, "hub");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(wires, "wires");
        if (!loop.inLoopThread()) {
            throw new IllegalStateException("attach on the loop's thread or before it starts");
        }
        if (loop.isStopping()) {
            throw new IllegalStateException("the loop is stopping");
        }
        InetSocketAddress address = new InetSocketAddress(options.host(), options.port());
        if (address.isUnresolved()) {
            throw new IOException("cannot resolve host " + options.host());
        }
        DatagramChannel channel = DatagramChannel.open();
        try {
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
            if (options.reusePort()) {
                if (!channel.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT)) {
                    throw new IOException("SO_REUSEPORT is not supported on this platform "
                            + "(reusePort is on)");
                }
                channel.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            }
            channel.bind(address);
            UdpChatServer server = new UdpChatServer(loop, hub, options, ownsLoop, channel, wires);
            LOG.log(Level.DEBUG, "listening on {0} (udp)", server.localAddress);
            return server;
        } catch (IOException | RuntimeException e) {
            try {
                channel.close();
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            if (e instanceof UnresolvedAddressException) {
                throw new IOException("cannot resolve host " + options.host(), e);
            }
            throw e;
        }
    }

    /** @return the bound address; safe from any thread */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** @return the bound port; safe from any thread */
    public int port() {
        return localAddress.getPort();
    }

    /**
     * @return datagrams the server gave up on since it started: the send queue was full, or a
     *         send failed; safe from any thread
     */
    public long droppedDatagrams() {
        return sender.dropped();
    }

    /**
     * Tells every client of this server {@code * server shutting down}, forgets them (the hub
     * tells nobody) and closes the channel; a server from {@link #start} also stops its loop.
     * Safe from any thread: off the loop thread it hands the work to the loop and waits for it,
     * at most a few seconds. Idempotent.
     */
    public void stop() {
        if (loop.inLoopThread()) {
            if (ownsLoop) {
                shutdown();
                loop.stop();
            } else {
                beginShutdown();
            }
            return;
        }
        if (ownsLoop) {
            loop.stop(); // the loop's close hook runs shutdown()
            await(() -> loop.awaitTermination(STOP_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS));
        } else {
            loop.execute(this::beginShutdown);
            await(() -> stopped.await(STOP_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS));
        }
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    private interface Wait {
        boolean await() throws InterruptedException;
    }

    private void await(Wait wait) {
        try {
            if (!wait.await()) {
                LOG.log(Level.WARNING, "{0} did not stop within {1} ms", this, STOP_TIMEOUT_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits until the server has stopped (for the command line).
     *
     * @return whether it stopped within the timeout
     */
    boolean awaitStopped(long timeout, TimeUnit unit) throws InterruptedException {
        return ownsLoop ? loop.awaitTermination(timeout, unit) : stopped.await(timeout, unit);
    }

    /** @return registered clients; safe from any thread (a snapshot) */
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
     * A datagram "from" this very socket can only be spoofed, and answering it would make the
     * server talk to itself for ever: such datagrams are ignored.
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
            if (peers.size() >= options.maxClients()) {
                sender.send(SERVER_FULL, from);
                return;
            }
            if (options.maxClientsPerIp() > 0
                    && peers.countAt(from.getAddress()) >= options.maxClientsPerIp()) {
                sender.send(TOO_MANY_FROM_ADDRESS, from);
                return;
            }
            peer = register(from, now);
        }
        if (truncated) {
            peer.send(tooLong);
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
            registered = peers.size();
            peer.markGone();
            throw e;
        }
        return peer;
    }

    private void expire() {
        if (closed) {
            return;
        }
        List<Peer> expired = peers.expire(loop.nanoTime(), timeoutNanos);
        if (expired.isEmpty()) {
            return;
        }
        registered = peers.size();
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
     * The loop is ending (its close hook): tell everyone, flush for at most
     * {@value #SHUTDOWN_FLUSH_MILLIS} ms (the loop runs no more passes, so this waits on its
     * thread), close.
     */
    private void shutdown() {
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
     * {@link #stop()} on a loop that goes on: tell everyone, then let the loop's passes flush
     * (OP_WRITE), checking every few milliseconds, for at most {@value #SHUTDOWN_FLUSH_MILLIS} ms,
     * and close; the loop thread never waits, so the loop's other transports are not stalled.
     */
    private void beginShutdown() {
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
        registered = 0;
        for (Peer p : all) {
            sender.send(SHUTTING_DOWN, p.address());
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
                registered = peers.size();
            }
            peer.markGone();
        }
    }

    @Override
    public String toString() {
        return "UdpChatServer[" + Datagrams.addressText(localAddress) + ", clients=" + registered
                + ", " + sender + (validator != null ? ", validating, challenges=" + challengesSent
                + ", unanswered=" + unanswered : "")
                + (rateLimited > 0 ? ", rate-limited=" + rateLimited : "")
                + (closed ? ", closed" : "") + "]";
    }

    /** The socket can take more: send what is queued. */
    private void onWritable() {
        sender.onWritable();
    }
}
