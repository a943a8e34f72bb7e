package org.chatloop.bench.peers;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.ChannelMatchers;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import java.io.IOException;
import java.util.Locale;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * Models a chat server as a Netty expert writes it: like {@link NettyIdiomaticServer} (one event
 * loop thread, {@code LineBasedFrameDecoder(4096)}, one shared {@code "<ip:port> line\n"} buffer
 * per message), but each message is only {@linkplain ChannelGroup#write written} to the group, with
 * void promises so no future is allocated per delivery, and the group is flushed once in
 * {@code channelReadComplete} of the publisher's channel: every line decoded from one read batch
 * reaches each recipient with a single flush (one {@code write} syscall per recipient per batch).
 * The transport is NIO or native epoll.
 */
public final class NettyTunedServer implements PeerServer {

    /** The Netty transport the server runs on. */
    public enum Transport {
        /** {@code java.nio} ({@link NioIoHandler}, {@link NioServerSocketChannel}). */
        NIO,
        /** Netty's native epoll ({@code EpollIoHandler}, {@code EpollServerSocketChannel}), Linux. */
        EPOLL
    }

    private final NettyPeer netty;
    private final Transport transport;

    private NettyTunedServer(NettyPeer netty, Transport transport) {
        this.netty = netty;
        this.transport = transport;
    }

    /**
     * Binds 127.0.0.1 on a free port with the given transport and returns once listening.
     *
     * @param transport NIO or EPOLL
     * @return the running server
     * @throws IOException if binding fails
     * @throws IllegalStateException if EPOLL is asked for but native epoll is not available
     */
    public static NettyTunedServer start(Transport transport) throws IOException {
        Objects.requireNonNull(transport, "transport");
        IoHandlerFactory io;
        Class<? extends ServerChannel> serverChannel;
        if (transport == Transport.EPOLL) {
            if (!Epoll.isAvailable()) {
                throw new IllegalStateException("native epoll transport is not available: "
                        + Epoll.unavailabilityCause(), Epoll.unavailabilityCause());
            }
            io = EpollIoHandler.newFactory();
            serverChannel = EpollServerSocketChannel.class;
        } else {
            io = NioIoHandler.newFactory();
            serverChannel = NioServerSocketChannel.class;
        }
        String threadName = "peer-netty-tuned-" + transport.name().toLowerCase(Locale.ROOT);
        NettyPeer netty = NettyPeer.start(threadName, io, serverChannel, Boolean.TRUE, group -> {
            ChannelGroup all = new DefaultChannelGroup("chat", group.next());
            FlushState state = new FlushState(all);
            return NettyPeer.lines(() -> new Relay(all, state));
        });
        return new NettyTunedServer(netty, transport);
    }

    /**
     * The same server on NIO behind Netty's {@code SslHandler} on the JDK's {@code SSLEngine}
     * (TLS 1.3 and 1.2 enabled, as chatloop does): every connection is TLS.
     *
     * @param tls the server context (certificate and key)
     * @return the running server
     * @throws IOException if binding fails
     */
    public static NettyTunedServer startTls(SSLContext tls) throws IOException {
        Objects.requireNonNull(tls, "tls");
        NettyPeer netty = NettyPeer.start("peer-netty-tuned-tls", NioIoHandler.newFactory(),
                NioServerSocketChannel.class, Boolean.TRUE, group -> {
                    ChannelGroup all = new DefaultChannelGroup("chat", group.next());
                    FlushState state = new FlushState(all);
                    return NettyPeer.tlsLines(() -> {
                        SSLEngine engine = tls.createSSLEngine();
                        engine.setUseClientMode(false);
                        engine.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
                        return engine;
                    }, () -> new Relay(all, state));
                });
        return new NettyTunedServer(netty, Transport.NIO);
    }

    /**
     * @return a server on the NIO transport
     * @throws IOException if binding fails
     */
    public static NettyTunedServer startNio() throws IOException {
        return start(Transport.NIO);
    }

    /**
     * @return a server on the native epoll transport
     * @throws IOException if binding fails
     * @throws IllegalStateException if native epoll is not available here
     */
    public static NettyTunedServer startEpoll() throws IOException {
        return start(Transport.EPOLL);
    }

    /** @return the transport this server runs on */
    public Transport transport() {
        return transport;
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
        return "NettyTunedServer[" + transport + ", port=" + port() + "]";
    }

    /**
     * Whether the group holds writes not yet flushed. Touched only by the single loop thread, so
     * a plain field suffices.
     */
    static final class FlushState {
        private final ChannelGroup all;
        private boolean unflushed;

        FlushState(ChannelGroup all) {
            this.all = all;
        }

        void written() {
            unflushed = true;
        }

        void flushIfNeeded() {
            if (unflushed) {
                unflushed = false;
                all.flush();
            }
        }
    }

    /** One per connection: writes each decoded line to the group, flushes after the read batch. */
    static final class Relay extends SimpleChannelInboundHandler<ByteBuf> {
        private final ChannelGroup all;
        private final FlushState state;
        private byte[] prefix;

        Relay(ChannelGroup all, FlushState state) {
            this.all = all;
            this.state = state;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            prefix = PeerSupport.prefix(ctx.channel().remoteAddress());
            all.add(ctx.channel());
            super.channelActive(ctx);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
            int n = line.readableBytes();
            ByteBuf msg = ctx.alloc().buffer(prefix.length + n + 1);
            msg.writeBytes(prefix).writeBytes(line, line.readerIndex(), n).writeByte('\n');
            // Each channel gets a retained duplicate (shared memory); msg itself is released.
            all.write(msg, ChannelMatchers.all(), true);
            state.written();
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            state.flushIfNeeded();
            ctx.fireChannelReadComplete();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            state.flushIfNeeded(); // never leave others' writes behind
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            state.flushIfNeeded();
            if (!(cause instanceof TooLongFrameException)) { // an over-long line is just dropped
                ctx.close();
            }
        }
    }
}
