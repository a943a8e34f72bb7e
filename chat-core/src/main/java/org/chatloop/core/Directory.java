package org.chatloop.core;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * What the shards of one chat (the hubs of several loops, or of several processes) share about
 * names and rooms: who holds a name, who is in a room, which rooms there are. Each {@link ChatHub}
 * keeps its own clients and rooms and tells the directory of every change; it asks the directory
 * whenever an answer must span shards: claiming a nick, {@code /msg}, {@code /who}, {@code /rooms}.
 *
 * <p><b>Threading.</b> Every method may be called from any shard's loop thread at once, and must
 * not block it: an answer that needs a round trip (to another process, say) is a
 * {@link CompletionStage} that completes later, on any thread; the hub hands the result back to
 * its own loop. Updates ({@link #joined}, {@link #left}, {@link #renamed}, {@link #release}) are
 * fire-and-forget and take effect in the order one shard makes them.
 *
 * <p>Names and rooms are passed as keys ({@code Names.key}: ASCII case folded) and, where they
 * are shown, as names too. {@link LocalDirectory} is the in-process implementation.
 */
public interface Directory {

    /**
     * The key under which names and rooms compare, as every method here takes them: the name
     * with ASCII letters folded to lower case (nothing else is folded).
     *
     * @param name a nick, address or room name
     * @return its key
     */
    static String key(String name) {
        return Names.key(name);
    }

    /**
     * Who holds a name: the shard and the client's id on it.
     *
     * @param shard the shard's number ({@link RoomBus.Port#shard()})
     * @param clientId the client's id on that shard ({@link Client#id()})
     */
    record Holder(int shard, long clientId) {
    }

    /**
     * A name and who holds it.
     *
     * @param holder the client's shard and id
     * @param name the name as its holder spells it
     */
    record Claim(Holder holder, String name) {
    }

    /**
     * A bounded listing.
     *
     * @param total how many there are in all
     * @param entries at most the requested number of them, in display order
     */
    record Listing(int total, List<String> entries) {
        /** Copies the entries. */
        public Listing {
            entries = List.copyOf(entries);
        }
    }

    /**
     * Claims {@code key} for {@code holder}: atomically, unique across every shard.
     *
     * @param key the name's key
     * @param name the name as the holder spells it (what {@code /msg} shows)
     * @param holder who claims it
     * @return true if the name is now the holder's (or already was), false if another holds it
     */
    CompletionStage<Boolean> claim(String key, String name, Holder holder);

    /** Releases {@code key} if {@code holder} holds it; otherwise does nothing. */
    void release(String key, Holder holder);

    /** @return who holds {@code key}, and how it is spelt, if anyone holds it */
    CompletionStage<Optional<Claim>> find(String key);

    /** A member named {@code memberName} is now in the room {@code roomName}. */
    void joined(String roomKey, String roomName, String memberName);

    /** The member named {@code memberName} is no longer in the room. */
    void left(String roomKey, String memberName);

    /** A member of the room changed its name. */
    void renamed(String roomKey, String oldName, String newName);

    /**
     * @return the members of a room across every shard: the total, and the first {@code max}
     *         names in case-insensitive order
     */
    CompletionStage<Listing> members(String roomKey, int max);

    /**
     * @return the rooms across every shard: the total, and as {@code NAME (COUNT)} entries all of
     *         them by name when there are at most {@code max}, else the {@code max} largest
     */
    CompletionStage<Listing> rooms(int max);

    /**
     * A member of the room became congested ({@code +1}: its transport holds more output for it
     * than it should) or drained ({@code -1}).
     */
    void congestion(String roomKey, int delta);

    /**
     * @return whether any member of the room, on any shard, is congested now (as far as this
     *         shard knows): then transports stop reading the room's members, so that what they
     *         would say does not pile up behind the slowest reader
     */
    boolean isCongested(String roomKey);

    /**
     * @return the room's name as it was made (the case its first member typed), or null if the
     *         room has no members anywhere, as far as this shard knows now
     */
    String roomName(String roomKey);

    /**
     * @return how many members the room has across every shard, as far as this shard knows now
     *         (a remote implementation may answer from a recent copy); used to decide whether a
     *         room is large enough for summaries
     */
    int memberCount(String roomKey);
}
