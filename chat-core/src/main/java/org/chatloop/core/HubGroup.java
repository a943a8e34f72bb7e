package org.chatloop.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.chatloop.loop.EventLoop;

/**
 * The loops of one chat and their hub shards: N {@link EventLoop} threads, each owning one
 * {@link ChatHub}, sharing one {@link Directory} and one {@link RoomBus}. Transports attach to a
 * group and spread their clients over its loops; every loop stays single-threaded and lock-free
 * on its hot path, and a room spans every loop with members in it.
 *
 * <pre>{@code
 * HubGroup group = HubGroup.start(4, HubOptions.defaults(), "chat"); // threads chat-0 .. chat-3
 * TcpChatServer tcp = TcpChatServer.attach(group, TcpServerOptions.defaults());
 * ...
 * tcp.stop();
 * group.stop();
 * }</pre>
 *
 * <p>With one loop, a group is exactly one loop and one hub, as a server made without a group.
 *
 * <p><b>Threading.</b> Immutable once made; its methods are safe from any thread. Each hub must
 * be used on its own loop's thread.
 */
public final class HubGroup implements AutoCloseable {
    private final List<EventLoop> loops;
    private final List<ChatHub> hubs;
    private final Directory directory;
    private final boolean owned;

    private HubGroup(List<EventLoop> loops, List<ChatHub> hubs, Directory directory,
                     boolean owned) {
        this.loops = List.copyOf(loops);
        this.hubs = List.copyOf(hubs);
        this.directory = directory;
        this.owned = owned;
    }

    /**
     * Starts {@code loops} loop threads, named {@code name-0} onwards, each with a hub shard made
     * with {@code options}, over an in-process {@link LocalDirectory} and {@link LocalRoomBus}.
     *
     * @param loops how many loops, at least 1 (one per core is the usual choice)
     * @param options every hub's settings
     * @param name the threads' name prefix
     * @return the running group
     */
    public static HubGroup start(int loops, HubOptions options, String name) {
        return start(loops, options, name, new LocalDirectory(), new LocalRoomBus());
    }

    /**
     * Starts a group whose shards share {@code directory} and {@code bus}: the seam through which a
     * chat spans processes (a directory and bus over a network).
     *
     * @param loops how many loops, at least 1
     * @param options every hub's settings
     * @param name the threads' name prefix
     * @param directory the names and rooms every shard shares
     * @param bus how frames reach the other shards
     * @return the running group
     */
    public static HubGroup start(int loops, HubOptions options, String name, Directory directory,
                                 RoomBus bus) {
        HubGroup g = create(loops, options, directory, bus);
        g.startLoops(name);
        return g;
    }

    /**
     * Makes a group whose loops are not running yet, over an in-process directory and bus: until
     * {@link #startLoops} the calling thread may set the loops up (register channels, hooks).
     *
     * @param loops how many loops, at least 1
     * @param options every hub's settings
     * @return the group, not started
     */
    public static HubGroup create(int loops, HubOptions options) {
        return create(loops, options, new LocalDirectory(), new LocalRoomBus());
    }

    /**
     * Makes a group whose loops are not running yet, whose shards share {@code directory} and
     * {@code bus} (a directory and bus over a network make a chat that spans processes): until
     * {@link #startLoops} the calling thread may set the loops up.
     *
     * @param loops how many loops, at least 1
     * @param options every hub's settings
     * @param directory the names and rooms every shard shares
     * @param bus how frames reach the other shards
     * @return the group, not started
     */
    public static HubGroup create(int loops, HubOptions options, Directory directory,
                                  RoomBus bus) {
        if (loops < 1) {
            throw new IllegalArgumentException("loops must be at least 1: " + loops);
        }
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(bus, "bus");
        List<EventLoop> ls = new ArrayList<>(loops);
        List<ChatHub> hs = new ArrayList<>(loops);
        for (int i = 0; i < loops; i++) {
            EventLoop loop = new EventLoop();
            ls.add(loop);
            hs.add(new ChatHub(loop, options, directory, bus));
        }
        return new HubGroup(ls, hs, directory, true);
    }

    /**
     * Starts a thread for each loop of a group made by {@link #create}: {@code name} for a group
     * of one, else {@code name-0} onwards.
     *
     * @param name the threads' name, or their prefix
     */
    public void startLoops(String name) {
        Objects.requireNonNull(name, "name");
        for (int i = 0; i < loops.size(); i++) {
            loops.get(i).start(loops.size() == 1 ? name : name + "-" + i);
        }
    }

    /** Closes the loops of a group that was made but never started (a failed setup). */
    public void closeUnstarted() {
        for (EventLoop l : loops) {
            l.close();
        }
    }

    /**
     * A group of one: a loop and hub you made and drive yourself ({@link #stop()} leaves them
     * running).
     *
     * @param loop the loop
     * @param hub the hub, owned by {@code loop}
     * @return the group
     */
    public static HubGroup of(EventLoop loop, ChatHub hub) {
        return new HubGroup(List.of(Objects.requireNonNull(loop, "loop")),
                List.of(Objects.requireNonNull(hub, "hub")), null, false);
    }

    /** @return the number of loops */
    public int size() {
        return loops.size();
    }

    /** @return loop {@code i} */
    public EventLoop loop(int i) {
        return loops.get(i);
    }

    /** @return the hub shard of loop {@code i} */
    public ChatHub hub(int i) {
        return hubs.get(i);
    }

    /**
     * Runs {@code setup} on every hub, each on its own loop's thread (at once, on this thread, if
     * the loops have not started), and waits: the way to register commands or a policy on every
     * shard.
     *
     * @param setup what to do to each hub
     */
    public void configure(java.util.function.Consumer<ChatHub> setup) {
        Objects.requireNonNull(setup, "setup");
        for (int i = 0; i < loops.size(); i++) {
            EventLoop loop = loops.get(i);
            ChatHub hub = hubs.get(i);
            if (loop.inLoopThread()) {
                setup.accept(hub);
                continue;
            }
            java.util.concurrent.CompletableFuture<Void> done =
                    new java.util.concurrent.CompletableFuture<>();
            loop.execute(() -> {
                try {
                    setup.accept(hub);
                    done.complete(null);
                } catch (RuntimeException e) {
                    done.completeExceptionally(e);
                }
            });
            try {
                done.get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while configuring", e);
            } catch (java.util.concurrent.ExecutionException
                     | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("configuring shard " + i + " failed", e);
            }
        }
    }

    /** @return every shard's {@link ChatHub#stats()}, summed; safe from any thread */
    public HubStats stats() {
        HubStats sum = new HubStats(0, 0, 0, 0, 0, 0);
        for (ChatHub h : hubs) {
            sum = sum.plus(h.stats());
        }
        return sum;
    }

    /** @return the shared directory, or null for a group made by {@link #of} */
    public Directory directory() {
        return directory;
    }

    /**
     * Stops every loop this group started and waits (at most 5 s each) for them to end; every
     * channel still registered on them is closed. Does nothing for a group made by {@link #of}.
     */
    public void stop() {
        if (!owned) {
            return;
        }
        for (EventLoop l : loops) {
            l.stop();
        }
        for (EventLoop l : loops) {
            try {
                if (!l.inLoopThread()) {
                    l.awaitTermination(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    @Override
    public String toString() {
        return "HubGroup[loops=" + loops.size() + (owned ? "" : ", attached") + "]";
    }
}
