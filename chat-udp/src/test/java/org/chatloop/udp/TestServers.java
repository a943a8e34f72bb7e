package org.chatloop.udp;

import java.io.IOException;
import org.chatloop.core.HubOptions;

/**
 * How the server suites start their servers: on one loop, or, with the system property
 * {@code chatloop.test.loops} set to N (the build runs the suites a second time with 2), on N
 * loops with a socket each on one port, so that every test checks that a server on N loops
 * behaves as on one.
 */
final class TestServers {
    static final int LOOPS = Integer.getInteger("chatloop.test.loops", 1);

    private TestServers() {
    }

    static UdpChatServer start(UdpServerOptions options) throws IOException {
        return UdpChatServer.start(options, HubOptions.defaults(), LOOPS);
    }
}
