package org.chatloop.bench.peers;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The Netty plumbing the two Netty peers share: one event loop group of one thread serving both
 * the listening channel and every connection, a {@link LineBasedFrameDecoder} and a relay handler
 * per connection.
 */
final class NettyPeer {
    private final EventLoopGroup group;
    private final Channel listener;
    private final int port;
    /** The {@link DefaultThreadFactory} pool name: threads are named {@code NAME-POOL-N}. */
    private final String threadName;

    private NettyPeer(EventLoopGroup group, Channel listener, String threadName) {
        this.group = group;
        this.listener = listener;
        this.threadName = threadName;
        this.port = ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /**
     * Binds 127.0.0.1 on a free port and returns once listening.
     *
     * @param threadName the prefix of the loop thread's name
     * @param ioHandler NIO or epoll
     * @param serverChannel the matching server channel class
     * @param tcpNoDelay {@code null} to leave Netty's default, else the value for accepted channels
     * @param relay makes the relay handler of one connection, given the loop
     * @return the running server
     * @throws IOException if binding fails
     */
    static NettyPeer start(String threadName, IoHandlerFactory ioHandler,
                           Class<? extends ServerChannel> serverChannel, Boolean tcpNoDelay,
                           Function<EventLoopGroup, ChannelInitializer<Channel>> relay)
            throws IOException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
                new DefaultThreadFactory(threadName, true), ioHandler);
        try {
            ServerBootstrap b = new ServerBootstrap()
                    .group(group) // boss and worker: the same single thread
                    .channel(serverChannel)
                    .option(ChannelOption.SO_BACKLOG, PeerSupport.BACKLOG)
                    .childHandler(relay.apply(group));
            if (tcpNoDelay != null) {
                b.childOption(ChannelOption.TCP_NODELAY, tcpNoDelay);
            }
            Channel listener = b.bind(new InetSocketAddress(PeerSupport.loopback(), 0))
                    .syncUninterruptibly().channel();
            return new NettyPeer(group, listener, threadName);
        } catch (RuntimeException e) {
            shutdown(group);
            throw e;
        } catch (Exception e) { // syncUninterruptibly rethrows checked causes (BindException)
            shutdown(group);
            throw e instanceof IOException ? (IOException) e : new IOException(e);
        }
    }

    /**
     * @param relay the relay handler of a new connection
     * @return an initializer adding {@code LineBasedFrameDecoder(4096)} then the relay
     */
    static ChannelInitializer<Channel> lines(Supplier<ChannelHandler> relay) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new LineBasedFrameDecoder(PeerSupport.MAX_LINE_BYTES),
                        relay.get());
            }
        };
    }

    /**
     * @param tls makes the TLS engine of a new connection (server mode)
     * @param relay the relay handler of a new connection
     * @return an initializer adding an {@code SslHandler} on that engine, then
     *         {@code LineBasedFrameDecoder(4096)}, then the relay
     */
    static ChannelInitializer<Channel> tlsLines(Supplier<javax.net.ssl.SSLEngine> tls,
                                                Supplier<ChannelHandler> relay) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new io.netty.handler.ssl.SslHandler(tls.get()),
                        new LineBasedFrameDecoder(PeerSupport.MAX_LINE_BYTES), relay.get());
            }
        };
    }

    int port() {
        return port;
    }

    /** @return whether {@code name} is this group's loop thread ({@code threadName-POOL-N}) */
    boolean isLoopThread(String name) {
        return name.startsWith(threadName + "-");
    }

    void close() {
        listener.close();
        shutdown(group);
    }

    private static void shutdown(EventLoopGroup group) {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
