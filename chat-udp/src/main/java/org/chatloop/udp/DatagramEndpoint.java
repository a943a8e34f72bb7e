package org.chatloop.udp;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.channels.SelectionKey;
import java.util.function.Supplier;
import org.chatloop.loop.IoHandler;

/**
 * A datagram channel's key attachment, for the server and the client alike: dispatches readiness,
 * writable first (writing frees memory), then readable; a failure that reaches it is a bug (every
 * datagram's errors are caught where they happen) and is logged while the channel goes on.
 *
 * <p>Not thread safe: owned by the channel's loop thread.
 */
final class DatagramEndpoint implements IoHandler {
    private static final Logger LOG = System.getLogger(DatagramEndpoint.class.getName());

    private final Runnable onWritable;
    private final Runnable onReadable;
    private final Supplier<String> owner;

    /**
     * @param onWritable what to do when the socket can take more (flush queued datagrams)
     * @param onReadable what to do when datagrams wait
     * @param owner names the server or client in a log line
     */
    DatagramEndpoint(Runnable onWritable, Runnable onReadable, Supplier<String> owner) {
        this.onWritable = onWritable;
        this.onReadable = onReadable;
        this.owner = owner;
    }

    @Override
    public void onReady(int readyOps) {
        if ((readyOps & SelectionKey.OP_WRITE) != 0) {
            onWritable.run();
        }
        if ((readyOps & SelectionKey.OP_READ) != 0) {
            onReadable.run();
        }
    }

    @Override
    public void onFailure(Exception cause) {
        LOG.log(Level.ERROR, "unexpected failure on " + owner.get(), cause);
    }

    @Override
    public String toString() {
        return owner.get();
    }
}
