package org.chatloop.core;

import java.util.ArrayList;
import java.util.List;
import org.chatloop.loop.LoopTimer;

/**
 * One shard's part of a room: the members on this hub's loop, in an array list with O(1) removal (the last member takes the leaving
 * member's slot; each member knows its index). Not thread safe: owned by the hub's loop thread.
 */
final class Room {
    private final String name;
    private final String key;
    private final ArrayList<Client> members = new ArrayList<>();
    /** Joins and leaves not yet announced (rooms past the hub's announce limit). */
    int joinedSinceSummary;
    int leftSinceSummary;
    /** The pending summary, or null. */
    LoopTimer summaryTimer;

    Room(String name) {
        this.name = name;
        this.key = Names.key(name);
    }

    /** @return the name's key (ASCII case folded): how the directory and the bus know the room */
    String key() {
        return key;
    }

    String name() {
        return name;
    }

    int size() {
        return members.size();
    }

    boolean isEmpty() {
        return members.isEmpty();
    }

    void add(Client c) {
        c.memberIndex(members.size());
        members.add(c);
        c.room(this);
    }

    void remove(Client c) {
        int i = c.memberIndex();
        int last = members.size() - 1;
        Client moved = members.get(last);
        members.set(i, moved);
        moved.memberIndex(i);
        members.remove(last);
        c.memberIndex(-1);
        c.room(null);
    }

    /** Hands the same frame to every member: no copy, no allocation per member. */
    void broadcast(Frame frame) {
        for (int i = 0, n = members.size(); i < n; i++) {
            members.get(i).output().send(frame);
        }
    }

    /** Like {@link #broadcast} but skips one member. */
    void broadcastExcept(Frame frame, Client skip) {
        for (int i = 0, n = members.size(); i < n; i++) {
            Client c = members.get(i);
            if (c != skip) {
                c.output().send(frame);
            }
        }
    }

    void cancelSummary() {
        if (summaryTimer != null) {
            summaryTimer.cancel();
            summaryTimer = null;
        }
        joinedSinceSummary = 0;
        leftSinceSummary = 0;
    }

    List<Client> members() {
        return members;
    }
}
