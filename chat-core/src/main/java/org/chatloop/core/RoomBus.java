package org.chatloop.core;

import java.util.concurrent.Executor;

/**
 * How the shards of one chat hand each other what their clients say: a shard publishes a room's
 * encoded {@link Frame} once, and every other shard with members in that room receives it once and
 * fans it out to its own members. A broadcast across K shards costs one hand-off per message per
 * shard that has members, never one per recipient.
 *
 * <p><b>Order.</b> Frames one port publishes reach each other shard in the order they were
 * published; a receiving shard delivers them to its members in that order. So every member of a
 * room, on every shard, sees one sender's messages in the order the sender's shard handled them.
 * Frames from senders on different shards are not ordered with each other: two members may see
 * two such messages in different orders (each sees its own shard's first).
 *
 * <p><b>Threading.</b> A {@link Port} belongs to its shard's loop thread: call it there only. The
 * bus calls a shard's {@link Receiver} on that shard's loop, through the executor given to
 * {@link #connect}. {@link LocalRoomBus} is the in-process implementation.
 */
public interface RoomBus {

    /** What a shard receives from the others; called on the shard's own loop thread. */
    interface Receiver {
        /** A frame for the room {@code roomKey}: deliver it to the local members. */
        void onRoomFrame(String roomKey, Frame frame);

        /** A frame for one local client ({@code /msg} from another shard). */
        void onClientFrame(long clientId, Frame frame);

        /**
         * A notice from the bus itself for every local client, whatever its room (a bus over a
         * network says so when its link goes down and when it is back). Does nothing by default.
         */
        default void onNotice(Frame frame) {
        }

        /**
         * A local client's name was given to a client of another shard as well (two processes
         * granted it while they could not reach each other) and the other claim won: the shard
         * renames its client to a name of its own and tells it why. Does nothing by default.
         *
         * @param clientId the local client
         * @param name the name it lost, as the directory spells it
         * @param reason why, as the client reads it
         */
        default void onNameLost(long clientId, String name, String reason) {
        }
    }

    /** A shard's connection to the bus. Loop thread only. */
    interface Port {
        /** @return the shard's number, unique on this bus */
        int shard();

        /** The shard has members in the room now: it receives the room's frames from now on. */
        void subscribe(String roomKey);

        /** The shard has no members left in the room. */
        void unsubscribe(String roomKey);

        /** Hands the frame to every other shard subscribed to the room. */
        void publish(String roomKey, Frame frame);

        /** Hands the frame to one client of another shard. */
        void send(int shard, long clientId, Frame frame);

        /**
         * The end of the shard's loop pass: hands what the pass published over to the other
         * shards, batched (at most one hand-off, so one wakeup, per other shard per pass).
         */
        void flush();

        /**
         * @return whether the frames this shard published that other shards have not delivered
         *         yet are more than the bus's bound: a transport then stops reading its clients
         *         (as for a congested room) until the other shards catch up, so that a shard
         *         cannot flood a slower one
         */
        boolean isBackedUp();

        /** Leaves the bus: unsubscribes from every room. */
        void close();
    }

    /**
     * Connects a shard.
     *
     * @param receiver what the shard does with frames from the others
     * @param loop where {@code receiver} runs: the shard's loop
     * @return the shard's port
     */
    Port connect(Receiver receiver, Executor loop);
}
