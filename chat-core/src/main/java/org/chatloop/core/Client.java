package org.chatloop.core;

import java.nio.charset.StandardCharsets;

/**
 * One connected client as the {@link ChatHub} knows it: a handle that the transport keeps beside
 * its connection and passes back with every line. Its name is its address ({@code ip:port}) until
 * it sets a nick.
 *
 * <p>Not thread safe: owned by the hub's loop thread, like the hub.
 */
public final class Client {
    private final long id;
    private final String address;
    private final ClientOutput output;
    private String name;
    private byte[] messagePrefix;
    private Room room;
    private int memberIndex = -1;
    private boolean connected = true;
    /**
     * Lines that arrived while a command of this client waited for the directory (a nick claim,
     * say), to be handled after it in their order; null when nothing waits.
     */
    java.util.ArrayDeque<byte[]> queued;
    /** Whether a command of this client waits for an answer from the directory. */
    boolean waiting;
    /** Whether its transport reported it congested (counted in its room, in the directory). */
    boolean congested;

    Client(long id, String address, String name, ClientOutput output) {
        this.id = id;
        this.address = address;
        this.output = output;
        rename(name);
    }

    /**
     * @return the id the hub gave this client, unique for the hub's life and across the shards of
     *         its chat (the shard's number is in the top 16 bits)
     */
    public long id() {
        return id;
    }

    /** @return the address the transport gave when the client arrived */
    public String address() {
        return address;
    }

    /** @return the name others see: the nick, or the address until a nick is set */
    public String name() {
        return name;
    }

    /** @return the name of the client's room, or null once it has left */
    public String roomName() {
        return room == null ? null : room.name();
    }

    /** @return whether the client is still registered with the hub */
    public boolean isConnected() {
        return connected;
    }

    /**
     * @return where the client's frames go, once what its room gathered in this pass has been
     *         handed over (see {@link Room}): a frame sent through it comes after them
     */
    ClientOutput output() {
        Room r = room;
        if (r != null) {
            r.deliverGathered();
        }
        return output;
    }

    /** @return where the client's frames go, as it is (for the room's own array of outputs) */
    ClientOutput rawOutput() {
        return output;
    }

    void rename(String newName) {
        name = newName;
        messagePrefix = null;
    }

    /**
     * @return {@code "<NAME> "} in UTF-8, made when the client first speaks under its name (an
     *         idle client keeps none): shared, do not change
     */
    byte[] messagePrefix() {
        byte[] p = messagePrefix;
        if (p == null) {
            p = ("<" + name + "> ").getBytes(StandardCharsets.UTF_8);
            messagePrefix = p;
        }
        return p;
    }

    Room room() {
        return room;
    }

    void room(Room r) {
        room = r;
    }

    int memberIndex() {
        return memberIndex;
    }

    void memberIndex(int i) {
        memberIndex = i;
    }

    void markDisconnected() {
        connected = false;
    }

    @Override
    public String toString() {
        return "Client[" + id + " " + name + (room == null ? "" : " in " + room.name())
                + (connected ? "" : ", gone") + "]";
    }
}
