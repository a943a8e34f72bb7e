package org.chatloop.core;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The in-process {@link Directory}: concurrent maps shared by the hubs of one process's loops.
 * Every answer is complete when returned (no hop to another thread), so a hub handles nick claims,
 * {@code /who} and {@code /rooms} synchronously.
 *
 * <p>A claim is one {@code putIfAbsent}: exactly one of two shards racing for a name wins. Each
 * room's members are kept sorted by key, so {@code /who} in a room of 50,000 reads its first
 * {@code max} names without sorting anything; a room's changes are made under its map entry, one
 * at a time, and its count is exact. The lobby is always listed, empty or not.
 *
 * <p>Thread safe, without a lock of its own: safe to share between any number of loops.
 */
public final class LocalDirectory implements Directory {
    private static final Comparator<RoomEntry> BY_NAME =
            Comparator.comparing((RoomEntry r) -> r.name, String.CASE_INSENSITIVE_ORDER);

    private final ConcurrentHashMap<String, Claim> names = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, RoomEntry> rooms = new ConcurrentHashMap<>();
    /** Congested members in all rooms: while 0, {@link #isCongested} needs no lookup. */
    private final java.util.concurrent.atomic.AtomicInteger congestedMembers =
            new java.util.concurrent.atomic.AtomicInteger();

    /** One room: its members by key (sorted), and their number. */
    private static final class RoomEntry {
        final String name;
        final ConcurrentSkipListMap<String, String> members = new ConcurrentSkipListMap<>();
        volatile int count;
        volatile int congested;

        RoomEntry(String name) {
            this.name = name;
        }
    }

    /** Makes an empty directory: no names, the lobby without members. */
    public LocalDirectory() {
        rooms.put(Names.key(ChatHub.LOBBY), new RoomEntry(ChatHub.LOBBY));
    }

    @Override
    public CompletionStage<Boolean> claim(String key, String name, Holder holder) {
        Claim mine = new Claim(holder, name);
        Claim had = names.compute(key, (k, c) -> c == null || c.holder().equals(holder) ? mine : c);
        return CompletableFuture.completedFuture(had == mine);
    }

    @Override
    public void release(String key, Holder holder) {
        names.computeIfPresent(key, (k, c) -> c.holder().equals(holder) ? null : c);
    }

    @Override
    public CompletionStage<Optional<Claim>> find(String key) {
        return CompletableFuture.completedFuture(Optional.ofNullable(names.get(key)));
    }

    @Override
    public void joined(String roomKey, String roomName, String memberName) {
        rooms.compute(roomKey, (k, r) -> {
            RoomEntry e = r != null ? r : new RoomEntry(roomName);
            if (e.members.put(Names.key(memberName), memberName) == null) {
                e.count++;
            }
            return e;
        });
    }

    @Override
    public void left(String roomKey, String memberName) {
        rooms.computeIfPresent(roomKey, (k, e) -> {
            if (e.members.remove(Names.key(memberName)) != null) {
                e.count--;
            }
            return e.count == 0 && !k.equals(Names.key(ChatHub.LOBBY)) ? null : e;
        });
    }

    @Override
    public void renamed(String roomKey, String oldName, String newName) {
        rooms.computeIfPresent(roomKey, (k, e) -> {
            if (e.members.remove(Names.key(oldName)) != null) {
                e.members.put(Names.key(newName), newName);
            }
            return e;
        });
    }

    @Override
    public CompletionStage<Listing> members(String roomKey, int max) {
        RoomEntry e = rooms.get(roomKey);
        if (e == null) {
            return CompletableFuture.completedFuture(new Listing(0, List.of()));
        }
        List<String> first = new ArrayList<>(Math.min(max, 64));
        for (String name : e.members.values()) {
            if (first.size() == max) {
                break;
            }
            first.add(name);
        }
        return CompletableFuture.completedFuture(new Listing(Math.max(e.count, first.size()),
                first));
    }

    @Override
    public CompletionStage<Listing> rooms(int max) {
        List<RoomEntry> all = new ArrayList<>(rooms.values());
        List<RoomEntry> listed;
        if (all.size() <= max) {
            listed = all;
            listed.sort(BY_NAME);
        } else {
            listed = largest(all, max);
        }
        List<String> entries = new ArrayList<>(listed.size());
        for (RoomEntry r : listed) {
            entries.add(r.name + " (" + r.count + ")");
        }
        return CompletableFuture.completedFuture(new Listing(all.size(), entries));
    }

    /** The {@code k} largest rooms, largest first (then by name): one pass with a bounded heap. */
    private static List<RoomEntry> largest(List<RoomEntry> all, int k) {
        Comparator<RoomEntry> order = Comparator.comparingInt((RoomEntry r) -> r.count).reversed()
                .thenComparing(BY_NAME);
        PriorityQueue<RoomEntry> worstFirst = new PriorityQueue<>(k + 1, order.reversed());
        for (RoomEntry r : all) {
            if (worstFirst.size() < k) {
                worstFirst.add(r);
            } else if (order.compare(r, worstFirst.peek()) < 0) {
                worstFirst.poll();
                worstFirst.add(r);
            }
        }
        List<RoomEntry> out = new ArrayList<>(worstFirst);
        out.sort(order);
        return out;
    }

    @Override
    public void congestion(String roomKey, int delta) {
        congestedMembers.addAndGet(delta);
        rooms.computeIfPresent(roomKey, (k, e) -> {
            e.congested = Math.max(0, e.congested + delta);
            return e;
        });
    }

    @Override
    public boolean isCongested(String roomKey) {
        if (congestedMembers.get() <= 0) {
            return false;
        }
        RoomEntry e = rooms.get(roomKey);
        return e != null && e.congested > 0;
    }

    @Override
    public String roomName(String roomKey) {
        RoomEntry e = rooms.get(roomKey);
        return e == null ? null : e.name;
    }

    @Override
    public int memberCount(String roomKey) {
        RoomEntry e = rooms.get(roomKey);
        return e == null ? 0 : e.count;
    }

    @Override
    public String toString() {
        return "LocalDirectory[names=" + names.size() + ", rooms=" + rooms.size() + "]";
    }
}
