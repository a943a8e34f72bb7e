package org.chatloop.bench.peers;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.ChannelMatchers;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.io.IOException;
import java.util.Locale;
import java.util.Objects;
import org.chatloop.bench.peers.NettyTunedServer.FlushState;
import org.chatloop.bench.peers.NettyTunedServer.Transport;

/**
 * The tuned Netty chat server ({@link NettyTunedServer}: one event loop thread, {@code TCP_NODELAY},
 * Netty's default pooled allocator, each message written to a {@link ChannelGroup} with void
 * promises and the group flushed once per read batch in {@code channelReadComplete}) speaking
 * WebSocket with Netty's own codec: {@link HttpServerCodec}, {@link HttpObjectAggregator} for the
 * upgrade request, {@link WebSocketServerProtocolHandler} at {@code /ws} (RFC 6455 handshake,
 * ping/pong, close, UTF-8 validation of text frames, payloads up to 4096 bytes as chatloop's line
 * limit) and a {@link WebSocketFrameAggregator} (fragmented messages are accepted, as chatloop
 * accepts them). A client joins the group once its handshake is done; every text message it sends
 * goes to everyone, the sender included, as one text message {@code "<ip:port> TEXT"}.
 *
 * <p>The message is built once per publish, in one of two ways ({@link Framing}):
 * <ul>
 * <li>{@link Framing#CODEC}: one {@link TextWebSocketFrame}, written to the group, which hands each
 * channel a {@code retainedDuplicate()}; each channel's {@code WebSocket08FrameEncoder} then writes
 * the frame header (and, for payloads under 1 KiB, copies the payload in next to it) per
 * recipient. The plain use of the codec.</li>
 * <li>{@link Framing#PREFRAMED}: the whole frame (header and payload) encoded once into one
 * {@link ByteBuf}, written to the group as bytes (each channel a retained duplicate; the frame
 * encoder passes a {@code ByteBuf} through untouched): framed once, the same bytes to every
 * recipient, as chatloop does.</li>
 * </ul>
 */
public final class NettyWebSocketServer implements PeerServer {
    /** How a broadcast is framed. */
    public enum Framing {
        /** One {@code TextWebSocketFrame}; the codec frames it per recipient. */
        CODEC,
        /** The frame's bytes encoded once; every recipient gets the same bytes. */
        PREFRAMED
    }

    /** The WebSocket endpoint, as chatloop's default. */
    static final String PATH = "/ws";

    private final NettyPeer netty;
    private final Transport transport;
    private final Framing framing;

    private NettyWebSocketServer(NettyPeer netty, Transport transport, Framing framing) {
        this.netty = netty;
        this.transport = transport;
        this.framing = framing;
    }

    /**
     * Binds 127.0.0.1 on a free port and returns once listening.
     *
     * @param transport NIO or EPOLL
     * @param framing how broadcasts are framed
     * @return the running server
     * @throws IOException if binding fails
     * @throws IllegalStateException if EPOLL is asked for but native epoll is not available
     */
    public static NettyWebSocketServer start(Transport transport, Framing framing)
            throws IOException {
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(framing, "framing");
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
        WebSocketServerProtocolConfig config = WebSocketServerProtocolConfig.newBuilder()
                .websocketPath(PATH)
                .decoderConfig(WebSocketDecoderConfig.newBuilder()
                        .maxFramePayloadLength(PeerSupport.MAX_LINE_BYTES)
                        .build())
                .build();
        String threadName = "peer-netty-ws-" + transport.name().toLowerCase(Locale.ROOT);
        NettyPeer netty = NettyPeer.start(threadName, io, serverChannel, Boolean.TRUE, group -> {
            ChannelGroup all = new DefaultChannelGroup("chat", group.next());
            FlushState state = new FlushState(all);
            return new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(new HttpServerCodec(),
                            new HttpObjectAggregator(65536),
                            new WebSocketServerProtocolHandler(config),
                            new WebSocketFrameAggregator(PeerSupport.MAX_LINE_BYTES),
                            new Relay(all, state, framing));
                }
            };
        });
        return new NettyWebSocketServer(netty, transport, framing);
    }

    /** @return the transport this server runs on */
    public Transport transport() {
        return transport;
    }

    /** @return how broadcasts are framed */
    public Framing framing() {
        return framing;
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
        return "NettyWebSocketServer[" + transport + ", " + framing + ", port=" + port() + "]";
    }

    /**
     * One per connection: joins the group after the handshake, writes each text message to the
     * group, flushes after the read batch.
     */
    static final class Relay extends SimpleChannelInboundHandler<TextWebSocketFrame> {
        private final ChannelGroup all;
        private final FlushState state;
        private final Framing framing;
        private byte[] prefix;

        Relay(ChannelGroup all, FlushState state, Framing framing) {
            this.all = all;
            this.state = state;
            this.framing = framing;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete) {
                prefix = PeerSupport.prefix(ctx.channel().remoteAddress());
                all.add(ctx.channel());
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame frame) {
            ByteBuf text = frame.content();
            int n = text.readableBytes();
            int payload = prefix.length + n;
            if (framing == Framing.CODEC) {
                ByteBuf msg = ctx.alloc().buffer(payload);
                msg.writeBytes(prefix).writeBytes(text, text.readerIndex(), n);
                // Each channel gets frame.retainedDuplicate(); the group releases this one.
                all.write(new TextWebSocketFrame(msg), ChannelMatchers.all(), true);
            } else {
                int header = payload <= 125 ? 2 : payload <= 0xFFFF ? 4 : 10;
                ByteBuf msg = ctx.alloc().buffer(header + payload);
                msg.writeByte(0x80 | 0x1); // FIN, text
                if (header == 2) {
                    msg.writeByte(payload);
                } else if (header == 4) {
                    msg.writeByte(126).writeShort(payload);
                } else {
                    msg.writeByte(127).writeLong(payload);
                }
                msg.writeBytes(prefix).writeBytes(text, text.readerIndex(), n);
                // Bytes pass the frame encoder untouched; each channel gets a retained duplicate.
                all.write(msg, ChannelMatchers.all(), true);
            }
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
            ctx.close();
        }
    }
}
