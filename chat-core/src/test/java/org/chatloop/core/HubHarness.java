package org.chatloop.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.chatloop.loop.EventLoop;

/**
 * A hub with recording outputs: connects peers and feeds their lines, as a transport would.
 *
 * <p>With the system property {@code chatloop.test.shards} set to N > 1 (the build runs every
 * suite that uses this harness a second time with 2), the hub is N shards on N loops over a
 * {@link LocalDirectory} and {@link LocalRoomBus}; peers are spread over the shards in turn, and
 * after every action the harness drives every loop until what the action published has been
 * delivered, so that each test checks that the chat behaves the same on N loops as on one.
 */
final class HubHarness {
    static final int SHARDS = Integer.getInteger("chatloop.test.shards", 1);
    /** Passes over every loop after an action: a publish, its delivery, and a reply to it. */
    private static final int SETTLE_ROUNDS = 4;

    /** The hub of shard 0 (the only one without sharding). */
    final ChatHub hub;
    private final List<ChatHub> hubs = new ArrayList<>();
    private final List<EventLoop> loops = new ArrayList<>();
    private final List<Peer> peers = new ArrayList<>();
    private int nextPort = 40000;

    HubHarness() {
        this(SHARDS);
    }

    /** A harness of {@code shards} shards, whatever the system property says. */
    HubHarness(int shards) {
        if (shards == 1) {
            hubs.add(new ChatHub());
        } else {
            LocalDirectory directory = new LocalDirectory();
            LocalRoomBus bus = new LocalRoomBus();
            HubOptions options = HubOptions.defaults().withAnnounceLimit(Integer.MAX_VALUE);
            for (int i = 0; i < shards; i++) {
                EventLoop loop = new EventLoop();
                loops.add(loop);
                hubs.add(new ChatHub(loop, options, directory, bus));
            }
        }
        hub = hubs.get(0);
    }

    /** One connected client and everything it received. */
    final class Peer {
        final Client client;
        final RecordingOutput out;
        final ChatHub hub;

        private Peer(ChatHub hub, Client client, RecordingOutput out) {
            this.hub = hub;
            this.client = client;
            this.out = out;
        }

        /** Sends a line as the client, as a transport would after cutting it at its terminator. */
        Peer says(String line) {
            hub.onLine(client, line);
            settle();
            return this;
        }

        /** Sends raw bytes as one line. */
        Peer saysBytes(byte... line) {
            hub.onLine(client, line, 0, line.length);
            settle();
            return this;
        }

        String name() {
            return client.name();
        }

        List<String> texts() {
            return out.texts();
        }

        String last() {
            return out.last();
        }
    }

    /** Connects a client from a fresh 127.0.0.1 port. */
    Peer connect() {
        return connect("127.0.0.1:" + nextPort++);
    }

    Peer connect(String address) {
        RecordingOutput out = new RecordingOutput();
        ChatHub shard = hubs.get(peers.size() % hubs.size());
        Peer p = new Peer(shard, shard.connect(address, out), out);
        peers.add(p);
        settle();
        return p;
    }

    /** Connects a client and gives it a nick. */
    Peer connectAs(String nick) {
        Peer p = connect();
        p.says("/nick " + nick);
        return p;
    }

    /** Feeds bytes as one line of the peer, as its transport would. */
    void onLine(Peer p, byte[] buf, int off, int len) {
        p.hub.onLine(p.client, buf, off, len);
        settle();
    }

    /** The peer's transport lost it. */
    void disconnect(Peer p, LeaveReason reason) {
        p.hub.disconnect(p.client, reason);
        settle();
    }

    /** @return clients connected on every shard */
    int clientCount() {
        int n = 0;
        for (ChatHub h : hubs) {
            n += h.clientCount();
        }
        return n;
    }

    /** @return every shard's clients */
    List<Client> clients() {
        List<Client> all = new ArrayList<>();
        for (ChatHub h : hubs) {
            all.addAll(h.clients());
        }
        return all;
    }

    /** @return the client of that name on whichever shard has it */
    Optional<Client> findClient(String name) {
        for (ChatHub h : hubs) {
            Optional<Client> c = h.findClient(name);
            if (c.isPresent()) {
                return c;
            }
        }
        return Optional.empty();
    }

    /** @return every room's members over every shard */
    Map<String, Integer> roomSizes() {
        Map<String, Integer> sizes = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (ChatHub h : hubs) {
            h.roomSizes().forEach((room, n) -> sizes.merge(room, n, Integer::sum));
        }
        return sizes;
    }

    /** Sends a frame to every client of every shard. */
    void broadcastAll(Frame frame) {
        for (ChatHub h : hubs) {
            h.broadcastAll(frame);
        }
        settle();
    }

    /** Drives every loop (on this thread) until what was published has been delivered. */
    void settle() {
        for (int r = 0; r < SETTLE_ROUNDS; r++) {
            for (EventLoop loop : loops) {
                loop.runOnce(0);
            }
        }
    }

    /** Forgets what every peer received so far, so a test looks only at what follows. */
    void clearAll() {
        for (Peer p : peers) {
            p.out.clear();
        }
    }
}
