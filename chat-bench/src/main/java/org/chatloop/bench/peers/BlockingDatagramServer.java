package org.chatloop.bench.peers;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Models the simplest UDP chat relay, the original Python design: one blocking
 * {@link DatagramSocket} and one thread that receives a datagram, registers its sender (any
 * datagram does; {@code #ping#} only registers), encodes the message once as
 * {@code "<ip:port> TEXT\n"} and sends it to every registered address in turn, the sender
 * included, with one blocking {@code send} each, before receiving the next. A full send buffer
 * blocks the thread (nothing is queued); a send that fails is counted in {@link #dropped()}.
 * Registered addresses never expire.
 */
public final class BlockingDatagramServer implements UdpPeerServer {
    private final DatagramSocket socket;
    private final int port;
    private final Thread thread;
    private volatile boolean closed;
    /** Written by the relay thread only. */
    private volatile long dropped;

    private BlockingDatagramServer(DatagramSocket socket) {
        this.socket = socket;
        this.port = socket.getLocalPort();
        this.thread = new Thread(this::run, "peer-udp-blocking-" + port);
        thread.setDaemon(true);
    }

    /**
     * Binds 127.0.0.1 on a free port and returns once bound, its thread receiving.
     *
     * @return the running server
     * @throws IOException if binding fails
     */
    public static BlockingDatagramServer start() throws IOException {
        DatagramSocket s = new DatagramSocket(null);
        try {
            s.setReceiveBufferSize(UdpPeer.SOCKET_BUFFER_BYTES);
            s.setSendBufferSize(UdpPeer.SOCKET_BUFFER_BYTES);
            s.bind(new InetSocketAddress(PeerSupport.loopback(), 0));
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        BlockingDatagramServer server = new BlockingDatagramServer(s);
        server.thread.start();
        return server;
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public long dropped() {
        return dropped;
    }

    /** Closes the socket, which ends the blocked receive, and waits up to 2 s for the thread. */
    @Override
    public void close() {
        closed = true;
        socket.close();
        if (Thread.currentThread() != thread) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "BlockingDatagramServer[port=" + port + ", dropped=" + dropped + "]";
    }

    private void run() {
        // One byte more than a message may have: a datagram that fills it is too long.
        byte[] in = new byte[PeerSupport.MAX_LINE_BYTES + 3];
        DatagramPacket received = new DatagramPacket(in, in.length);
        byte[] out = new byte[0];
        DatagramPacket relayed = new DatagramPacket(out, 0);
        Map<SocketAddress, byte[]> prefixes = new HashMap<>();
        List<SocketAddress> members = new ArrayList<>();
        while (!closed) {
            received.setLength(in.length);
            try {
                socket.receive(received);
            } catch (IOException e) {
                if (closed || socket.isClosed()) {
                    return;
                }
                continue; // e.g. an ICMP error reported on this socket
            }
            SocketAddress from = received.getSocketAddress();
            byte[] prefix = prefixes.get(from);
            if (prefix == null) {
                prefix = PeerSupport.prefix(from);
                prefixes.put(from, prefix);
                members.add(from);
            }
            int size = received.getLength();
            if (size == in.length) {
                continue; // too long: dropped
            }
            int len = DatagramText.stripTerminator(in, size);
            if (len == 0 || DatagramText.isPing(in, len)) {
                continue;
            }
            int n = prefix.length + len + 1;
            if (out.length < n) {
                out = new byte[Math.max(n, 2 * out.length)];
            }
            System.arraycopy(prefix, 0, out, 0, prefix.length);
            System.arraycopy(in, 0, out, prefix.length, len);
            out[n - 1] = '\n';
            relayed.setData(out, 0, n);
            for (int i = 0; i < members.size(); i++) {
                relayed.setSocketAddress(members.get(i));
                try {
                    socket.send(relayed);
                } catch (IOException e) {
                    if (closed || socket.isClosed()) {
                        return;
                    }
                    dropped++;
                }
            }
        }
    }
}
