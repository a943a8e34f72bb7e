package org.chatloop.tcp;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * What the HTTP side of a WebSocket server answers, made once per server: the routing of a
 * request head (page, upgrade, 404, 405) and the exact bytes of the page response.
 *
 * <p>The page ({@code chat.html}, beside this class) is one self-contained file. It is served
 * with a {@code Content-Security-Policy} that allows only its own inline script and style, by
 * their SHA-256 hashes, computed here from the file: text that a chat line might smuggle into the
 * page could not run even if the page inserted it as HTML (it inserts text only).
 *
 * <p>Immutable; shared by the connections of one server.
 */
final class WebSite {
    static final String PAGE_RESOURCE = "chat.html";

    private final WebSocketOptions options;
    private final byte[] pageResponse;

    WebSite(WebSocketOptions options) {
        this.options = options;
        this.pageResponse = options.servePage() ? pageResponse(loadPage()) : null;
    }

    WebSocketOptions options() {
        return options;
    }

    /** What to do with a request: send {@code response}, then upgrade or close. */
    record Answer(byte[] response, boolean upgrade) {
    }

    /** Routes a complete request head. */
    Answer route(HttpRequestHead head) {
        String target = head.target();
        int query = target.indexOf('?');
        String path = query < 0 ? target : target.substring(0, query);
        if (path.equals(options.path())) {
            Handshake.Result r = Handshake.evaluate(head, options.allowedOrigins());
            return new Answer(r.response(), r instanceof Handshake.Accepted);
        }
        if (!head.method().equals("GET")) {
            return new Answer(HttpResponses.methodNotAllowed(), false);
        }
        if (pageResponse != null && path.equals("/")) {
            return new Answer(pageResponse, false);
        }
        return new Answer(HttpResponses.notFound(), false);
    }

    private static String loadPage() {
        try (InputStream in = WebSite.class.getResourceAsStream(PAGE_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(PAGE_RESOURCE + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + PAGE_RESOURCE, e);
        }
    }

    /** @return the whole 200 response: head, security headers, page */
    static byte[] pageResponse(String html) {
        byte[] body = html.getBytes(StandardCharsets.UTF_8);
        String csp = "default-src 'none'; script-src " + hashOf(html, "script")
                + "; style-src " + hashOf(html, "style")
                + "; connect-src 'self' ws: wss:; img-src data:; base-uri 'none'; "
                + "form-action 'none'; frame-ancestors 'none'";
        String head = "HTTP/1.1 200 OK\r\n"
                + "Content-Type: text/html; charset=utf-8\r\n"
                + "Content-Length: " + body.length + "\r\n"
                + "Cache-Control: no-cache\r\n"
                + "Content-Security-Policy: " + csp + "\r\n"
                + "X-Content-Type-Options: nosniff\r\n"
                + "Referrer-Policy: no-referrer\r\n"
                + "Connection: close\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[h.length + body.length];
        System.arraycopy(h, 0, out, 0, h.length);
        System.arraycopy(body, 0, out, h.length, body.length);
        return out;
    }

    /**
     * @return {@code 'sha256-...'} of the content of the page's first {@code <tag>} element, or
     *         {@code 'none'} when it has none
     */
    static String hashOf(String html, String tag) {
        int open = html.indexOf("<" + tag + ">");
        if (open < 0) {
            return "'none'";
        }
        int from = open + tag.length() + 2;
        int close = html.indexOf("</" + tag + ">", from);
        if (close < 0) {
            throw new IllegalStateException(PAGE_RESOURCE + ": <" + tag + "> is not closed");
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(html.substring(from, close).getBytes(StandardCharsets.UTF_8));
            return "'sha256-" + Base64.getEncoder().encodeToString(digest) + "'";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
