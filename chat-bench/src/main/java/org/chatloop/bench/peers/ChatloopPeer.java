package org.chatloop.bench.peers;

import java.io.IOException;
import org.chatloop.core.HubOptions;
import org.chatloop.tcp.TcpChatServer;
import org.chatloop.tcp.TcpServerOptions;
import org.chatloop.tcp.WebSocketOptions;

/** Adapts our own {@link TcpChatServer} (default options, port 0) to {@link PeerServer}. */
final class ChatloopPeer implements PeerServer {
    private final TcpChatServer server;

    private ChatloopPeer(TcpChatServer server) {
        this.server = server;
    }

    static ChatloopPeer start() throws IOException {
        return new ChatloopPeer(TcpChatServer.start(TcpServerOptions.defaults().withPort(0)));
    }

    /**
     * @param tls the server context
     * @return our server with default options serving TLS
     */
    static ChatloopPeer startTls(javax.net.ssl.SSLContext tls) throws IOException {
        return new ChatloopPeer(TcpChatServer.start(TcpServerOptions.defaults().withPort(0)
                .withTls(tls)));
    }

    /**
     * @return our server with default options speaking HTTP/1.1 and WebSocket (upgrades at
     *         {@code /ws}, any origin), default hub options
     */
    static ChatloopPeer startWebSocket() throws IOException {
        return new ChatloopPeer(TcpChatServer.startWebSocket(TcpServerOptions.defaults().withPort(0),
                HubOptions.defaults(), WebSocketOptions.defaults()));
    }

    @Override
    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.stop();
    }

    @Override
    public String toString() {
        return "ChatloopPeer[" + server + "]";
    }
}
