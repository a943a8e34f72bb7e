package org.chatloop.core;

import java.util.ArrayList;
import java.util.List;

/** A hub with recording outputs: connects peers and feeds their lines, as a transport would. */
final class HubHarness {
    final ChatHub hub = new ChatHub();
    private final List<Peer> peers = new ArrayList<>();
    private int nextPort = 40000;

    /** One connected client and everything it received. */
    final class Peer {
        final Client client;
        final RecordingOutput out;

        private Peer(Client client, RecordingOutput out) {
            this.client = client;
            this.out = out;
        }

        /** Sends a line as the client, as a transport would after cutting it at its terminator. */
        Peer says(String line) {
            hub.onLine(client, line);
            return this;
        }

        /** Sends raw bytes as one line. */
        Peer saysBytes(byte... line) {
            hub.onLine(client, line, 0, line.length);
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
        Peer p = new Peer(hub.connect(address, out), out);
        peers.add(p);
        return p;
    }

    /** Connects a client and gives it a nick. */
    Peer connectAs(String nick) {
        Peer p = connect();
        p.says("/nick " + nick);
        return p;
    }

    /** Forgets what every peer received so far, so a test looks only at what follows. */
    void clearAll() {
        for (Peer p : peers) {
            p.out.clear();
        }
    }
}
