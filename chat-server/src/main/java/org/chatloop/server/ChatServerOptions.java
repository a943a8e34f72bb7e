package org.chatloop.server;

import java.util.Objects;
import org.chatloop.core.HubOptions;
import org.chatloop.tcp.TcpServerOptions;
import org.chatloop.tcp.WebSocketOptions;
import org.chatloop.udp.UdpServerOptions;

/**
 * What a {@link ChatServer} listens on: any of a TCP line listener, a UDP socket and an HTTP
 * listener for browsers (the chat page and WebSocket), all in one hub. A listener given as
 * {@code null} is off; at least one must be on.
 *
 * @param tcp the TCP line listener's settings, or null for none
 * @param udp the UDP socket's settings, or null for none
 * @param http the HTTP/WebSocket listener's socket settings (its {@code tls} makes it HTTPS and
 *             WSS), or null for none
 * @param webSocket the HTTP side's settings (path, origins, page); used only with {@code http}
 * @param hub the hub's settings; its reply bound is lowered to the smallest line any listener
 *            accepts, so that no reply is longer than what a client may send
 */
public record ChatServerOptions(TcpServerOptions tcp, UdpServerOptions udp, TcpServerOptions http,
                                WebSocketOptions webSocket, HubOptions hub) {

    /** Checks that something listens. */
    public ChatServerOptions {
        Objects.requireNonNull(webSocket, "webSocket");
        Objects.requireNonNull(hub, "hub");
        if (tcp == null && udp == null && http == null) {
            throw new IllegalArgumentException("no listener: give tcp, udp or http settings");
        }
    }

    /**
     * @return TCP on 9001, UDP on 9001 and HTTP on 8080, all on 127.0.0.1, with every other
     *         setting at its default
     */
    public static ChatServerOptions defaults() {
        return new ChatServerOptions(TcpServerOptions.defaults(), UdpServerOptions.defaults(),
                TcpServerOptions.defaults().withPort(8080), WebSocketOptions.defaults(),
                HubOptions.defaults());
    }
}
