package org.chatloop.core;

import java.util.ArrayList;
import org.chatloop.loop.EventLoop;

/**
 * The rooms of one hub whose messages of the current loop pass have not been handed to their
 * members yet (see {@link Room#broadcast}), and the before-output hook that hands them over at the
 * end of the pass, before the transports flush.
 *
 * <p>Why: a room's members receive the same messages in the same order, so a transport can append
 * all of a pass's messages to a member's pending output as one range, once per member per pass,
 * instead of once per member per message; that per-recipient step is what fan-out costs (the
 * TCP fan-out benchmark's loop CPU per delivery).
 *
 * <p>Not thread safe: owned by the hub's loop thread.
 */
final class PassBatches {
    private static final System.Logger LOG = System.getLogger(ChatHub.class.getName());
    private final EventLoop loop;
    private final ArrayList<Room> pending = new ArrayList<>();
    /** Whether the hook is registered: until then nothing is gathered. */
    private boolean hooked;

    /**
     * Registers the hook on {@code loop} now if called on its thread, else through a task (a hub
     * may be made before its loop runs, or from another thread).
     */
    PassBatches(EventLoop loop) {
        this.loop = loop;
        if (loop.inLoopThread()) {
            hook();
        } else {
            loop.execute(this::hook);
        }
    }

    private void hook() {
        loop.beforeOutput(this::deliver);
        hooked = true;
    }

    /** @return whether a broadcast now may be gathered: the pass will end with {@link #deliver} */
    boolean gathering() {
        return hooked && loop.isDispatching();
    }

    /** The room gathered its first message of the pass. */
    void add(Room room) {
        pending.add(room);
    }

    /**
     * Hands every room's gathered messages to its members. A room whose delivery throws (a
     * transport's bug) is logged; the other rooms are delivered all the same.
     */
    void deliver() {
        try {
            for (int i = 0; i < pending.size(); i++) {
                Room room = pending.get(i);
                try {
                    room.endOfPass();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "delivering to room " + room.name()
                            + " failed", e);
                }
            }
        } finally {
            pending.clear();
        }
    }
}
