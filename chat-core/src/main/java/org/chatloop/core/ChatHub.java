package org.chatloop.core;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Locale;
import java.util.Optional;
import java.util.PriorityQueue;
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
 * <p><b>Threading.</b> Not thread safe, and without locks: a hub and its clients are owned by one
 * thread, the loop thread of the transport(s) that feed it. Call every method from that thread.
 */
public final class ChatHub {
    /** The room every client starts in; it always exists. */
    public static final String LOBBY = "lobby";

    private static final Logger LOG = System.getLogger(ChatHub.class.getName());
    private static final Frame BYE = Frame.notice("bye");

    /** Every connected client by its name's key: each has a unique name, so this is the registry. */
    private final Map<String, Client> byName = new HashMap<>();
    private final Map<String, Room> rooms = new HashMap<>();
    private final Room lobby = new Room(LOBBY);
    private final EventLoop loop;
    private final HubOptions options;
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
        rooms.put(Names.key(LOBBY), lobby);
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
        long id = nextId++;
        String name = address;
        if (byName.containsKey(Names.key(name))) {
            name = address + "~" + id;
        }
        Client client = new Client(id, address, name, output);
        byName.put(Names.key(name), client);
        lobby.add(client);
        output.send(Frame.notice("welcome " + name + " (room " + LOBBY
                + "; /nick NAME to rename, /help for commands)"));
        if (isLarge(lobby)) {
            lobby.joinedSinceSummary++;
            summarizeLater(lobby);
        } else {
            lobby.broadcastExcept(Frame.notice(name + " joined " + LOBBY), client);
        }
        LOG.log(Level.DEBUG, "{0} connected", client);
        return client;
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
            handle(client, buf, off, len, true);
            return;
        }
        int max = Utf8Text.maxSanitizedLength(len);
        if (scratch.length < max) {
            scratch = new byte[max];
        }
        int n = Utf8Text.sanitize(buf, off, len, scratch, 0);
        handle(client, scratch, 0, n, Utf8Text.isAscii(scratch, 0, n));
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
            apply(client, CommandParser.parse(new String(text, off, n, StandardCharsets.UTF_8)));
        }
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
        byte[] prefix = client.messagePrefix();
        byte[] line = new byte[prefix.length + len + 1];
        System.arraycopy(prefix, 0, line, 0, prefix.length);
        System.arraycopy(text, off, line, prefix.length, len);
        line[line.length - 1] = '\n';
        client.room().broadcast(new Frame(line));
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
            client.output().send(Frame.notice(describeRooms()));
        } else if (command instanceof Command.Who) {
            client.output().send(Frame.notice(describeMembers(client.room())));
        } else if (command instanceof Command.Msg msg) {
            privateMessage(client, msg.target(), msg.text());
        } else if (command instanceof Command.Help) {
            client.output().send(Frame.notice(CommandParser.HELP));
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
        byName.remove(Names.key(old));
        byName.put(Names.key(nick), client);
        client.rename(nick);
        Frame renamed = Frame.notice(old + " is now known as " + nick);
        if (isLarge(client.room())) {
            client.output().send(renamed);
        } else {
            client.room().broadcast(renamed);
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
        leaveRoom(client, "moved to " + (existing != null ? existing.name() : roomName));
        Room to = rooms.computeIfAbsent(key, k -> new Room(roomName));
        to.add(client);
        Frame joined = Frame.notice(client.name() + " joined " + to.name());
        if (isLarge(to)) {
            client.output().send(joined);
            to.joinedSinceSummary++;
            summarizeLater(to);
        } else {
            to.broadcast(joined);
        }
    }

    private void privateMessage(Client client, String target, String text) {
        Client to = byName.get(Names.key(target));
        if (to == null) {
            client.output().send(Frame.error("no such user: " + target));
            return;
        }
        to.output().send(Frame.line("[private] <" + client.name() + "> " + text));
        if (to != client) {
            client.output().send(Frame.line("[private to " + to.name() + "] " + text));
        }
    }

    private void remove(Client client, LeaveReason reason) {
        client.markDisconnected();
        byName.remove(Names.key(client.name()));
        leaveRoom(client, reason == LeaveReason.SHUTDOWN ? null : reason.text());
        LOG.log(Level.DEBUG, "{0} left ({1})", client, reason.text());
    }

    /** Takes the client out of its room, tells the room why (unless {@code why} is null). */
    private void leaveRoom(Client client, String why) {
        Room room = client.room();
        boolean large = isLarge(room);
        room.remove(client);
        if (why != null) {
            if (large) {
                room.leftSinceSummary++;
                summarizeLater(room);
            } else {
                room.broadcast(Frame.notice(client.name() + " left (" + why + ")"));
            }
        }
        if (room.isEmpty() && room != lobby) {
            rooms.remove(Names.key(room.name()));
            room.cancelSummary();
        }
    }

    /** @return whether the room, as it is now, has more members than are announced one by one */
    private boolean isLarge(Room room) {
        return room.size() > options.announceLimit();
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
        if ((joined == 0 && left == 0) || room.isEmpty()) {
            return;
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
                .append(String.format(Locale.ROOT, " (%,d here)", room.size()));
        room.broadcast(Frame.notice(sb.toString()));
    }

    /**
     * {@code rooms: dev (2), lobby (5)}: every room by name, or, past {@link HubOptions#maxListed()}
     * rooms, the largest ones and how many more there are; never longer than the reply bound.
     */
    private String describeRooms() {
        Comparator<Room> byName = Comparator.comparing(Room::name, String.CASE_INSENSITIVE_ORDER);
        List<Room> listed;
        if (rooms.size() <= options.maxListed()) {
            listed = new ArrayList<>(rooms.values());
            listed.sort(byName);
        } else {
            listed = smallest(rooms.values(), options.maxListed(),
                    Comparator.comparingInt(Room::size).reversed().thenComparing(byName));
        }
        List<String> entries = new ArrayList<>(listed.size());
        for (Room r : listed) {
            entries.add(r.name() + " (" + r.size() + ")");
        }
        return boundedList("rooms: ", entries, rooms.size());
    }

    /**
     * {@code in lobby (3): alice, bob, carol}: the room's members by name, at most
     * {@link HubOptions#maxListed()} of them (the first by name) and how many more there are.
     */
    private String describeMembers(Room room) {
        List<Client> members = room.members();
        Comparator<String> order = String.CASE_INSENSITIVE_ORDER;
        List<String> names;
        if (members.size() <= options.maxListed()) {
            names = new ArrayList<>(members.size());
            for (Client c : members) {
                names.add(c.name());
            }
            names.sort(order);
        } else {
            List<String> all = new AbstractList<>() {
                @Override
                public String get(int i) {
                    return members.get(i).name();
                }

                @Override
                public int size() {
                    return members.size();
                }
            };
            names = smallest(all, options.maxListed(), order);
        }
        return boundedList("in " + room.name() + " (" + members.size() + "): ", names,
                members.size());
    }

    /**
     * The {@code k} smallest of {@code items} in {@code order}, sorted: one pass with a bounded
     * heap, O(n log k), so that a {@code /who} in a room of 50,000 does not sort 50,000 names.
     */
    private static <T> List<T> smallest(Iterable<T> items, int k, Comparator<? super T> order) {
        PriorityQueue<T> largestFirst = new PriorityQueue<>(k + 1, order.reversed());
        for (T item : items) {
            if (largestFirst.size() < k) {
                largestFirst.add(item);
            } else if (order.compare(item, largestFirst.peek()) < 0) {
                largestFirst.poll();
                largestFirst.add(item);
            }
        }
        List<T> out = new ArrayList<>(largestFirst);
        out.sort(order);
        return out;
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
