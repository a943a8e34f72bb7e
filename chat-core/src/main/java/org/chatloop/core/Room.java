package org.chatloop.core;

import java.util.Arrays;
import org.chatloop.loop.LoopTimer;

/**
 * One shard's part of a room: the members on this hub's loop, in an array with O(1) removal (the
 * last member takes the leaving member's slot; each member knows its index), and beside it each
 * member's {@link ClientOutput}, so that a broadcast walks one array of outputs and touches no
 * {@link Client} (fan-out's per-recipient cost is what the benchmarks measure).
 *
 * <p>Not thread safe: owned by the hub's loop thread.
 */
final class Room {
    private static final Client[] NO_CLIENTS = new Client[0];
    private static final ClientOutput[] NO_OUTPUTS = new ClientOutput[0];

    private final String name;
    private final String key;
    private Client[] members = NO_CLIENTS;
    private ClientOutput[] outputs = NO_OUTPUTS;
    private int size;
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
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void add(Client c) {
        if (size == members.length) {
            int capacity = Math.max(4, size * 2);
            members = Arrays.copyOf(members, capacity);
            outputs = Arrays.copyOf(outputs, capacity);
        }
        c.memberIndex(size);
        members[size] = c;
        outputs[size] = c.output();
        size++;
        c.room(this);
    }

    void remove(Client c) {
        int i = c.memberIndex();
        int last = --size;
        Client moved = members[last];
        members[i] = moved;
        outputs[i] = outputs[last];
        moved.memberIndex(i);
        members[last] = null;
        outputs[last] = null;
        c.memberIndex(-1);
        c.room(null);
        if (size == 0 && members.length > 64) {
            members = NO_CLIENTS; // a room that emptied keeps no large arrays
            outputs = NO_OUTPUTS;
        }
    }

    /** Hands the same frame to every member: no copy, no allocation per member. */
    void broadcast(Frame frame) {
        ClientOutput[] to = outputs;
        for (int i = 0, n = size; i < n; i++) {
            to[i].send(frame);
        }
    }

    /** Like {@link #broadcast} but skips one member. */
    void broadcastExcept(Frame frame, Client skip) {
        ClientOutput[] to = outputs;
        int skipped = skip.room() == this ? skip.memberIndex() : -1;
        for (int i = 0, n = size; i < n; i++) {
            if (i != skipped) {
                to[i].send(frame);
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
}
