package org.chatloop.core;

/**
 * The transport's side of one client: where the {@link ChatHub} puts the frames the client must
 * receive, and how it asks the transport to end the client.
 *
 * <p>Called on the loop thread only. Both methods must return quickly and must not call back into
 * the hub: {@link #send} only appends to the client's pending output (a transport that finds the
 * client too slow marks it and disconnects it after the current pass, never during a broadcast).
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
     * The hub has removed the client (it sent {@code /quit}): flush what is pending for it, then
     * close. The transport must not report this client's departure again (a later
     * {@link ChatHub#disconnect} for it is a no-op anyway).
     */
    void close();
}
