package org.chatloop.bench.peers;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.chatloop.bench.peers.NettyTunedServer.Transport;
import org.chatloop.bench.peers.NettyWebSocketServer.Framing;

/**
 * The servers the WebSocket benchmark compares; {@link #start()} binds 127.0.0.1 on a free port and
 * returns once listening. The constant names are stable, for JMH {@code @Param}.
 */
public enum WebSocketPeer {
    /** Our {@code chat-tcp} server with default options, speaking WebSocket at {@code /ws}. */
    CHATLOOP_WS {
        @Override
        PeerServer open() throws IOException {
            return ChatloopPeer.startWebSocket();
        }
    },
    /** Our server in plain TCP lines: what WebSocket costs. */
    CHATLOOP_TCP {
        @Override
        PeerServer open() throws IOException {
            return ChatloopPeer.start();
        }

        @Override
        public boolean webSocket() {
            return false;
        }
    },
    /**
     * {@link NettyWebSocketServer} on native epoll with Netty's WebSocket codec: one
     * {@code TextWebSocketFrame} per message, a retained duplicate per recipient, framed by each
     * channel's encoder.
     */
    NETTY_WS {
        @Override
        PeerServer open() throws IOException {
            return NettyWebSocketServer.start(Transport.EPOLL, Framing.CODEC);
        }
    },
    /**
     * {@link NettyWebSocketServer} on native epoll, each message framed once into bytes that every
     * recipient shares (the codec only for the handshake and the inbound side).
     */
    NETTY_WS_PREFRAMED {
        @Override
        PeerServer open() throws IOException {
            return NettyWebSocketServer.start(Transport.EPOLL, Framing.PREFRAMED);
        }
    };

    abstract PeerServer open() throws IOException;

    /**
     * Starts this peer; returns once it is listening.
     *
     * @return the running server
     * @throws UncheckedIOException if it cannot bind
     * @throws IllegalStateException for the Netty peers where native epoll is unavailable
     */
    public PeerServer start() {
        try {
            return open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name(), e);
        }
    }

    /** @return whether clients must upgrade to WebSocket (all but {@link #CHATLOOP_TCP}) */
    public boolean webSocket() {
        return true;
    }
}
