package org.chatloop.tcp;

import java.io.IOException;
import org.chatloop.core.HubOptions;

/**
 * How the server suites start their servers: on one loop, or, with the system property
 * {@code chatloop.test.loops} set to N (the build runs the suites a second time with 2), on N
 * loops whose hub shards share rooms, so that every test checks that a server on N loops behaves
 * as on one.
 */
final class TestServers {
    static final int LOOPS = Integer.getInteger("chatloop.test.loops", 1);

    private TestServers() {
    }

    static TcpChatServer start(TcpServerOptions options) throws IOException {
        return TcpChatServer.start(options, HubOptions.defaults(), LOOPS);
    }

    static TcpChatServer start(TcpServerOptions options, HubOptions hubOptions)
            throws IOException {
        return TcpChatServer.start(options, hubOptions, LOOPS);
    }

    static TcpChatServer startWebSocket(TcpServerOptions options, HubOptions hubOptions,
                                        WebSocketOptions ws) throws IOException {
        return TcpChatServer.startWebSocket(options, hubOptions, ws, LOOPS);
    }
}
