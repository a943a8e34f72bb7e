package org.chatloop.tcp;

import java.nio.charset.StandardCharsets;

/**
 * The exact bytes of the few HTTP/1.1 responses the WebSocket listener sends: 101 for an accepted
 * upgrade, and short plain-text errors that close the connection.
 */
final class HttpResponses {
    private HttpResponses() {
    }

    /** @return the 101 Switching Protocols response with {@code Sec-WebSocket-Accept: accept} */
    static byte[] switchingProtocols(String accept) {
        return ("HTTP/1.1 101 Switching Protocols\r\n"
                + "Upgrade: websocket\r\n"
                + "Connection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + accept + "\r\n"
                + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * A short error: {@code Content-Type: text/plain; charset=utf-8}, {@code Content-Length},
     * {@code Connection: close}, any extra header lines, and {@code body} plus a newline.
     *
     * @param status the status code (400, 403, 404, 405, 426, 431, ...)
     * @param body one line of text
     * @param extraHeaders whole header lines without their CRLF, such as {@code Allow: GET}
     */
    static byte[] error(int status, String body, String... extraHeaders) {
        byte[] text = (body + "\n").getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(160)
                .append("HTTP/1.1 ").append(status).append(' ').append(reasonPhrase(status)).append("\r\n")
                .append("Content-Type: text/plain; charset=utf-8\r\n")
                .append("Content-Length: ").append(text.length).append("\r\n")
                .append("Connection: close\r\n");
        for (String h : extraHeaders) {
            sb.append(h).append("\r\n");
        }
        sb.append("\r\n");
        byte[] head = sb.toString().getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[head.length + text.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(text, 0, out, head.length, text.length);
        return out;
    }

    /** @return 404 Not Found */
    static byte[] notFound() {
        return error(404, "not found");
    }

    /** @return 405 Method Not Allowed, with {@code Allow: GET} */
    static byte[] methodNotAllowed() {
        return error(405, "method not allowed", "Allow: GET");
    }

    /** @return 431 Request Header Fields Too Large */
    static byte[] headTooLarge() {
        return error(431, "request head too large (max " + HttpRequestHead.MAX_HEAD_BYTES + " bytes)");
    }

    /** @return 400 Bad Request for a head that could not be parsed */
    static byte[] malformed() {
        return error(400, "malformed request");
    }

    /** @return the standard reason phrase of {@code status} */
    static String reasonPhrase(int status) {
        return switch (status) {
            case 101 -> "Switching Protocols";
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 426 -> "Upgrade Required";
            case 431 -> "Request Header Fields Too Large";
            case 500 -> "Internal Server Error";
            case 503 -> "Service Unavailable";
            default -> throw new IllegalArgumentException("no reason phrase for " + status);
        };
    }
}
