package org.chatloop.server;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.chatloop.core.ChatHub;
import org.chatloop.core.HubOptions;
import org.chatloop.loop.EventLoop;
import org.chatloop.tcp.TcpChatServer;
import org.chatloop.udp.UdpChatServer;

/**
 * One process, one hub: TCP line clients ({@code nc}, {@code telnet}, the seed's client), UDP
 * clients and browsers (the chat page over WebSocket) in the same rooms, all served by one
 * {@link EventLoop} thread.
 *
 * <pre>{@code
 * try (ChatServer server = ChatServer.start(ChatServerOptions.defaults())) {
 *     System.out.println("browsers: http://" + server.httpAddress().orElseThrow());
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Threading.</b> The loop thread owns the hub and every listener and connection, without
 * locks; the listeners are attached on that thread. The methods here may be called from any
 * thread: the addresses are fixed at start, and {@link #stop()} hands the shutdown to the loop
 * and waits.
 */
public final class ChatServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ChatServer.class.getName());

    private final EventLoop loop;
    private final TcpChatServer tcp;
    private final UdpChatServer udp;
    private final TcpChatServer http;

    private ChatServer(EventLoop loop, TcpChatServer tcp, UdpChatServer udp, TcpChatServer http) {
        this.loop = loop;
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
        Objects.requireNonNull(options, "options");
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
        EventLoop loop = new EventLoop();
        ChatHub hub = new ChatHub(loop, hubOptions);
        loop.start("chat-server");
        CompletableFuture<ChatServer> made = new CompletableFuture<>();
        loop.execute(() -> {
            List<AutoCloseable> bound = new ArrayList<>();
            String listener = "tcp";
            try {
                TcpChatServer t = null;
                UdpChatServer u = null;
                TcpChatServer h = null;
                if (options.tcp() != null) {
                    t = TcpChatServer.attach(loop, hub, options.tcp());
                    bound.add(t);
                }
                listener = "udp";
                if (options.udp() != null) {
                    u = UdpChatServer.attach(loop, hub, options.udp());
                    bound.add(u);
                }
                listener = "http";
                if (options.http() != null) {
                    h = TcpChatServer.attachWebSocket(loop, hub, options.http(),
                            options.webSocket());
                    bound.add(h);
                }
                made.complete(new ChatServer(loop, t, u, h));
            } catch (IOException | RuntimeException e) {
                for (AutoCloseable c : bound) {
                    try {
                        c.close();
                    } catch (Exception ignored) {
                        // already failing; the loop stops below
                    }
                }
                made.completeExceptionally(new ListenerException(listener, e));
            }
        });
        try {
            return made.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            stopAndWait(loop);
            if (e.getCause() instanceof ListenerException le) {
                throw le;
            }
            throw new IOException("start failed", e.getCause());
        } catch (InterruptedException e) {
            loop.stop();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting", e);
        } catch (TimeoutException e) {
            stopAndWait(loop);
            throw new IOException("the loop did not bind the listeners within 30 s", e);
        }
    }

    /**
     * Ends the loop and waits for it: a channel closed on a loop frees its port only when the
     * selector lets go of it, so a caller that binds the port again right after a failed start
     * must find it free.
     */
    private static void stopAndWait(EventLoop loop) {
        loop.stop();
        try {
            loop.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
        loop.stop();
        try {
            if (!loop.inLoopThread() && !loop.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.log(Level.WARNING, "the loop did not end within 5 s");
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

    @Override
    public String toString() {
        return "ChatServer[tcp=" + tcpAddress().orElse(null) + ", udp=" + udpAddress().orElse(null)
                + ", http=" + httpAddress().orElse(null) + "]";
    }
}
