package org.chatloop.loop;

import java.io.IOException;

/**
 * What an {@link EventLoop} calls when a registered channel is ready. It is the attachment of the
 * channel's {@link java.nio.channels.SelectionKey}, so dispatch needs no lookup and no
 * {@code instanceof} chain.
 *
 * <p>Both methods are called on the loop thread only. An implementation owns its channel: when
 * {@link #onReady} throws, the loop calls {@link #onFailure} and the handler must release the
 * channel there; the loop itself goes on serving every other channel.
 */
public interface IoHandler {

    /**
     * The channel is ready for the given operations.
     *
     * @param readyOps the ready set of the key ({@code OP_READ}, {@code OP_WRITE}, ...)
     * @throws IOException to have the loop call {@link #onFailure} with it
     */
    void onReady(int readyOps) throws IOException;

    /**
     * {@link #onReady} failed with an exception (never an {@link Error}, which the loop rethrows).
     * The handler must close its channel; the default does nothing and is only right for handlers
     * that cannot fail.
     *
     * @param cause what {@code onReady} threw
     */
    default void onFailure(Exception cause) {
    }
}
