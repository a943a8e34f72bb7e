package org.chatloop.bench.peers;

import java.io.IOException;
import org.chatloop.core.HubOptions;
import org.chatloop.tcp.TcpChatServer;
import org.chatloop.tcp.TcpServerOptions;
import org.chatloop.tcp.WebSocketOptions;

/** Adapts our own {@link TcpChatServer} (default options, port 0) to {@link PeerServer}. */
final class ChatloopPeer implements PeerServer {
    private final TcpChatServer server;
    /** The loop threads' name: {@code chat-tcp-PORT} (or {@code chat-ws-PORT}), {@code -i} for N. */
    private final String loopThreadName;

    private ChatloopPeer(TcpChatServer server) {
        this.server = server;
        this.loopThreadName = (server.isWebSocket() ? "chat-ws-" : "chat-tcp-") + server.port();
    }

    static ChatloopPeer start() throws IOException {
        return new ChatloopPeer(TcpChatServer.start(TcpServerOptions.defaults().withPort(0)));
    }

    /**
     * @param loops how many loop threads (connections spread over them, rooms spanning them)
     * @return our server with default options and default hub options on {@code loops} loops
     */
    static ChatloopPeer start(int loops) throws IOException {
        return new ChatloopPeer(TcpChatServer.start(TcpServerOptions.defaults().withPort(0),
                HubOptions.defaults(), loops));
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

    /**
     * @return whether {@code threadName} is one of the server's loop threads:
     *         {@code chat-tcp-PORT} on one loop, {@code chat-tcp-PORT-0}, {@code -1}, ... on N
     */
    @Override
    public boolean isServerThread(String threadName) {
        return threadName.equals(loopThreadName) || threadName.startsWith(loopThreadName + "-");
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
