package org.chatloop.tcp;

import java.util.Objects;
import java.util.Set;

/**
 * How a {@link TcpChatServer} started with {@link TcpChatServer#startWebSocket} or
 * {@link TcpChatServer#attachWebSocket} speaks HTTP: where the WebSocket endpoint is, which
 * pages it serves, and which origins may connect. Immutable; start from {@link #defaults()}.
 *
 * @param path the request path that upgrades to a WebSocket ({@code /ws} by default); a query
 *             string after it is ignored
 * @param allowedOrigins the {@code Origin} values (scheme, host and port, as a browser sends
 *                       them, compared ignoring ASCII case) that may open a WebSocket; empty, the
 *                       default, accepts any origin and clients that send none. A browser page
 *                       from any other site can otherwise open a chat connection in its user's
 *                       name: set it when the server faces the Internet
 * @param servePage whether {@code GET /} serves the built-in chat page (true by default); when
 *                  false, {@code /} is 404 like any other path
 */
public record WebSocketOptions(String path, Set<String> allowedOrigins, boolean servePage) {

    /** Validates the settings and copies the origins. */
    public WebSocketOptions {
        Objects.requireNonNull(path, "path");
        if (!path.startsWith("/") || path.contains("?") || path.contains(" ")) {
            throw new IllegalArgumentException("path must start with / and hold no ? or space: "
                    + path);
        }
        if (servePage && path.equals("/")) {
            throw new IllegalArgumentException("path / is the page's; choose another or set "
                    + "servePage to false");
        }
        allowedOrigins = Set.copyOf(Objects.requireNonNull(allowedOrigins, "allowedOrigins"));
    }

    /** @return {@code /ws}, any origin, the page served at {@code /} */
    public static WebSocketOptions defaults() {
        return new WebSocketOptions("/ws", Set.of(), true);
    }

    /** @return a copy with another WebSocket path */
    public WebSocketOptions withPath(String newPath) {
        return new WebSocketOptions(newPath, allowedOrigins, servePage);
    }

    /** @return a copy that accepts WebSockets only from these origins (none: any origin) */
    public WebSocketOptions withAllowedOrigins(Set<String> origins) {
        return new WebSocketOptions(path, origins, servePage);
    }

    /** @return a copy that serves the chat page at {@code /}, or not */
    public WebSocketOptions withServePage(boolean serve) {
        return new WebSocketOptions(path, allowedOrigins, serve);
    }
}
