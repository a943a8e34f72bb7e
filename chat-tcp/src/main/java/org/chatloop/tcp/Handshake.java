package org.chatloop.tcp;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;
import java.util.Set;

/**
 * Validates a WebSocket opening handshake (RFC 6455 section 4.2) on a parsed request head and
 * computes the response. Checked in this order: method {@code GET} (else 405 with
 * {@code Allow: GET}); version {@code HTTP/1.1} and a {@code Host} field (else 400);
 * {@code Upgrade} holding the token {@code websocket} and {@code Connection} holding the token
 * {@code upgrade}, both ignoring case (else 400); {@code Sec-WebSocket-Version} holding {@code 13}
 * (else 426 with {@code Sec-WebSocket-Version: 13}); exactly one {@code Sec-WebSocket-Key} that is
 * base64 of 16 bytes (else 400); and, when an allowed-origin set is given, an {@code Origin} in it
 * (else 403). The path is the caller's business (it routes {@code /ws} here, other paths to 404).
 */
final class Handshake {
    /** The GUID of RFC 6455 section 1.3 appended to the key before hashing. */
    static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private Handshake() {
    }

    /** The outcome of {@link #evaluate}: the bytes to send, and whether the upgrade happened. */
    sealed interface Result permits Accepted, Rejected {
        /** @return the exact response bytes */
        byte[] response();
    }

    /**
     * The upgrade is accepted.
     *
     * @param accept the {@code Sec-WebSocket-Accept} value
     */
    record Accepted(String accept) implements Result {
        @Override
        public byte[] response() {
            return HttpResponses.switchingProtocols(accept);
        }
    }

    /**
     * The upgrade is refused; the connection closes after the response.
     *
     * @param status the HTTP status
     * @param body the one-line text body
     * @param extraHeader an extra header line ({@code Allow: GET}), or null
     */
    record Rejected(int status, String body, String extraHeader) implements Result {
        @Override
        public byte[] response() {
            return extraHeader == null
                    ? HttpResponses.error(status, body)
                    : HttpResponses.error(status, body, extraHeader);
        }
    }

    /**
     * Checks an upgrade request.
     *
     * @param head the parsed request head
     * @param allowedOrigins the origins accepted (compared ignoring ASCII case), or null or empty
     *                       to accept any origin and requests without one
     */
    static Result evaluate(HttpRequestHead head, Set<String> allowedOrigins) {
        if (!head.method().equals("GET")) {
            return new Rejected(405, "method not allowed", "Allow: GET");
        }
        if (!head.version().equals("HTTP/1.1") || head.single("Host") == null) {
            return bad("an HTTP/1.1 request with one Host header is required");
        }
        if (!head.hasToken("Upgrade", "websocket")) {
            return bad("Upgrade: websocket is required");
        }
        if (!head.hasToken("Connection", "upgrade")) {
            return bad("Connection: Upgrade is required");
        }
        if (!head.tokens("Sec-WebSocket-Version").contains("13")) {
            return new Rejected(426, "Sec-WebSocket-Version 13 is required", "Sec-WebSocket-Version: 13");
        }
        String key = head.single("Sec-WebSocket-Key");
        if (key == null || !isValidKey(key)) {
            return bad("Sec-WebSocket-Key must be base64 of 16 bytes");
        }
        if (allowedOrigins != null && !allowedOrigins.isEmpty()) {
            String origin = head.single("Origin");
            if (origin == null || !containsIgnoreCase(allowedOrigins, origin)) {
                return new Rejected(403, "origin not allowed", null);
            }
        }
        return new Accepted(accept(key));
    }

    /** @return the {@code Sec-WebSocket-Accept} value for {@code key}: base64(SHA-1(key + GUID)) */
    static String accept(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            byte[] digest = sha1.digest((key + GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-1", e);
        }
    }

    /** @return whether {@code key} is padded base64 of exactly 16 bytes (24 characters) */
    static boolean isValidKey(String key) {
        if (key.length() != 24) {
            return false;
        }
        try {
            return Base64.getDecoder().decode(key).length == 16;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean containsIgnoreCase(Set<String> set, String value) {
        if (set.contains(value)) {
            return true;
        }
        String lower = value.toLowerCase(Locale.ROOT);
        for (String s : set) {
            if (s.toLowerCase(Locale.ROOT).equals(lower)) {
                return true;
            }
        }
        return false;
    }

    private static Rejected bad(String body) {
        return new Rejected(400, body, null);
    }
}
