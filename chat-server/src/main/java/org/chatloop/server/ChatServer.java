package org.chatloop.server;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;
import org.chatloop.core.Directory;
import org.chatloop.core.HubGroup;
import org.chatloop.core.HubOptions;
import org.chatloop.core.RoomBus;
import org.chatloop.loop.EventLoop;
import org.chatloop.tcp.TcpChatServer;
import org.chatloop.udp.UdpChatServer;

/**
 * One process, one hub: TCP line clients ({@code nc}, {@code telnet}, the seed's client), UDP
 * clients and browsers (the chat page over WebSocket) in the same rooms, served by one
 * {@link EventLoop} thread, or by a {@link HubGroup} of N with
 * {@link #start(ChatServerOptions, int)}.
 *
 * <pre>{@code
 * try (ChatServer server = ChatServer.start(ChatServerOptions.defaults())) {
 *     System.out.println("browsers: http://" + server.httpAddress().orElseThrow());
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Threading.</b> Each loop thread owns its hub shard and its connections, without locks;
 * the listeners are bound before the loops start. The methods here may be called from any
 * thread: the addresses are fixed at start, and {@link #stop()} hands the shutdown to the loop
 * and waits.
 */
public final class ChatServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ChatServer.class.getName());

    private final HubGroup group;
    private final TcpChatServer tcp;
    private final UdpChatServer udp;
    private final TcpChatServer http;

    private ChatServer(HubGroup group, TcpChatServer tcp, UdpChatServer udp, TcpChatServer http) {
        this.group = group;
        this.tcp = tcp;
        this.udp = udp;
        this.http = http;
    }

    /**
     * Starts a loop thread and a hub, and binds every listener that {@code options} turns on.
     *
     * @param options the listeners and the hub
     * @return the running server
     * @throws ListenerException if a listener cannot be bound (then nothing is left running)
     */
    public static ChatServer start(ChatServerOptions options) throws IOException {
        return start(options, 1);
    }

    /**
     * Starts {@code loops} loop threads with a hub shard each ({@link HubGroup}), and binds every
     * listener that {@code options} turns on: TCP and HTTP connections are spread over the loops,
     * UDP has a socket on each loop, all on one port, over which the kernel spreads source
     * addresses (see {@link UdpChatServer#attach(HubGroup, org.chatloop.udp.UdpServerOptions)});
     * rooms span every loop.
     *
     * @param options the listeners and the hub
     * @param loops how many loops, at least 1
     * @return the running server
     * @throws ListenerException if a listener cannot be bound (then nothing is left running)
     */
    public static ChatServer start(ChatServerOptions options, int loops) throws IOException {
        return start(options, loops, null, null);
    }

    /**
     * Starts {@code loops} loop threads whose hub shards share {@code directory} and {@code bus}
     * (a chat that spans processes, such as a cluster over Redis), and binds every listener that
     * {@code options} turns on. Stopping the server stops its loops; the directory and bus are the
     * caller's to close (close a cluster before stopping the server, so that the other nodes hear
     * this one's members leave).
     *
     * @param options the listeners and the hub
     * @param loops how many loops, at least 1
     * @param directory the names and rooms every shard shares, or null for this process's own
     * @param bus how frames reach the other shards, or null for this process's own
     * @return the running server
     * @throws ListenerException if a listener cannot be bound (then nothing is left running)
     */
    public static ChatServer start(ChatServerOptions options, int loops, Directory directory,
                                   RoomBus bus) throws IOException {
        Objects.requireNonNull(options, "options");
        if ((directory == null) != (bus == null)) {
            throw new IllegalArgumentException("give both a directory and a bus, or neither");
        }
        int shortest = Integer.MAX_VALUE;
        if (options.tcp() != null) {
            shortest = Math.min(shortest, options.tcp().maxLineBytes());
        }
        if (options.http() != null) {
            shortest = Math.min(shortest, options.http().maxLineBytes());
        }
        if (options.udp() != null) {
            shortest = Math.min(shortest, options.udp().maxMessageBytes());
        }
        HubOptions hubOptions = options.hub().withMaxReplyBytes(Math.max(HubOptions.MIN_REPLY_BYTES,
                Math.min(options.hub().maxReplyBytes(), shortest)));
        // Until the loops start, this thread sets them up: every listener is bound here, and a
        // failure closes the loops (and with them every socket bound so far) before it returns.
        HubGroup group = directory == null ? HubGroup.create(loops, hubOptions)
                : HubGroup.create(loops, hubOptions, directory, bus);
        String listener = "tcp";
        try {
            TcpChatServer t = null;
            UdpChatServer u = null;
            TcpChatServer h = null;
            if (options.tcp() != null) {
                t = TcpChatServer.attach(group, options.tcp());
            }
            listener = "udp";
            if (options.udp() != null) {
                u = UdpChatServer.attach(group, options.udp());
            }
            listener = "http";
            if (options.http() != null) {
                h = TcpChatServer.attachWebSocket(group, options.http(), options.webSocket());
            }
            group.startLoops("chat-server");
            return new ChatServer(group, t, u, h);
        } catch (IOException | RuntimeException e) {
            group.closeUnstarted();
            throw new ListenerException(listener, e);
        }
    }

    /** A listener could not be bound: says which ({@code tcp}, {@code udp} or {@code http}). */
    public static final class ListenerException extends IOException {
        private static final long serialVersionUID = 1L;
        private final String listener;

        ListenerException(String listener, Exception cause) {
            super(listener + ": " + cause.getMessage(), cause);
            this.listener = listener;
        }

        /** @return {@code tcp}, {@code udp} or {@code http} */
        public String listener() {
            return listener;
        }
    }

    /** @return the TCP listener's address, if TCP is on */
    public Optional<InetSocketAddress> tcpAddress() {
        return Optional.ofNullable(tcp).map(TcpChatServer::localAddress);
    }

    /** @return the UDP socket's address, if UDP is on */
    public Optional<InetSocketAddress> udpAddress() {
        return Optional.ofNullable(udp).map(UdpChatServer::localAddress);
    }

    /** @return the HTTP (WebSocket) listener's address, if HTTP is on */
    public Optional<InetSocketAddress> httpAddress() {
        return Optional.ofNullable(http).map(TcpChatServer::localAddress);
    }

    /**
     * Stops every listener (each tells its clients {@code * server shutting down} and flushes for
     * at most its flush timeout), then the loop thread. Safe from any thread; idempotent.
     */
    public void stop() {
        for (AutoCloseable c : new AutoCloseable[] {http, tcp, udp}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.log(Level.WARNING, "stopping " + c, e);
                }
            }
        }
        group.stop();
    }

    /** @return how many loops serve the listeners */
    public int loopCount() {
        return group.size();
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    @Override
    public String toString() {
        return "ChatServer[tcp=" + tcpAddress().orElse(null) + ", udp=" + udpAddress().orElse(null)
                + ", http=" + httpAddress().orElse(null) + "]";
    }
}
