package org.chatloop.bench.peers;

import java.io.IOException;
import java.io.UncheckedIOException;
import javax.net.ssl.SSLContext;

/**
 * The servers the TLS benchmarks compare; {@link #start(SSLContext)} binds 127.0.0.1 on a free port
 * and returns once listening. The constant names are stable, for JMH {@code @Param}.
 */
public enum TlsPeer {
    /** Our {@code chat-tcp} server with default options, serving TLS. */
    CHATLOOP_TLS {
        @Override
        PeerServer open(SSLContext tls) throws IOException {
            return ChatloopPeer.startTls(tls);
        }
    },
    /** {@link NettyTunedServer} on NIO behind {@code SslHandler} on the JDK's engine. */
    NETTY_TUNED_TLS {
        @Override
        PeerServer open(SSLContext tls) throws IOException {
            return NettyTunedServer.startTls(tls);
        }
    },
    /** Our server in plain TCP: what TLS costs. */
    CHATLOOP_PLAIN {
        @Override
        PeerServer open(SSLContext tls) throws IOException {
            return ChatloopPeer.start();
        }

        @Override
        public boolean tls() {
            return false;
        }
    };

    abstract PeerServer open(SSLContext tls) throws IOException;

    /**
     * Starts this peer; returns once it is listening.
     *
     * @param tls the server context (ignored by {@link #CHATLOOP_PLAIN})
     * @return the running server
     * @throws UncheckedIOException if it cannot bind
     */
    public PeerServer start(SSLContext tls) {
        try {
            return open(tls);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name(), e);
        }
    }

    /** @return whether clients must speak TLS to this peer */
    public boolean tls() {
        return true;
    }
}
