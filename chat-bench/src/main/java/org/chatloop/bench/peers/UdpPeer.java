package org.chatloop.bench.peers;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Every UDP server the UDP fan-out benchmark compares; {@link #start()} binds 127.0.0.1 on a free
 * port and returns once bound. The constant names are stable, for JMH {@code @Param} and command
 * lines. All but {@link #CHATLOOP_2_LOOPS} relay on a single thread.
 */
public enum UdpPeer {
    /**
     * Our {@code chat-udp} server ({@link org.chatloop.udp.UdpChatServer}) with generous limits.
     * Besides {@code "<ip:port> TEXT"} it sends notices ({@code * welcome ...},
     * {@code * ... joined lobby}).
     */
    CHATLOOP {
        @Override
        UdpPeerServer open() throws IOException {
            return ChatloopUdpPeer.start(false, 1);
        }
    },
    /**
     * Our {@code chat-udp} server as {@link #CHATLOOP}, on two loop threads ({@code --loops 2}):
     * a socket each on one port ({@code SO_REUSEPORT}), the kernel spreading source addresses
     * over them, the room spanning both through the in-process room bus (a message is handed
     * once to the other loop, which sends it to its own members from its own socket).
     */
    CHATLOOP_2_LOOPS {
        @Override
        UdpPeerServer open() throws IOException {
            return ChatloopUdpPeer.start(false, 2);
        }
    },
    /**
     * The same server with {@code --address-validation on} (on loopback {@code auto} leaves it
     * off): every new address must answer a {@code * verify TOKEN} challenge before it is
     * registered; the harness answers it. Compared with {@link #CHATLOOP}, the cost of validation
     * once addresses are validated.
     */
    CHATLOOP_VALIDATING {
        @Override
        UdpPeerServer open() throws IOException {
            return ChatloopUdpPeer.start(true, 1);
        }
    },
    /**
     * {@link NettyDatagramServer}: Netty 4.2 NIO datagram channel, one buffer per message, a write
     * per recipient and one flush per read batch.
     */
    NETTY_NIO {
        @Override
        UdpPeerServer open() throws IOException {
            return NettyDatagramServer.start();
        }
    },
    /**
     * {@link BlockingDatagramServer}: a blocking {@link java.net.DatagramSocket} and one thread
     * that receives and sends each message to every address in turn.
     */
    BLOCKING_THREAD {
        @Override
        UdpPeerServer open() throws IOException {
            return BlockingDatagramServer.start();
        }
    };

    /** Socket buffer size asked for on every UDP socket of the benchmark (the kernel may cap it). */
    public static final int SOCKET_BUFFER_BYTES = 4 << 20;

    abstract UdpPeerServer open() throws IOException;

    /**
     * Starts this peer; returns once it is bound.
     *
     * @return the running server
     * @throws UncheckedIOException if it cannot bind
     */
    public UdpPeerServer start() {
        try {
            return open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name(), e);
        }
    }
}
