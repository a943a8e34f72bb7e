package org.chatloop.udp;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.nio.channels.UnresolvedAddressException;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Directory;
import org.chatloop.core.HubGroup;
import org.chatloop.core.HubOptions;
import org.chatloop.core.RoomBus;
import org.chatloop.loop.EventLoop;

/**
 * A UDP chat server: non-blocking {@link DatagramChannel}s on {@link EventLoop}s, one per loop,
 * serving the rooms, names and commands of a {@link ChatHub} (or of the hub shards of a
 * {@link HubGroup}) with the same wire text as the TCP server.
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
 * <p><b>Loops.</b> On one loop ({@link #start(UdpServerOptions, HubOptions)},
 * {@link #attach(EventLoop, ChatHub, UdpServerOptions)}, a group of one) the server is one socket.
 * On a group of N loops ({@link #start(UdpServerOptions, HubOptions, int)},
 * {@link #attach(HubGroup, UdpServerOptions)}) it is N sockets bound to the same address with
 * {@code SO_REUSEPORT}, one on each loop and feeding that loop's hub shard: Linux hashes each
 * source address (with the destination) to one socket of the port's reuseport group, always the
 * same one while the group's sockets stay the same, so each client is registered, served and
 * expired by one loop, and rooms span the loops through the group's room bus (a room message is
 * handed once to each other loop with members in it, which sends it from its own socket, on its
 * own core). This object stands for all the sockets: one port, one stop, the dropped datagrams
 * summed over them, and {@linkplain UdpServerOptions#maxClients() the client limits} counted
 * over them (the send queue bound, {@link UdpServerOptions#maxQueuedDatagrams()}, is per
 * socket). Without {@link UdpServerOptions#reusePort()} a server still refuses a port that is
 * taken, but once bound, a process of the same user that binds its port with
 * {@code SO_REUSEPORT} joins the group, as the nodes of a cluster with {@code reusePort} do on
 * purpose (every socket of every node is then one group). If the group changes while a client
 * is registered (a process joins or leaves the port), the client's datagrams may hash to another
 * socket, so another loop or node, which registers it anew (a second {@code * welcome}) while
 * the old registration times out. Where the platform has no {@code SO_REUSEPORT}, a group gets
 * one socket, on loop 0.
 *
 * <p><b>Threading.</b> Each socket, its peers and its hub shard are owned by its loop's thread
 * ({@code DatagramLoop}). {@link #start} creates the threads; {@link #attach} runs on loops you
 * drive (for example shared with a TCP server, so both share rooms). Other threads never touch a
 * loop's state: {@link #stop()} hands the work to each loop ({@code execute}, which wakes the
 * selector) and waits for it; {@link #localAddress()}, {@link #port()} and
 * {@link #droppedDatagrams()} are safe from any thread.
 *
 * <p><b>Errors are scoped.</b> A datagram that cannot be handled or sent is logged through
 * {@link System.Logger} (and, if never sent, counted in {@link #droppedDatagrams()}); the loop
 * goes on.
 */
public final class UdpChatServer implements AutoCloseable {
    /** Longest wait in {@link #stop()} for the loops. */
    static final long STOP_TIMEOUT_MILLIS = 5_000;
    /** Longest wait in an attach for a running loop to take its socket. */
    static final long ATTACH_TIMEOUT_MILLIS = 10_000;
    /** Socket buffers asked for; the kernel may grant less. */
    static final int SOCKET_BUFFER_BYTES = 1 << 20;

    private static final Logger LOG = System.getLogger(UdpChatServer.class.getName());

    /** One per loop served, all bound to {@link #localAddress}; never empty. */
    private final DatagramLoop[] sockets;
    /** Whether the loops are this server's (from {@link #start}): stopping it ends them. */
    private final boolean ownsLoops;
    private final ClientLimits limits;
    private final InetSocketAddress localAddress;

    private UdpChatServer(DatagramLoop[] sockets, boolean ownsLoops, ClientLimits limits) {
        this.sockets = sockets;
        this.ownsLoops = ownsLoops;
        this.limits = limits;
        this.localAddress = sockets[0].localAddress();
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
        return startGroup(options, hubOptions, 1, null, null);
    }

    /**
     * Binds a server on {@code loops} loop threads of its own, a {@link HubGroup} of hub shards
     * sharing rooms and names, with one socket per loop on one port (see the class comment).
     *
     * @param options where to bind, and limits
     * @param hubOptions every hub shard's settings (reply bound lowered as for
     *                   {@link #start(UdpServerOptions, HubOptions)})
     * @param loops how many loops, at least 1 (one per core is the usual choice)
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static UdpChatServer start(UdpServerOptions options, HubOptions hubOptions, int loops)
            throws IOException {
        return startGroup(options, hubOptions, loops, null, null);
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
        return start(options, hubOptions, 1, directory, bus);
    }

    /**
     * Binds a server on {@code loops} loop threads of its own, one socket per loop on one port,
     * whose hub shards share {@code directory} and {@code bus} with each other and with other
     * processes (a cluster). Stopping the server stops its loops; the directory and bus are the
     * caller's to close.
     *
     * @param options where to bind, and limits
     * @param hubOptions every hub shard's settings
     * @param loops how many loops, at least 1
     * @param directory the names and rooms the shards share
     * @param bus how frames reach the other shards
     * @return the running server
     * @throws IOException if the address cannot be bound
     */
    public static UdpChatServer start(UdpServerOptions options, HubOptions hubOptions, int loops,
                                      Directory directory, RoomBus bus) throws IOException {
        return startGroup(options, hubOptions, loops, Objects.requireNonNull(directory,
                "directory"), Objects.requireNonNull(bus, "bus"));
    }

    /** Binds a server on a group of its own, over {@code directory} and {@code bus} if not null. */
    private static UdpChatServer startGroup(UdpServerOptions options, HubOptions hubOptions,
                                            int loops, Directory directory, RoomBus bus)
            throws IOException {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(hubOptions, "hubOptions");
        if (loops < 1) {
            throw new IllegalArgumentException("loops must be at least 1: " + loops);
        }
        HubOptions bounded = hubOptions.withMaxReplyBytes(
                Math.min(hubOptions.maxReplyBytes(), options.maxMessageBytes()));
        HubGroup group;
        if (directory != null) {
            group = HubGroup.create(loops, bounded, directory, bus);
        } else if (loops > 1) {
            group = HubGroup.create(loops, bounded);
        } else {
            // One loop and a hub of its own, with no bus to flush: as before there were groups.
            EventLoop loop = new EventLoop();
            try {
                group = HubGroup.of(loop, new ChatHub(loop, bounded));
            } catch (RuntimeException e) {
                loop.close();
                throw e;
            }
        }
        UdpChatServer server;
        try {
            server = bind(group, options, true, UnaryOperator.identity());
        } catch (IOException | RuntimeException e) {
            group.closeUnstarted();
            throw e;
        }
        group.startLoops("chat-udp-" + server.port());
        return server;
    }

    /**
     * Binds a server on the loops of a group, so that UDP clients share rooms with the group's
     * other transports: one socket per loop on one port ({@code SO_REUSEPORT}), each feeding its
     * loop's hub shard (see the class comment); a group of one gets one socket. Every socket is
     * bound before any is handed to its loop, so the port's reuseport group is complete before a
     * datagram is read. Meant for a group whose loops have not started (the calling thread then
     * sets them up); on running loops it is safe from any thread too: it hands each socket to its
     * loop and waits, at most 10 s for each, as
     * {@link #attach(EventLoop, ChatHub, UdpServerOptions)} does. Stopping the server closes its
     * own sockets and clients only; the loops go on.
     *
     * @param group the loops and hub shards
     * @param options where to bind, and limits
     * @return the server, serving once the loops run
     * @throws IOException if the address cannot be bound
     * @throws IllegalStateException if a loop is stopping
     */
    public static UdpChatServer attach(HubGroup group, UdpServerOptions options)
            throws IOException {
        return bind(Objects.requireNonNull(group, "group"), options, false,
                UnaryOperator.identity());
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
        return attach(HubGroup.of(loop, hub), options);
    }

    /**
     * Binds a one-socket server on a loop from that loop's thread (or before it starts), with
     * {@code wires} wrapping the socket's send side (tests).
     */
    static UdpChatServer bind(EventLoop loop, ChatHub hub, UdpServerOptions options,
                              boolean ownsLoop, UnaryOperator<DatagramSender.Wire> wires)
            throws IOException {
        Objects.requireNonNull(loop, "loop");
        if (!loop.inLoopThread()) {
            throw new IllegalStateException("attach on the loop's thread or before it starts");
        }
        return bind(HubGroup.of(loop, hub), options, ownsLoop, wires);
    }

    /**
     * Opens the sockets on this thread, then hands each to its loop (at once, on this thread, if
     * that loop has not started). If anything fails, every socket bound so far is closed.
     */
    private static UdpChatServer bind(HubGroup group, UdpServerOptions options, boolean ownsLoops,
                                      UnaryOperator<DatagramSender.Wire> wires)
            throws IOException {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(wires, "wires");
        for (int i = 0; i < group.size(); i++) {
            if (group.loop(i).isStopping()) {
                throw new IllegalStateException("the loop is stopping");
            }
        }
        ClientLimits limits = new ClientLimits(options);
        DatagramChannel[] channels = open(options, group.size());
        DatagramLoop[] sockets = new DatagramLoop[channels.length];
        int served = 0;
        try {
            for (; served < channels.length; served++) {
                EventLoop loop = group.loop(served);
                ChatHub hub = group.hub(served);
                DatagramChannel channel = channels[served];
                sockets[served] = loop.callAndWait(
                        () -> new DatagramLoop(loop, hub, options, limits, channel, wires),
                        ATTACH_TIMEOUT_MILLIS);
            }
        } catch (IOException | RuntimeException e) {
            for (int i = served; i < channels.length; i++) {
                closeChannel(channels[i], e);
            }
            if (served > 0) {
                new UdpChatServer(Arrays.copyOf(sockets, served), false, limits).stop();
            }
            throw e;
        }
        UdpChatServer server = new UdpChatServer(sockets, ownsLoops, limits);
        LOG.log(Level.DEBUG, "listening on {0} (udp, {1} socket(s))", server.localAddress,
                sockets.length);
        return server;
    }

    /**
     * Opens and binds the sockets: one, or {@code wanted} on one port with {@code SO_REUSEPORT}
     * (one if the platform lacks it). The first binds the requested port, the others the port it
     * got. The first sets {@code SO_REUSEPORT} before it binds only to join a given port's group
     * ({@code reusePort} on, port not 0); otherwise it sets it once bound, so that a port that
     * any socket has already is refused, as with one socket, and port 0 is a free port (with the
     * option set first, Linux may hand out a port that a reuseport group of the same user has).
     */
    private static DatagramChannel[] open(UdpServerOptions options, int wanted)
            throws IOException {
        InetSocketAddress address = new InetSocketAddress(options.host(), options.port());
        if (address.isUnresolved()) {
            throw new IOException("cannot resolve host " + options.host());
        }
        DatagramChannel[] channels = new DatagramChannel[wanted];
        int opened = 0;
        try {
            DatagramChannel first = DatagramChannel.open();
            channels[opened++] = first;
            boolean supported = first.supportedOptions()
                    .contains(StandardSocketOptions.SO_REUSEPORT);
            if (options.reusePort() && !supported) {
                throw new IOException("SO_REUSEPORT is not supported on this platform "
                        + "(reusePort is on)");
            }
            int count = supported ? wanted : 1;
            if (count < wanted) {
                LOG.log(Level.INFO, "SO_REUSEPORT is not supported on this platform: one UDP "
                        + "socket, on loop 0 of {0}", wanted);
            }
            boolean join = options.reusePort() && address.getPort() != 0;
            configure(first, join);
            first.bind(address);
            if (!join && (options.reusePort() || count > 1)) {
                first.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            }
            InetSocketAddress bound = (InetSocketAddress) first.getLocalAddress();
            while (opened < count) {
                DatagramChannel ch = DatagramChannel.open();
                channels[opened++] = ch;
                configure(ch, true);
                ch.bind(bound);
            }
            return opened == wanted ? channels : Arrays.copyOf(channels, opened);
        } catch (IOException | RuntimeException e) {
            for (int i = 0; i < opened; i++) {
                closeChannel(channels[i], e);
            }
            if (e instanceof UnresolvedAddressException) {
                throw new IOException("cannot resolve host " + options.host(), e);
            }
            throw e;
        }
    }

    private static void configure(DatagramChannel ch, boolean reusePort) throws IOException {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
        ch.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
        if (reusePort) {
            ch.setOption(StandardSocketOptions.SO_REUSEPORT, true);
        }
    }

    private static void closeChannel(DatagramChannel ch, Exception failure) {
        try {
            ch.close();
        } catch (IOException again) {
            failure.addSuppressed(again);
        }
    }

    /** @return the bound address (every socket's); safe from any thread */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** @return the bound port; safe from any thread */
    public int port() {
        return localAddress.getPort();
    }

    /**
     * @return datagrams the server gave up on since it started, on every socket: a send queue was
     *         full, or a send failed; safe from any thread
     */
    public long droppedDatagrams() {
        long n = 0;
        for (DatagramLoop s : sockets) {
            n += s.dropped();
        }
        return n;
    }

    /**
     * Tells every client of this server {@code * server shutting down}, forgets them (the hub
     * tells nobody) and closes every socket, each once those notices are sent (or after half a
     * second); a server from {@link #start} also stops its loops. Safe from any thread: off the
     * loop threads it hands the work to each loop and waits for them, at most a few seconds; on
     * one of them it starts the shutdown and returns. Idempotent.
     */
    public void stop() {
        boolean onALoop = false;
        for (DatagramLoop s : sockets) {
            if (s.loop().inLoopThread()) {
                onALoop = true;
                if (ownsLoops) {
                    s.shutdown(); // the loop ends after this pass: flush here
                } else {
                    s.beginShutdown();
                }
            } else if (!ownsLoops) {
                s.loop().execute(s::beginShutdown);
            }
        }
        if (ownsLoops) {
            for (DatagramLoop s : sockets) {
                s.loop().stop(); // the loop's close hook runs its socket's shutdown()
            }
        }
        if (onALoop) {
            return;
        }
        try {
            if (!awaitStopped(STOP_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                LOG.log(Level.WARNING, "{0} did not stop within {1} ms", this,
                        STOP_TIMEOUT_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    /**
     * Waits until the server has stopped: every socket closed, and for a server from
     * {@link #start} every loop ended (for the command line).
     *
     * @return whether it stopped within the timeout
     */
    boolean awaitStopped(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        for (DatagramLoop s : sockets) {
            long left = Math.max(0, deadline - System.nanoTime());
            boolean done = ownsLoops ? s.loop().awaitTermination(left, TimeUnit.NANOSECONDS)
                    : s.awaitStopped(left, TimeUnit.NANOSECONDS);
            if (!done) {
                return false;
            }
        }
        return true;
    }

    /** @return registered clients, on every socket; safe from any thread (a snapshot) */
    int clientCount() {
        return limits.count();
    }

    /** @return how many sockets (and loops) serve this server */
    int socketCount() {
        return sockets.length;
    }

    /** @return socket {@code i}, served by loop {@code i} of the group */
    DatagramLoop socket(int i) {
        return sockets[i];
    }

    /** @return whether every socket has stopped serving; safe from any thread */
    boolean isClosed() {
        for (DatagramLoop s : sockets) {
            if (!s.isClosed()) {
                return false;
            }
        }
        return true;
    }

    /** @return whether new addresses must answer a challenge; safe from any thread */
    boolean validatesAddresses() {
        return sockets[0].validatesAddresses();
    }

    /** @return challenges sent so far, by every socket; safe from any thread */
    long challengesSent() {
        long n = 0;
        for (DatagramLoop s : sockets) {
            n += s.challengesSent();
        }
        return n;
    }

    /** @return datagrams of registered clients dropped past their rate; safe from any thread */
    long rateLimitedDatagrams() {
        long n = 0;
        for (DatagramLoop s : sockets) {
            n += s.rateLimitedDatagrams();
        }
        return n;
    }

    @Override
    public String toString() {
        return "UdpChatServer[" + Datagrams.addressText(localAddress) + ", " + limits + ", "
                + (sockets.length == 1 ? sockets[0] : Arrays.toString(sockets)) + "]";
    }
}
