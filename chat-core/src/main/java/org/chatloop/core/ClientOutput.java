package org.chatloop.core;

/**
 * The transport's side of one client: where the {@link ChatHub} puts the frames the client must
 * receive, and how it asks the transport to end the client.
 *
 * <p>Called on the loop thread only. Both methods must return quickly and must not call back into
 * the hub, but for {@link ChatHub#congestion}: {@link #send} only appends to the client's pending
 * output (a transport that finds the client too slow marks it and disconnects it after the current
 * pass, never during a broadcast). A send that sent to, joined or removed a client would break the
 * order of the room delivery under way.
 */
public interface ClientOutput {

    /**
     * Queues a frame for the client. The frame is shared with every other recipient: copy it or
     * keep a read-only view, never change it.
     *
     * @param frame the frame, immutable
     */
    void send(Frame frame);

    /**
     * Queues several frames for the client, in order: what {@link #send(Frame)} does for each,
     * which is what this default does. A room hands the messages broadcast to it during a loop pass
     * to each member with one such call at the end of the pass (or once
     * 64 frames or 32 KiB have gathered), giving every member the same array; the hub never
     * changes the array after the call, so a transport may copy the frames once for every member
     * (keeping the array, by identity, as the key of its copy) and append one range per member.
     *
     * @param frames the frames, shared with every other recipient: never change it
     * @param count how many frames, from index 0
     */
    default void send(Frame[] frames, int count) {
        for (int i = 0; i < count; i++) {
            send(frames[i]);
        }
    }

    /**
     * The hub has removed the client (it sent {@code /quit}): flush what is pending for it, then
     * close. The transport must not report this client's departure again (a later
     * {@link ChatHub#disconnect} for it is a no-op anyway).
     */
    void close();
}
