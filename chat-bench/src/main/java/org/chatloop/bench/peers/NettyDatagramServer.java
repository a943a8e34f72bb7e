package org.chatloop.bench.peers;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Models a UDP chat relay as a Netty expert writes it: Netty 4.2, one {@link NioDatagramChannel}
 * on a {@code MultiThreadIoEventLoopGroup} of one NIO thread. The handler keeps the addresses it
 * has heard from (any datagram registers its sender; {@code #ping#} only registers) and relays
 * every other datagram, encoded once as {@code "<ip:port> TEXT\n"} into one buffer, to every
 * registered address, the sender included: one {@link DatagramPacket} per recipient holding a
 * retained duplicate of that buffer (shared memory, no copy), written with a void promise, and the
 * channel flushed once per read batch, in {@code channelReadComplete}. A read batch is at most
 * {@value #MAX_READS_PER_BATCH} datagrams (Netty's NIO datagram default is one).
 *
 * <p>Nothing is ever dropped by the server itself while the socket's send buffer is full: Netty's
 * outbound buffer holds the packets (unbounded) until the socket is writable. A send that fails
 * reaches {@code exceptionCaught} through the void promise, where it is counted in
 * {@link #dropped()}. Registered addresses never expire (a benchmark run is short).
 */
public final class NettyDatagramServer implements UdpPeerServer {
    /** Datagrams read per read event before {@code channelReadComplete} (and so one flush). */
    static final int MAX_READS_PER_BATCH = 64;
    /** Receive buffer per datagram: the longest message a client may send, plus a terminator. */
    static final int RECEIVE_BYTES = PeerSupport.MAX_LINE_BYTES + 2;

    private final EventLoopGroup group;
    private final Channel channel;
    private final Relay relay;
    private final int port;

    private NettyDatagramServer(EventLoopGroup group, Channel channel, Relay relay) {
        this.group = group;
        this.channel = channel;
        this.relay = relay;
        this.port = ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /**
     * Binds 127.0.0.1 on a free port and returns once bound.
     *
     * @return the running server
     * @throws IOException if binding fails
     */
    public static NettyDatagramServer start() throws IOException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
                new DefaultThreadFactory("peer-netty-udp", true), NioIoHandler.newFactory());
        try {
            Relay relay = new Relay();
            Channel ch = new Bootstrap()
                    .group(group)
                    .channel(NioDatagramChannel.class)
                    .option(ChannelOption.SO_RCVBUF, UdpPeer.SOCKET_BUFFER_BYTES)
                    .option(ChannelOption.SO_SNDBUF, UdpPeer.SOCKET_BUFFER_BYTES)
                    .option(ChannelOption.RCVBUF_ALLOCATOR,
                            new FixedRecvByteBufAllocator(RECEIVE_BYTES)
                                    .maxMessagesPerRead(MAX_READS_PER_BATCH))
                    .handler(relay)
                    .bind(new InetSocketAddress(PeerSupport.loopback(), 0))
                    .syncUninterruptibly().channel();
            return new NettyDatagramServer(group, ch, relay);
        } catch (RuntimeException e) {
            shutdown(group);
            throw e;
        } catch (Exception e) { // syncUninterruptibly rethrows checked causes (BindException)
            shutdown(group);
            throw e instanceof IOException ? (IOException) e : new IOException(e);
        }
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public long dropped() {
        return relay.failures;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        shutdown(group);
    }

    private static void shutdown(EventLoopGroup group) {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Override
    public String toString() {
        return "NettyDatagramServer[port=" + port + ", dropped=" + dropped() + "]";
    }

    /**
     * The channel's only handler, so used by the single loop thread alone (plain fields), except
     * {@link #failures}, which other threads read.
     */
    static final class Relay extends SimpleChannelInboundHandler<DatagramPacket> {
        private final Map<InetSocketAddress, byte[]> prefixes = new HashMap<>();
        private final List<InetSocketAddress> members = new ArrayList<>();
        private boolean unflushed;
        /** Written by the loop thread only. */
        volatile long failures;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            InetSocketAddress from = packet.sender();
            byte[] prefix = prefixes.get(from);
            if (prefix == null) {
                prefix = PeerSupport.prefix(from);
                prefixes.put(from, prefix);
                members.add(from);
            }
            ByteBuf in = packet.content();
            int start = in.readerIndex();
            int len = DatagramText.stripTerminator(in);
            if (len == 0 || DatagramText.isPing(in, len)) {
                return;
            }
            ByteBuf msg = ctx.alloc().directBuffer(prefix.length + len + 1);
            try {
                msg.writeBytes(prefix).writeBytes(in, start, len).writeByte('\n');
                for (int i = 0; i < members.size(); i++) {
                    ctx.write(new DatagramPacket(msg.retainedDuplicate(), members.get(i)),
                            ctx.voidPromise());
                }
                unflushed = true;
            } finally {
                msg.release(); // each packet holds its own reference
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (unflushed) {
                unflushed = false;
                ctx.flush();
            }
            ctx.fireChannelReadComplete();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // A failed write (void promise) or read: one datagram lost, the channel serves on.
            failures++;
        }
    }
}
