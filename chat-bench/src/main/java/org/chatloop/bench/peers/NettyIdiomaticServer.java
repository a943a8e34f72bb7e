package org.chatloop.bench.peers;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import java.io.IOException;

/**
 * Models a chat server as a competent Netty user writes it: Netty 4.2 on NIO with one event loop
 * thread for the listener and every connection, {@code LineBasedFrameDecoder(4096)}, and for each
 * line one {@code "<ip:port> line\n"} buffer handed to {@link ChannelGroup#writeAndFlush(Object)}.
 * The group shares the buffer between recipients (retained duplicates, no copy), but flushes every
 * channel for every message: one {@code write} syscall per delivery. Netty's defaults are kept
 * (TCP_NODELAY on, default allocator).
 */
public final class NettyIdiomaticServer implements PeerServer {
    private final NettyPeer netty;

    private NettyIdiomaticServer(NettyPeer netty) {
        this.netty = netty;
    }

    /**
     * Binds 127.0.0.1 on a free port and returns once listening.
     *
     * @return the running server
     * @throws IOException if binding fails
     */
    public static NettyIdiomaticServer start() throws IOException {
        return new NettyIdiomaticServer(NettyPeer.start("peer-netty-idiomatic",
                NioIoHandler.newFactory(), NioServerSocketChannel.class, null, group -> {
                    ChannelGroup all = new DefaultChannelGroup("chat", group.next());
                    return NettyPeer.lines(() -> new Relay(all));
                }));
    }

    @Override
    public int port() {
        return netty.port();
    }

    @Override
    public boolean isServerThread(String threadName) {
        return netty.isLoopThread(threadName);
    }

    @Override
    public void close() {
        netty.close();
    }

    @Override
    public String toString() {
        return "NettyIdiomaticServer[port=" + port() + "]";
    }

    /** One per connection: relays each decoded line to the whole group and flushes it. */
    static final class Relay extends SimpleChannelInboundHandler<ByteBuf> {
        private final ChannelGroup all;
        private byte[] prefix;

        Relay(ChannelGroup all) {
            this.all = all;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            prefix = PeerSupport.prefix(ctx.channel().remoteAddress());
            all.add(ctx.channel()); // removed again by the group when the channel closes
            super.channelActive(ctx);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
            int n = line.readableBytes();
            ByteBuf msg = ctx.alloc().buffer(prefix.length + n + 1);
            msg.writeBytes(prefix).writeBytes(line, line.readerIndex(), n).writeByte('\n');
            all.writeAndFlush(msg); // releases msg once every channel has its duplicate
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!(cause instanceof TooLongFrameException)) { // an over-long line is just dropped
                ctx.close();
            }
        }
    }
}
