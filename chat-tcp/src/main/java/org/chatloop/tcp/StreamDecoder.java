package org.chatloop.tcp;

/**
 * What turns a connection's incoming bytes into chat lines: {@link LineDecoder} for the line
 * protocol, {@link WebSocketStream} for HTTP and WebSocket. Everything else about a connection
 * (buffers, pending output, flood control, timers, the close path) is the same for both, in
 * {@link Connection}.
 *
 * <p>Not thread safe: one decoder per connection, used by its loop thread.
 */
interface StreamDecoder {

    /**
     * Feeds the next bytes of the stream, but stops after {@code maxLines} lines (each line, too
     * long or not, counts as one): bytes after the last line decoded are not consumed, and the
     * caller must feed them again, first, later. With a budget of 0 nothing is consumed.
     *
     * @return the bytes consumed, {@code len} if the budget was not reached
     */
    int feed(byte[] buf, int off, int len, LineDecoder.Sink sink, int maxLines);

    /** The stream ended (end of stream from the peer): report what it still holds. */
    void finish(LineDecoder.Sink sink);

    /** @return whether bytes of a line without a terminator wait for a pause to end them */
    default boolean holdsUnframedLine() {
        return false;
    }

    /** The sender of an unframed stream paused: what it sent since the last line is a line. */
    default void flushUnframed(LineDecoder.Sink sink) {
    }
}
