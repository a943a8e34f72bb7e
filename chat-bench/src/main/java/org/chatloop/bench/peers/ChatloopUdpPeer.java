package org.chatloop.bench.peers;

import java.io.IOException;
import org.chatloop.core.HubOptions;
import org.chatloop.udp.UdpChatServer;
import org.chatloop.udp.UdpServerOptions;

/**
 * Adapts our own {@link UdpChatServer} to {@link UdpPeerServer}: default options on port 0, with
 * a send queue of a million datagrams so that the server itself does not drop under a burst. The
 * heartbeat timeout stays at its default (10 s); the harness pings more often than that.
 */
final class ChatloopUdpPeer implements UdpPeerServer {
    /** Datagrams the server may queue while its socket's send buffer is full. */
    static final int MAX_QUEUED_DATAGRAMS = 1 << 20;

    private final UdpChatServer server;

    private ChatloopUdpPeer(UdpChatServer server) {
        this.server = server;
    }

    /**
     * @param validating whether new addresses must answer a challenge first
     * @param loops loop threads, each with a socket on the port
     */
    static ChatloopUdpPeer start(boolean validating, int loops) throws IOException {
        return new ChatloopUdpPeer(UdpChatServer.start(UdpServerOptions.defaults()
                .withPort(0)
                .withMaxQueuedDatagrams(MAX_QUEUED_DATAGRAMS)
                .withAddressValidation(validating ? UdpServerOptions.AddressValidation.ON
                        : UdpServerOptions.AddressValidation.AUTO),
                HubOptions.defaults(), loops));
    }

    @Override
    public int port() {
        return server.port();
    }

    @Override
    public long dropped() {
        return server.droppedDatagrams();
    }

    @Override
    public void close() {
        server.stop();
    }

    @Override
    public String toString() {
        return "ChatloopUdpPeer[" + server + "]";
    }
}
