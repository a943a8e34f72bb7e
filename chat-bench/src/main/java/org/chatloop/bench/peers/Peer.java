package org.chatloop.bench.peers;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Every server the fan-out benchmark compares; {@link #start()} binds 127.0.0.1 on a free port and
 * returns once listening. The constant names are stable, for JMH {@code @Param} and command lines.
 */
public enum Peer {
    /**
     * Our {@code chat-tcp} server with default options. Besides {@code "<ip:port> LINE"} it
     * sends notice lines ({@code * welcome ...}, {@code * ... joined lobby}).
     */
    CHATLOOP {
        @Override
        PeerServer open() throws IOException {
            return ChatloopPeer.start();
        }
    },
    /**
     * Our {@code chat-tcp} server as {@link #CHATLOOP}, on two loop threads: connections spread
     * over both (least-loaded), the room spanning them through the in-process room bus.
     */
    CHATLOOP_2_LOOPS {
        @Override
        PeerServer open() throws IOException {
            return ChatloopPeer.start(2);
        }
    },
    /** {@link NettyIdiomaticServer}: {@code ChannelGroup.writeAndFlush} per message. */
    NETTY_IDIOMATIC {
        @Override
        PeerServer open() throws IOException {
            return NettyIdiomaticServer.start();
        }
    },
    /** {@link NettyTunedServer} on NIO: write per message, one flush per read batch. */
    NETTY_TUNED_NIO {
        @Override
        PeerServer open() throws IOException {
            return NettyTunedServer.startNio();
        }
    },
    /** {@link NettyTunedServer} on native epoll (Linux; fails if epoll is unavailable). */
    NETTY_TUNED_EPOLL {
        @Override
        PeerServer open() throws IOException {
            return NettyTunedServer.startEpoll();
        }
    },
    /** {@link ThreadPerClientServer}: blocking sockets, one thread per client. */
    THREAD_PER_CLIENT {
        @Override
        PeerServer open() throws IOException {
            return ThreadPerClientServer.start();
        }
    },
    /** {@link FloorServer}: a bare selector loop relaying raw bytes, no prefix. */
    FLOOR {
        @Override
        PeerServer open() throws IOException {
            return FloorServer.start();
        }
    };

    abstract PeerServer open() throws IOException;

    /**
     * Starts this peer; returns once it is listening.
     *
     * @return the running server
     * @throws UncheckedIOException if it cannot bind
     * @throws IllegalStateException for {@link #NETTY_TUNED_EPOLL} where epoll is unavailable
     */
    public PeerServer start() {
        try {
            return open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name(), e);
        }
    }

    /** @return whether the relayed lines carry the {@code "<ip:port> "} prefix (all but FLOOR) */
    public boolean prefixesSender() {
        return this != FLOOR;
    }
}
