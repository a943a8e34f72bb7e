package org.chatloop.core;

import java.util.Arrays;
import org.chatloop.loop.LoopTimer;

/**
 * One shard's part of a room: the members on this hub's loop, in an array with O(1) removal (the
 * last member takes the leaving member's slot; each member knows its index), and beside it each
 * member's {@link ClientOutput}, so that a broadcast walks one array of outputs and touches no
 * {@link Client} (fan-out's per-recipient cost is what the benchmarks measure).
 *
 * <p><b>Messages of a pass go out together.</b> On a hub owned by a loop, what is broadcast to the
 * room while the loop dispatches a pass is gathered (up to {@link #GATHER_FRAMES} frames or
 * {@link #GATHER_BYTES} bytes) and handed to each member with one
 * {@link ClientOutput#send(Frame[], int)} at the end of the pass ({@link PassBatches}), or
 * earlier when something else is about to reach a member: a frame sent to one member (through
 * {@link Client#output()}), a member joining or leaving, a broadcast that skips one. Each member
 * therefore sees the room's messages and its own frames in the order the hub made them, as if
 * each had been sent at once. Elsewhere (no loop, outside a pass) a broadcast goes out at once.
 *
 * <p>Not thread safe: owned by the hub's loop thread.
 */
final class Room {
    private static final Client[] NO_CLIENTS = new Client[0];
    private static final ClientOutput[] NO_OUTPUTS = new ClientOutput[0];
    /** Frames gathered at most before they are handed over (a bound on the work of one call). */
    static final int GATHER_FRAMES = 64;
    /** Bytes gathered at most before they are handed over (a transport may copy them as one). */
    static final int GATHER_BYTES = 32 * 1024;

    private final String name;
    private final String key;
    private Client[] members = NO_CLIENTS;
    private ClientOutput[] outputs = NO_OUTPUTS;
    private int size;
    /** Where the room says it has gathered frames, or null when it never gathers. */
    private final PassBatches batches;
    /** Frames broadcast in this pass and not handed over yet; replaced once handed over. */
    private Frame[] gathered;
    private int gatheredCount;
    private int gatheredBytes;
    private boolean listed;
    /** Joins and leaves not yet announced (rooms past the hub's announce limit). */
    int joinedSinceSummary;
    int leftSinceSummary;
    /** The pending summary, or null. */
    LoopTimer summaryTimer;

    /** @param batches how the hub's pass ends, or null to send every broadcast at once */
    Room(String name, PassBatches batches) {
        this.name = name;
        this.key = Names.key(name);
        this.batches = batches;
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
        deliverGathered(); // a member hears what was said after it joined, not before
        if (size == members.length) {
            int capacity = Math.max(4, size * 2);
            members = Arrays.copyOf(members, capacity);
            outputs = Arrays.copyOf(outputs, capacity);
        }
        c.memberIndex(size);
        members[size] = c;
        outputs[size] = c.rawOutput();
        size++;
        c.room(this);
    }

    void remove(Client c) {
        deliverGathered(); // a member hears what was said before it left
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

    /**
     * Hands the same frame to every member (no copy, no allocation per member): gathered with the
     * pass's other broadcasts when the hub's loop is dispatching a pass, else at once.
     */
    void broadcast(Frame frame) {
        if (size == 0) {
            return;
        }
        if (batches == null || !batches.gathering()) {
            deliverGathered();
            sendEach(frame);
            return;
        }
        if (gathered == null) {
            gathered = new Frame[GATHER_FRAMES];
        }
        gathered[gatheredCount++] = frame;
        gatheredBytes += frame.length();
        if (!listed) {
            listed = true;
            batches.add(this);
        }
        if (gatheredCount == GATHER_FRAMES || gatheredBytes >= GATHER_BYTES) {
            deliverGathered();
        }
    }

    /** Like {@link #broadcast} but skips one member; what was gathered goes first. */
    void broadcastExcept(Frame frame, Client skip) {
        deliverGathered();
        ClientOutput[] to = outputs;
        int skipped = skip.room() == this ? skip.memberIndex() : -1;
        for (int i = 0, n = size; i < n; i++) {
            if (i != skipped) {
                to[i].send(frame);
            }
        }
    }

    /** Hands the same frame to every member: no copy, no allocation per member. */
    private void sendEach(Frame frame) {
        ClientOutput[] to = outputs;
        for (int i = 0, n = size; i < n; i++) {
            to[i].send(frame);
        }
    }

    /** The pass ends ({@link PassBatches#deliver}): what was gathered goes out. */
    void endOfPass() {
        listed = false;
        deliverGathered();
    }

    /**
     * Hands what was gathered to every member: one frame with {@link ClientOutput#send(Frame)},
     * several with one {@link ClientOutput#send(Frame[], int)} per member, all given the same array,
     * which is never changed afterwards (the next gathering starts a new one).
     */
    void deliverGathered() {
        int n = gatheredCount;
        if (n == 0) {
            return;
        }
        Frame[] frames = gathered;
        gatheredCount = 0;
        gatheredBytes = 0;
        if (n == 1) {
            Frame frame = frames[0];
            frames[0] = null; // the array was not handed out: it is kept for the next pass
            sendEach(frame);
            return;
        }
        gathered = null;
        ClientOutput[] to = outputs;
        for (int i = 0, m = size; i < m; i++) {
            to[i].send(frames, n);
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
