package org.chatloop.tcp;

import org.chatloop.core.LeaveReason;

/**
 * The HTTP and WebSocket side of one connection, as a {@link StreamDecoder}: first the request
 * head (bounded to {@value HttpRequestHead#MAX_HEAD_BYTES} bytes; the connection times it out),
 * routed by the server's {@link WebSite}: the page, an error, or the upgrade to a WebSocket. After
 * the upgrade, each text message is one chat line, handed to the line sink as {@link LineDecoder}
 * hands out lines, so flood control, the hub and everything after it are shared with the line
 * protocol.
 *
 * <p>Answers what the protocol asks of a server by itself: a ping with a pong, a close frame with
 * a close frame (then the connection closes), a protocol error with a close frame carrying the
 * decoder's code (1002, 1003 or 1007). A message over the line limit is discarded as it streams in
 * and reported as a line that was too long; the connection stays.
 *
 * <p>Not thread safe: owned by the connection's loop thread.
 */
final class WebSocketStream implements StreamDecoder, WebSocketDecoder.Sink {

    /** What the stream needs from its connection. */
    interface Peer {
        /** Appends protocol bytes (an HTTP response, a control frame) to pending output. */
        void sendRaw(byte[] bytes);

        /**
         * Appends the close frame: the last frame of the connection, so that data sent after it
         * (what a room gathered for the client in this pass, say) is dropped (RFC 6455 5.5.1).
         */
        void sendClose(byte[] closeFrame);

        /** The 101 response is queued: the client is a WebSocket client now, and joins the hub. */
        void upgraded();

        /** Flushes what is pending, then closes, for {@code reason}. */
        void end(LeaveReason reason);
    }

    private static final byte HEAD = 0;
    private static final byte OPEN = 1;
    private static final byte CLOSED = 2;

    private final WebSite site;
    /** The close frame to send when the connection closes, if this side already chose one. */
    private byte[] closeToSend;
    private final Peer peer;
    private final int maxMessageBytes;
    private HttpRequestHead.Parser parser = new HttpRequestHead.Parser();
    private WebSocketDecoder decoder;
    private byte state = HEAD;
    /** Whether a close frame has been queued: at most one goes out. */
    private boolean closeSent;
    /** Where text messages go during the current {@link #feed}. */
    private LineDecoder.Sink lines;

    WebSocketStream(WebSite site, Peer peer, int maxMessageBytes) {
        this.site = site;
        this.peer = peer;
        this.maxMessageBytes = maxMessageBytes;
    }

    /** @return whether the upgrade happened (chat lines flow as WebSocket messages) */
    boolean isUpgraded() {
        return decoder != null;
    }

    @Override
    public int feed(byte[] buf, int off, int len, LineDecoder.Sink sink, int maxLines) {
        int used = 0;
        if (state == HEAD) {
            HttpRequestHead.Status status = parser.feed(buf, off, len);
            switch (status) {
                case INCOMPLETE -> {
                    return len;
                }
                case TOO_LARGE -> {
                    return reject(HttpResponses.headTooLarge(), len);
                }
                case MALFORMED -> {
                    return reject(HttpResponses.malformed(), len);
                }
                default -> {
                    used = parser.consumed();
                    WebSite.Answer answer = site.route(parser.head());
                    parser = null;
                    if (!answer.upgrade()) {
                        return reject(answer.response(), len);
                    }
                    state = OPEN;
                    decoder = new WebSocketDecoder(maxMessageBytes);
                    peer.sendRaw(answer.response());
                    peer.upgraded();
                }
            }
        }
        if (state != OPEN) {
            return len; // closing: what follows a close or an error is ignored
        }
        lines = sink;
        try {
            return used + decoder.feed(buf, off + used, len - used, this, maxLines);
        } finally {
            lines = null;
        }
    }

    /** Answers the request with {@code response} and ends the connection after it. */
    private int reject(byte[] response, int consumed) {
        state = CLOSED;
        parser = null;
        peer.sendRaw(response);
        peer.end(LeaveReason.DISCONNECTED);
        return consumed;
    }

    @Override
    public void finish(LineDecoder.Sink sink) {
        state = CLOSED; // the peer left without a close frame: nothing to answer
    }

    /**
     * The server ends the connection: queues a close frame with {@code code} unless one went out
     * already or the connection never upgraded.
     */
    void closing(int code, String reason) {
        if (decoder != null && !closeSent) {
            closeSent = true;
            peer.sendClose(closeToSend != null ? closeToSend : WebSocketEncoder.close(code, reason));
        }
        state = CLOSED;
    }

    /**
     * Ends the connection with {@code closeFrame} as its last frame: the connection leaves the hub
     * first (which hands it what its room gathered in this pass), then sends the close frame
     * (through {@link #closing}, or here if the connection was already closing).
     */
    private void endWith(byte[] closeFrame, LeaveReason reason) {
        if (!closeSent) {
            closeToSend = closeFrame;
        }
        peer.end(reason);
        if (decoder != null && !closeSent) {
            closeSent = true;
            peer.sendClose(closeFrame);
        }
        state = CLOSED;
    }

    @Override
    public void onText(byte[] buf, int off, int len) {
        lines.onLine(buf, off, len);
    }

    @Override
    public void onPing(byte[] buf, int off, int len) {
        if (!closeSent) {
            peer.sendRaw(WebSocketEncoder.pong(buf, off, len));
        }
    }

    @Override
    public void onPong(byte[] buf, int off, int len) {
        // Unsolicited pongs are allowed (RFC 6455 5.5.3) and mean nothing here.
    }

    @Override
    public void onClose(int code, String reason) {
        // Echo the peer's code (RFC 6455 5.5.1); the decoder let only codes valid on the wire
        // through.
        endWith(code == CloseCodes.NO_STATUS ? WebSocketEncoder.close()
                : WebSocketEncoder.close(code, ""), LeaveReason.DISCONNECTED);
    }

    @Override
    public void onMessageTooLong() {
        lines.onLineTooLong();
    }

    @Override
    public void onProtocolError(int code, String reason) {
        endWith(WebSocketEncoder.close(code, reason), LeaveReason.CONNECTION_ERROR);
    }

    @Override
    public String toString() {
        return "WebSocketStream[" + (state == HEAD ? "head" : state == OPEN ? "open" : "closed")
                + (closeSent ? ", close sent" : "") + (decoder != null ? ", " + decoder : "") + "]";
    }
}
