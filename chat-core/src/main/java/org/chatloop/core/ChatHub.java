package org.chatloop.core;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Locale;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.chatloop.loop.EventLoop;

/**
 * The transport-neutral heart of a chat server: the client registry, the rooms, and the command
 * language. A transport (TCP, UDP, or one of your own) reports what happens to its clients
 * ({@link #connect}, {@link #onLine}, {@link #disconnect}); the hub answers by handing encoded
 * {@link Frame}s to each client's {@link ClientOutput}, and by {@link ClientOutput#close()} when a
 * client quits. Several transports may share one hub, and so the same rooms, as long as they run
 * on the same loop thread.
 *
 * <p><b>Rules.</b> {@code lobby} always exists; other rooms are made by the first {@code /join} and
 * removed when their last member leaves. Each client is in exactly one room. A client's name is its
 * address until it sets a nick; nicks are 1-32 characters of {@code [A-Za-z0-9_.-]}, unique
 * case-insensitively. Text is sanitised before anyone sees it (see {@link Frame}).
 *
 * <p><b>Large rooms.</b> In a room with more members than {@link HubOptions#announceLimit()},
 * joins, leaves and renames are not announced one by one (10,000 arrivals would otherwise make
 * 50 million notices): the room gets a summary, {@code * 37 joined, 12 left lobby (1,203 here)},
 * at most once per {@link HubOptions#summaryInterval()}, timed on the hub's loop, and nothing when
 * nothing changed. {@code /who} and {@code /rooms} list at most {@link HubOptions#maxListed()}
 * entries and never write a line longer than {@link HubOptions#maxReplyBytes()}.
 *
 * <p><b>Encode once.</b> A room message is encoded once into one immutable {@link Frame} and that
 * instance goes to every member; the hub allocates per message, never per recipient.
 *
 * <p><b>Shards.</b> A hub is one shard of a chat: it owns the clients of one loop and its part of
 * each room, and reaches the other shards (other loops, other processes) through a
 * {@link Directory} (names, members, rooms) and a {@link RoomBus} (frames). A room message is
 * handed to the local members (at the end of the loop pass, with the room's other messages of the
 * pass: see {@code Room}; each member's order is as if it had been sent at once) and published once
 * to the bus, which hands it to every other shard with members in the room, where it is delivered
 * in turn; {@code /who},
 * {@code /rooms}, {@code /msg} and nick claims ask the directory. Made with
 * {@link #ChatHub(EventLoop, HubOptions)}, a hub is a chat of one shard, with a directory and a
 * bus of its own. Every member of a room sees one sender's messages in the order the sender's
 * shard handled them; messages of senders on different shards are not ordered with each other
 * (see {@link RoomBus}).
 *
 * <p><b>Asynchronous commands.</b> A command whose answer the directory gives later (a nick claim
 * over the network, say) is finished on the hub's loop when the answer arrives; the client's lines
 * that arrive meanwhile wait (at most {@value #MAX_QUEUED_LINES} of them) and are handled after it,
 * in order, so the client sees its replies in the order it sent its lines. With the in-process
 * {@link LocalDirectory} every answer is immediate and nothing waits.
 *
 * <p><b>Threading.</b> Not thread safe, and without locks: a hub and its clients are owned by one
 * thread, the loop thread of the transport(s) that feed it. Call every method from that thread.
 * Its bus port is flushed by a before-select hook on that loop, once per pass.
 */
public final class ChatHub {
    /** The room every client starts in; it always exists. */
    public static final String LOBBY = "lobby";

    private static final Logger LOG = System.getLogger(ChatHub.class.getName());
    private static final Frame BYE = Frame.notice("bye");
    /** Lines one client may send while a command of its waits for the directory. */
    static final int MAX_QUEUED_LINES = 256;
    private static final Frame TOO_MANY_WAITING = Frame.error("too many lines while a command "
            + "waits for the directory; line dropped");
    private static final Frame DIRECTORY_FAILED =
            Frame.error("the directory did not answer; try again");

    /** Every connected client by its name's key: each has a unique name, so this is the registry. */
    private final Map<String, Client> byName = new HashMap<>();
    /** The same clients by id, for frames the bus addresses to one client. */
    private final Map<Long, Client> byId = new HashMap<>();
    private final Map<String, Room> rooms = new HashMap<>();
    private final Room lobby;
    /** The rooms gathering this pass's messages (see {@link Room}), or null without a loop. */
    private final PassBatches batches;
    private final EventLoop loop;
    private final HubOptions options;
    private final Directory directory;
    private final RoomBus.Port port;
    private final java.util.concurrent.Executor executor;
    /** Commands of the server's own, by name key, in the order registered. */
    private final Map<String, Registered> commands = new java.util.LinkedHashMap<>();
    private String help = CommandParser.HELP;
    private ClientPolicy policy;
    // Counters for stats(): written by the loop thread only, read from any thread.
    private volatile int clientsNow;
    private volatile long arrivals;
    private volatile long messages;
    private volatile long deliveries;
    private volatile long droppedTooSlow;
    private volatile int congestedNow;
    private static final Frame MESSAGE_REFUSED = Frame.error("message refused");

    private record Registered(String usage, ChatCommand command) {
    }

    private byte[] scratch = new byte[3 * 4096];
    private long nextId = 1;

    /**
     * Creates a hub with an empty lobby that announces every join and leave, whatever the size of
     * the room (it has no loop to time summaries with); otherwise {@link HubOptions#defaults()}.
     */
    public ChatHub() {
        this(null, HubOptions.defaults().withAnnounceLimit(Integer.MAX_VALUE));
    }

    /**
     * Creates a shard of a chat of several: a hub owned by {@code loop} that shares names and
     * rooms with the other shards through {@code directory} and {@code bus}.
     *
     * @param loop the loop that owns the hub (its before-select hook flushes the bus port)
     * @param options the settings
     * @param directory the names and rooms shared by every shard
     * @param bus how frames reach the other shards
     */
    public ChatHub(EventLoop loop, HubOptions options, Directory directory, RoomBus bus) {
        this.loop = Objects.requireNonNull(loop, "loop");
        this.options = Objects.requireNonNull(options, "options");
        this.directory = Objects.requireNonNull(directory, "directory");
        this.executor = loop;
        this.port = Objects.requireNonNull(bus, "bus").connect(new Shard(), loop);
        this.batches = new PassBatches(loop);
        this.lobby = new Room(LOBBY, batches);
        rooms.put(lobby.key(), lobby);
        if (loop.inLoopThread()) {
            loop.beforeSelect(port::flush);
        } else {
            loop.execute(() -> loop.beforeSelect(port::flush));
        }
    }

    /**
     * Creates a hub with an empty lobby, owned by {@code loop}: the hub's summary timers run there,
     * and every call must come from its thread.
     *
     * @param loop the loop that owns the hub
     * @param options the settings
     */
    public ChatHub(EventLoop loop, HubOptions options) {
        this.loop = loop;
        this.options = Objects.requireNonNull(options, "options");
        if (loop == null && options.announceLimit() != Integer.MAX_VALUE) {
            throw new IllegalArgumentException("an announce limit needs a loop to time summaries");
        }
        this.directory = new LocalDirectory();
        this.executor = loop != null ? loop : Runnable::run;
        // A bus of one shard: nothing is ever published to another, so nothing needs flushing.
        this.port = new LocalRoomBus().connect(new Shard(), executor);
        this.batches = loop != null ? new PassBatches(loop) : null;
        this.lobby = new Room(LOBBY, batches);
        rooms.put(lobby.key(), lobby);
    }

    /** @return this shard's number on its bus (0 for a hub of its own) */
    public int shard() {
        return port.shard();
    }

    /** @return the hub's settings */
    public HubOptions options() {
        return options;
    }

    /**
     * A client arrived: registers it under its address, puts it in the lobby, sends it
     * {@code * welcome NAME ...} and tells the lobby it joined.
     *
     * @param address how the transport names the peer, {@code ip:port}; made unique if another
     *                client already has it as its name
     * @param output where the client's frames go
     * @return the client's handle, to pass back with its lines
     */
    public Client connect(String address, ClientOutput output) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(output, "output");
        if (policy != null) {
            ClientPolicy.Decision d = policy.onArrive(address);
            if (!d.accepted()) {
                Client refused = new Client(-1, address, address, output);
                refused.markDisconnected();
                output.send(Frame.error(d.reason()));
                output.close();
                return refused;
            }
        }
        long seq = nextId++;
        // Unique across the chat's shards: the shard's number in the top 16 bits.
        long id = ((long) shard() << 48) | seq;
        String name = address;
        if (byName.containsKey(Names.key(name)) || !claimNow(Names.key(name), id)) {
            // Unique by construction: no nick or other address has a '~'.
            name = address + "~" + (shard() == 0 ? "" : shard() + ".") + seq;
            claimNow(Names.key(name), id);
        }
        Client client = new Client(id, address, name, output);
        byName.put(Names.key(name), client);
        byId.put(id, client);
        clientsNow = byName.size();
        arrivals++;
        addToRoom(lobby, client);
        output.send(Frame.notice("welcome " + name + " (room " + LOBBY
                + "; /nick NAME to rename, /help for commands)"));
        if (isLarge(lobby)) {
            lobby.joinedSinceSummary++;
            summarizeLater(lobby);
        } else {
            toRoomExcept(lobby, Frame.notice(name + " joined " + LOBBY), client);
        }
        LOG.log(Level.DEBUG, "{0} connected", client);
        return client;
    }

    /**
     * Claims an address name for a new client: immediately where the directory answers at once;
     * a directory that must ask elsewhere is trusted (addresses of live sockets are unique on a
     * host, and a duplicate name is only confusing, never an impersonation: nicks are claimed).
     */
    private boolean claimNow(String key, long id) {
        java.util.concurrent.CompletableFuture<Boolean> f =
                directory.claim(key, key, new Directory.Holder(shard(), id)).toCompletableFuture();
        return !f.isDone() || f.isCompletedExceptionally() || f.join();
    }

    private Directory.Holder holder(Client c) {
        return new Directory.Holder(shard(), c.id());
    }

    /**
     * The transport says whether the client is congested: more output pending for it than it
     * should hold. Its room counts as congested (on every shard) while any member is, and
     * {@link #isRoomCongested} tells the transports, which stop reading the room's members until
     * it drains. Loop thread.
     *
     * @param client the client
     * @param congested whether it is congested now
     */
    public void congestion(Client client, boolean congested) {
        if (client.congested == congested || !client.isConnected() || client.room() == null) {
            return;
        }
        client.congested = congested;
        congestedNow += congested ? 1 : -1;
        directory.congestion(client.room().key(), congested ? 1 : -1);
    }

    /**
     * @param client a client
     * @return whether its room is congested on any shard (see {@link #congestion}); cheap: one
     *         volatile read while nothing anywhere is congested
     */
    public boolean isRoomCongested(Client client) {
        Room room = client.room();
        return room != null && (port.isBackedUp() || directory.isCongested(room.key()));
    }

    /** Puts the client in the room: locally, in the directory, on the bus (its first member). */
    private void addToRoom(Room room, Client client) {
        room.add(client);
        directory.joined(room.key(), room.name(), client.name());
        if (client.congested) {
            directory.congestion(room.key(), 1);
        }
        if (room.size() == 1) {
            port.subscribe(room.key());
        }
    }

    /** Takes the client out of the room, everywhere {@link #addToRoom} put it. */
    private void removeFromRoom(Room room, Client client) {
        room.remove(client);
        if (client.congested) {
            directory.congestion(room.key(), -1);
        }
        directory.left(room.key(), client.name());
        if (room.isEmpty()) {
            port.unsubscribe(room.key());
        }
    }

    /** Delivers the frame to the room's local members and publishes it to the other shards. */
    private void toRoom(Room room, Frame frame) {
        deliveries += room.size();
        room.broadcast(frame);
        port.publish(room.key(), frame);
    }

    private void toRoomExcept(Room room, Frame frame, Client skip) {
        deliveries += room.size() - 1;
        room.broadcastExcept(frame, skip);
        port.publish(room.key(), frame);
    }

    /** What the other shards send this one; runs on the hub's loop. */
    private final class Shard implements RoomBus.Receiver {
        @Override
        public void onRoomFrame(String roomKey, Frame frame) {
            Room room = rooms.get(roomKey);
            if (room != null) {
                deliveries += room.size();
                room.broadcast(frame);
            }
        }

        @Override
        public void onClientFrame(long clientId, Frame frame) {
            Client c = byId.get(clientId);
            if (c != null) {
                c.output().send(frame);
            }
        }

        @Override
        public void onNotice(Frame frame) {
            broadcastAll(frame);
        }

        @Override
        public void onNameLost(long clientId, String name, String reason) {
            Client c = byId.get(clientId);
            if (c == null || !c.isConnected() || !Names.key(c.name()).equals(Names.key(name))) {
                return;
            }
            String old = c.name();
            // The address name a client gets when its address is taken: unique by construction.
            String guest = c.address() + "~" + (shard() == 0 ? "" : shard() + ".")
                    + (c.id() & ((1L << 48) - 1));
            claimNow(Names.key(guest), c.id());
            byName.remove(Names.key(old));
            byName.put(Names.key(guest), c);
            c.rename(guest);
            directory.renamed(c.room().key(), old, guest);
            c.output().send(Frame.error(reason + "; you are now " + guest));
            toRoomExcept(c.room(), Frame.notice(old + " is now known as " + guest), c);
        }
    }

    /**
     * Runs {@code then} with the stage's result on the hub's loop: now if it is complete, else once
     * it completes, holding the client's further lines until then. A stage that fails tells the
     * client to try again. {@code then} must check {@link Client#isConnected()} itself: the
     * client may have left meanwhile.
     */
    private <T> void awaitThen(Client client, java.util.concurrent.CompletionStage<T> stage,
                               java.util.function.Consumer<T> then) {
        java.util.concurrent.CompletableFuture<T> f = stage.toCompletableFuture();
        if (f.isDone()) {
            finish(client, f, then);
            return;
        }
        client.waiting = true;
        f.whenComplete((v, e) -> executor.execute(() -> {
            client.waiting = false;
            finish(client, f, then);
            drainQueued(client);
        }));
    }

    private <T> void finish(Client client, java.util.concurrent.CompletableFuture<T> f,
                            java.util.function.Consumer<T> then) {
        T value;
        try {
            value = f.join();
        } catch (java.util.concurrent.CompletionException
                 | java.util.concurrent.CancellationException e) {
            LOG.log(Level.WARNING, "the directory failed for " + client, e);
            if (client.isConnected()) {
                client.output().send(DIRECTORY_FAILED);
            }
            return;
        }
        then.accept(value);
    }

    /** Handles the lines that waited for a command, until another one waits. */
    private void drainQueued(Client client) {
        java.util.ArrayDeque<byte[]> q = client.queued;
        while (q != null && !q.isEmpty() && !client.waiting && client.isConnected()) {
            byte[] line = q.poll();
            handleSanitized(client, line, 0, line.length);
        }
        if (q != null && q.isEmpty()) {
            client.queued = null;
        }
    }

    /**
     * The client sent a line (without its terminator). Invalid UTF-8 becomes U+FFFD and control
     * characters are removed; a blank line is ignored; a command is applied; any other line goes
     * to every member of the client's room, the client included. Lines from a client that has left
     * are ignored.
     *
     * @param client the sender
     * @param buf the line's bytes; read, not kept
     * @param off where the line starts
     * @param len its length in bytes
     */
    public void onLine(Client client, byte[] buf, int off, int len) {
        Objects.checkFromIndexSize(off, len, buf.length);
        if (!client.isConnected()) {
            return;
        }
        if (Utf8Text.firstNonPrintableAscii(buf, off, len) == off + len) {
            // Printable ASCII (the common case) needs no sanitising: use the bytes as they are.
            handleOrQueue(client, buf, off, len, true);
            return;
        }
        int max = Utf8Text.maxSanitizedLength(len);
        if (scratch.length < max) {
            scratch = new byte[max];
        }
        int n = Utf8Text.sanitize(buf, off, len, scratch, 0);
        handleOrQueue(client, scratch, 0, n, Utf8Text.isAscii(scratch, 0, n));
    }

    private void handleOrQueue(Client client, byte[] text, int off, int n, boolean ascii) {
        if (!client.waiting) {
            handle(client, text, off, n, ascii);
            return;
        }
        if (client.queued == null) {
            client.queued = new java.util.ArrayDeque<>();
        }
        if (client.queued.size() >= MAX_QUEUED_LINES) {
            client.output().send(TOO_MANY_WAITING);
            return;
        }
        client.queued.add(java.util.Arrays.copyOfRange(text, off, off + n));
    }

    /** Handles a line that was sanitised before it waited. */
    private void handleSanitized(Client client, byte[] text, int off, int n) {
        handle(client, text, off, n, Utf8Text.isAscii(text, off, n));
    }

    /** Handles a sanitised line: ignores it if blank, applies a command, or says it to the room. */
    private void handle(Client client, byte[] text, int off, int n, boolean ascii) {
        if (Utf8Text.isAsciiBlank(text, off, n)) {
            return;
        }
        if (!ascii && new String(text, off, n, StandardCharsets.UTF_8).isBlank()) {
            return;
        }
        if (text[off] != '/') {
            say(client, text, off, n);
        } else if (n > 1 && text[off + 1] == '/') {
            say(client, text, off + 1, n - 1);
        } else {
            String line = new String(text, off, n, StandardCharsets.UTF_8);
            if (!commands.isEmpty() && runRegistered(client, line)) {
                return;
            }
            apply(client, CommandParser.parse(line));
        }
    }

    /** Runs {@code /NAME ARGS} if NAME is a registered command; returns whether it was one. */
    private boolean runRegistered(Client client, String line) {
        int end = 1;
        while (end < line.length() && line.charAt(end) != ' ' && line.charAt(end) != '\t') {
            end++;
        }
        Registered r = commands.get(Names.key(line.substring(1, end)));
        if (r == null) {
            return false;
        }
        int args = end;
        while (args < line.length() && (line.charAt(args) == ' ' || line.charAt(args) == '\t')) {
            args++;
        }
        try {
            r.command().run(this, client, line.substring(args));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "command " + line.substring(0, end) + " failed", e);
            if (client.isConnected()) {
                client.output().send(Frame.error("command failed: " + line.substring(0, end)));
            }
        }
        return true;
    }

    /**
     * Adds a command of your own: a client's line {@code /NAME ARGS} runs {@code command} (names
     * compare ignoring ASCII case; arguments are the rest of the line). It is listed by
     * {@code /help} with its usage. Call it before clients arrive, or on the hub's loop thread;
     * for a {@link HubGroup}, on every shard ({@link HubGroup#configure}).
     *
     * @param name the name, 1-32 characters of {@code [A-Za-z0-9_.-]}
     * @param usage how to use it, for {@code /help} ({@code /me ACTION})
     * @param command what it does
     * @throws IllegalArgumentException if the name is invalid, built in, or already registered
     */
    public void registerCommand(String name, String usage, ChatCommand command) {
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(command, "command");
        if (!Names.isValid(name)) {
            throw new IllegalArgumentException("invalid command name: " + name);
        }
        String key = Names.key(name);
        if (java.util.Set.of("quit", "rooms", "who", "help", "nick", "join", "msg").contains(key)) {
            throw new IllegalArgumentException("/" + key + " is built in");
        }
        if (commands.putIfAbsent(key, new Registered(usage, command)) != null) {
            throw new IllegalArgumentException("/" + key + " is already registered");
        }
        StringBuilder sb = new StringBuilder(CommandParser.HELP).append("; also: ");
        int i = 0;
        for (Registered r : commands.values()) {
            sb.append(i++ > 0 ? ", " : "").append(r.usage());
        }
        help = sb.toString();
    }

    /**
     * Sets the policy that may refuse arrivals, nicks and messages (null: accept everything, the
     * default). Loop thread, or before clients arrive.
     *
     * @param policy the policy, or null
     */
    public void policy(ClientPolicy policy) {
        this.policy = policy;
    }

    /**
     * Sends a frame to one client of this hub (for commands of your own). Loop thread.
     *
     * @param client the client
     * @param frame the frame
     */
    public void send(Client client, Frame frame) {
        if (client.isConnected()) {
            client.output().send(frame);
        }
    }

    /**
     * Sends a frame to every member of the client's room, on every shard (for commands of your
     * own). Loop thread.
     *
     * @param client a member of the room
     * @param frame the frame
     */
    public void sendToRoom(Client client, Frame frame) {
        if (client.isConnected() && client.room() != null) {
            toRoom(client.room(), frame);
        }
    }

    /**
     * Removes a client of this hub: it is told {@code ! kicked: REASON}, its room sees
     * {@code * NAME left (kicked)}, and its transport closes it once that is flushed. Loop thread.
     *
     * @param client the client
     * @param reason why, as the client reads it
     * @return false if the client had already left
     */
    public boolean kick(Client client, String reason) {
        Objects.requireNonNull(reason, "reason");
        if (!client.isConnected()) {
            return false;
        }
        client.output().send(Frame.error("kicked: " + reason));
        remove(client, LeaveReason.KICKED);
        client.output().close();
        return true;
    }

    /**
     * @return what this hub has done so far; safe from any thread (each value is exact, the set
     *         of them is not one instant)
     */
    public HubStats stats() {
        return new HubStats(clientsNow, arrivals, messages, deliveries, droppedTooSlow,
                congestedNow);
    }

    /**
     * Convenience for {@link #onLine(Client, byte[], int, int)} with a string.
     *
     * @param client the sender
     * @param line the line, without its terminator
     */
    public void onLine(Client client, String line) {
        byte[] b = line.getBytes(StandardCharsets.UTF_8);
        onLine(client, b, 0, b.length);
    }

    /**
     * The transport lost the client: removes it and tells its room {@code * NAME left (REASON)}
     * (nobody is told on {@link LeaveReason#SHUTDOWN}). Does not call the client's
     * {@link ClientOutput#close()}: the transport is already closing it. Idempotent: a client
     * that already left (for example by {@code /quit}) is ignored.
     *
     * @param client the client
     * @param reason why it left, not null
     */
    public void disconnect(Client client, LeaveReason reason) {
        Objects.requireNonNull(reason, "reason");
        if (client.isConnected()) {
            remove(client, reason);
        }
    }

    /**
     * Sends a frame to every connected client, whatever its room (for example a shutdown notice).
     *
     * @param frame the frame
     */
    public void broadcastAll(Frame frame) {
        for (Client c : byName.values()) {
            c.output().send(frame);
        }
    }

    /** @return how many clients are connected */
    public int clientCount() {
        return byName.size();
    }

    /**
     * @param name a nick or address, any case
     * @return the client of that name, if connected
     */
    public Optional<Client> findClient(String name) {
        return Optional.ofNullable(byName.get(Names.key(name)));
    }

    /** @return a snapshot of every room's member count, by room name, sorted by name */
    public Map<String, Integer> roomSizes() {
        Map<String, Integer> sizes = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (Room r : rooms.values()) {
            sizes.put(r.name(), r.size());
        }
        return Collections.unmodifiableMap(sizes);
    }

    /** @return a snapshot of the clients connected now */
    public List<Client> clients() {
        return List.copyOf(byName.values());
    }

    private void say(Client client, byte[] text, int off, int len) {
        if (policy != null) {
            String said = policy.onMessage(client, new String(text, off, len,
                    StandardCharsets.UTF_8));
            if (said == null) {
                client.output().send(MESSAGE_REFUSED);
                return;
            }
            byte[] raw = said.getBytes(StandardCharsets.UTF_8);
            byte[] clean = new byte[Utf8Text.maxSanitizedLength(raw.length)];
            int n = Utf8Text.sanitize(raw, 0, raw.length, clean, 0);
            if (Utf8Text.isAsciiBlank(clean, 0, n)) {
                return;
            }
            text = clean;
            off = 0;
            len = n;
        }
        messages++;
        byte[] prefix = client.messagePrefix();
        byte[] line = new byte[prefix.length + len + 1];
        System.arraycopy(prefix, 0, line, 0, prefix.length);
        System.arraycopy(text, off, line, prefix.length, len);
        line[line.length - 1] = '\n';
        toRoom(client.room(), new Frame(line));
    }

    private void apply(Client client, Command command) {
        if (command instanceof Command.Say say) {
            byte[] b = say.text().getBytes(StandardCharsets.UTF_8);
            say(client, b, 0, b.length);
        } else if (command instanceof Command.Quit) {
            client.output().send(BYE);
            remove(client, LeaveReason.QUIT);
            client.output().close();
        } else if (command instanceof Command.Nick nick) {
            rename(client, nick.name());
        } else if (command instanceof Command.Join join) {
            join(client, join.room());
        } else if (command instanceof Command.Rooms) {
            awaitThen(client, directory.rooms(options.maxListed()), listing -> {
                if (client.isConnected()) {
                    client.output().send(Frame.notice(boundedList("rooms: ", listing.entries(),
                            listing.total())));
                }
            });
        } else if (command instanceof Command.Who) {
            Room room = client.room();
            awaitThen(client, directory.members(room.key(), options.maxListed()), listing -> {
                if (client.isConnected()) {
                    client.output().send(Frame.notice(boundedList("in " + room.name() + " ("
                            + listing.total() + "): ", listing.entries(), listing.total())));
                }
            });
        } else if (command instanceof Command.Msg msg) {
            privateMessage(client, msg.target(), msg.text());
        } else if (command instanceof Command.Help) {
            client.output().send(Frame.notice(help));
        } else if (command instanceof Command.Invalid invalid) {
            client.output().send(Frame.error(invalid.error()));
        } else {
            throw new AssertionError("unhandled command " + command);
        }
    }

    private void rename(Client client, String nick) {
        String old = client.name();
        if (old.equals(nick)) {
            client.output().send(Frame.error("you are already " + nick));
            return;
        }
        Client holder = byName.get(Names.key(nick));
        if (holder != null && holder != client) {
            client.output().send(Frame.error("nick " + nick + " is taken"));
            return;
        }
        if (policy != null) {
            ClientPolicy.Decision d = policy.onNick(client, nick);
            if (!d.accepted()) {
                client.output().send(Frame.error(d.reason()));
                return;
            }
        }
        String key = Names.key(nick);
        awaitThen(client, directory.claim(key, nick, holder(client)), claimed -> {
            if (!client.isConnected()) {
                if (claimed && !key.equals(Names.key(client.name()))) {
                    directory.release(key, holder(client));
                }
            } else if (!claimed) {
                client.output().send(Frame.error("nick " + nick + " is taken"));
            } else {
                renamed(client, old, nick);
            }
        });
    }

    /** The directory gave the client its new name: rename it here and tell its room. */
    private void renamed(Client client, String old, String nick) {
        String oldKey = Names.key(old);
        String key = Names.key(nick);
        byName.remove(oldKey);
        byName.put(key, client);
        if (!oldKey.equals(key)) {
            directory.release(oldKey, holder(client));
        }
        client.rename(nick);
        directory.renamed(client.room().key(), old, nick);
        Frame renamed = Frame.notice(old + " is now known as " + nick);
        if (isLarge(client.room())) {
            client.output().send(renamed);
        } else {
            toRoom(client.room(), renamed);
        }
    }

    private void join(Client client, String roomName) {
        Room from = client.room();
        String key = Names.key(roomName);
        if (Names.key(from.name()).equals(key)) {
            client.output().send(Frame.error("you are already in " + from.name()));
            return;
        }
        Room existing = rooms.get(key);
        // A room keeps the name it was made with, whichever shard made it.
        String known = existing != null ? existing.name() : directory.roomName(key);
        String name = known != null ? known : roomName;
        leaveRoom(client, "moved to " + name);
        Room to = rooms.computeIfAbsent(key, k -> new Room(name, batches));
        addToRoom(to, client);
        Frame joined = Frame.notice(client.name() + " joined " + to.name());
        if (isLarge(to)) {
            client.output().send(joined);
            to.joinedSinceSummary++;
            summarizeLater(to);
        } else {
            toRoom(to, joined);
        }
    }

    private void privateMessage(Client client, String target, String text) {
        Client to = byName.get(Names.key(target));
        if (to != null) {
            to.output().send(Frame.line(Frame.PRIVATE + "] <" + client.name() + "> " + text));
            if (to != client) {
                client.output().send(Frame.line(Frame.PRIVATE + " to " + to.name() + "] " + text));
            }
            return;
        }
        String from = client.name();
        awaitThen(client, directory.find(Names.key(target)), found -> {
            if (!client.isConnected()) {
                return;
            }
            if (found.isEmpty() || found.get().holder().shard() == shard()) {
                client.output().send(Frame.error("no such user: " + target));
                return;
            }
            Directory.Holder h = found.get().holder();
            port.send(h.shard(), h.clientId(),
                    Frame.line(Frame.PRIVATE + "] <" + from + "> " + text));
            client.output().send(
                    Frame.line(Frame.PRIVATE + " to " + found.get().name() + "] " + text));
        });
    }

    private void remove(Client client, LeaveReason reason) {
        byName.remove(Names.key(client.name()));
        byId.remove(client.id());
        directory.release(Names.key(client.name()), holder(client));
        client.queued = null;
        leaveRoom(client, reason == LeaveReason.SHUTDOWN ? null : reason.text());
        if (client.congested) {
            congestedNow--;
        }
        client.congested = false;
        client.markDisconnected();
        clientsNow = byName.size();
        if (reason == LeaveReason.TOO_SLOW) {
            droppedTooSlow++;
        }
        LOG.log(Level.DEBUG, "{0} left ({1})", client, reason.text());
    }

    /** Takes the client out of its room, tells the room why (unless {@code why} is null). */
    private void leaveRoom(Client client, String why) {
        Room room = client.room();
        boolean large = isLarge(room);
        removeFromRoom(room, client);
        if (why != null) {
            if (large) {
                room.leftSinceSummary++;
                summarizeLater(room);
            } else {
                toRoom(room, Frame.notice(client.name() + " left (" + why + ")"));
            }
        }
        if (room.isEmpty() && room != lobby) {
            rooms.remove(room.key());
            if (room.summaryTimer != null) {
                // Members on other shards still hear what this shard's members did.
                room.summaryTimer.cancel();
                summarize(room);
            }
            room.cancelSummary();
        }
    }

    /** @return whether the room, as it is now, has more members than are announced one by one */
    private boolean isLarge(Room room) {
        return options.announceLimit() != Integer.MAX_VALUE
                && directory.memberCount(room.key()) > options.announceLimit();
    }

    /** Makes sure a summary of the room's joins and leaves goes out within the interval. */
    private void summarizeLater(Room room) {
        if (room.summaryTimer == null) {
            room.summaryTimer = loop.schedule(options.summaryInterval().toNanos(),
                    TimeUnit.NANOSECONDS, () -> summarize(room));
        }
    }

    private void summarize(Room room) {
        room.summaryTimer = null;
        int joined = room.joinedSinceSummary;
        int left = room.leftSinceSummary;
        room.joinedSinceSummary = 0;
        room.leftSinceSummary = 0;
        if ((joined == 0 && left == 0) || directory.memberCount(room.key()) == 0) {
            return; // nothing happened, or nobody on any shard is left to hear it
        }
        StringBuilder sb = new StringBuilder();
        if (joined > 0) {
            sb.append(String.format(Locale.ROOT, "%,d joined", joined));
        }
        if (left > 0) {
            sb.append(sb.length() > 0 ? ", " : "").append(String.format(Locale.ROOT, "%,d left",
                    left));
        }
        sb.append(' ').append(room.name())
                .append(String.format(Locale.ROOT, " (%,d here)",
                        directory.memberCount(room.key())));
        toRoom(room, Frame.notice(sb.toString()));
    }

    /**
     * {@code HEADER a, b, c}, or {@code HEADER a, b, ... and N more} when {@code entries} holds
     * fewer than {@code total} or the line would pass the reply bound (the text is ASCII: names
     * and rooms are, and so are addresses).
     */
    private String boundedList(String header, List<String> entries, int total) {
        int budget = options.maxReplyBytes() - 2; // "* " before the text
        String most = ", ... and " + total + " more";
        StringBuilder sb = new StringBuilder(header);
        int listed = 0;
        for (String e : entries) {
            int room = budget - (listed + 1 < total ? most.length() : 0);
            if (sb.length() + (listed > 0 ? 2 : 0) + e.length() > room) {
                break;
            }
            if (listed > 0) {
                sb.append(", ");
            }
            sb.append(e);
            listed++;
        }
        if (listed < total) {
            sb.append(listed > 0 ? ", ... and " : "... and ").append(total - listed)
                    .append(" more");
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "ChatHub[clients=" + byName.size() + ", rooms=" + rooms.size() + "]";
    }
}
