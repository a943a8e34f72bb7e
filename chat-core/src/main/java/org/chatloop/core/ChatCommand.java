package org.chatloop.core;

/**
 * A command of your own, next to the built-in ones: a client's line {@code /NAME ARGS} runs it
 * (see {@link ChatHub#registerCommand}). It runs on the hub's loop thread, like everything the
 * hub does, and answers through the hub: {@link ChatHub#send} to the client,
 * {@link ChatHub#sendToRoom} to its room (on every shard).
 *
 * <pre>{@code
 * hub.registerCommand("me", "/me ACTION", (h, client, args) ->
 *         h.sendToRoom(client, Frame.line("* " + client.name() + " " + args)));
 * }</pre>
 */
@FunctionalInterface
public interface ChatCommand {

    /**
     * Runs the command.
     *
     * @param hub the hub the client is on
     * @param client who sent it
     * @param args what followed the command's name, spaces before it removed, possibly empty;
     *             sanitised (no control characters)
     */
    void run(ChatHub hub, Client client, String args);
}
