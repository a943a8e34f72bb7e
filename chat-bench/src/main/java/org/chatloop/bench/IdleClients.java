package org.chatloop.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A child process for {@link IdleMemoryProbe} and {@link StormProbe}: opens {@code N}
 * connections to 127.0.0.1:PORT, either {@code paced} (a hundred at a time, each hundred once the
 * server has greeted every connection so far and 20 ms of quiet have passed, reading all the
 * while, as interactive clients would) or in a {@code burst} (as fast as the server greets them,
 * with at most {@value #BURST_WINDOW} connections not yet greeted at any time, so the listen
 * backlog never overflows), then sends one line {@code $sync}
 * and waits until every connection has received it: the server has then accepted every connection
 * and delivered everything it had queued before. Prints {@code ready OPEN} (connections still open)
 * and holds the connections, reading and discarding, until its stdin closes. It runs in its own
 * process so that the server's process holds only the server's descriptors.
 */
public final class IdleClients {
    private static final long TIMEOUT_NANOS = 120_000_000_000L;
    /** Connections in flight (connecting or not yet greeted) at most in a burst. */
    static final int BURST_WINDOW = 512;
    /** Connections per source address: past about 28,000 one address runs out of ports. */
    private static final int PER_SOURCE_ADDRESS = 20_000;

    /** Redis pub/sub instead of chat: subscribe to {@code lobby}; the sync is published. */
    private boolean redis;
    /** The byte that marks the sync line: {@code $} in chat, {@code ~} in RESP2 (which uses $). */
    private byte syncMark = '$';
    private final Selector selector;
    private final ByteBuffer sink = ByteBuffer.allocate(64 * 1024);
    private final List<SocketChannel> channels = new ArrayList<>();
    private int connected;
    private int greeted;
    private int synced;
    /** Connections that have seen {@link #wantedMarks} {@code #} bytes (the storm's broadcasts). */
    private int counted;
    private volatile long wantedMarks = Long.MAX_VALUE;
    private long deliveredMarks;

    private IdleClients() throws IOException {
        selector = Selector.open();
    }

    /** One connection's progress. */
    private static final class State {
        boolean greeted;
        boolean synced;
        long marks;
    }

    /**
     * @param args PORT N [GREETS [MODE [redis]]]: GREETS false for servers that send nothing on
     *             arrival; MODE {@code paced} (the default) or {@code burst}; {@code redis}: the
     *             server is a Redis, each connection subscribes to {@code lobby} (its greeting is
     *             the subscription's confirmation) and the sync is published on a connection of
     *             its own
     */
    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        int n = Integer.parseInt(args[1]);
        boolean greets = args.length < 3 || Boolean.parseBoolean(args[2]);
        boolean burst = args.length >= 4 && args[3].equals("burst");
        if (burst && !greets) {
            throw new IllegalArgumentException("a burst is paced by greetings");
        }
        IdleClients clients = new IdleClients();
        if (args.length >= 5 && args[4].equals("redis")) {
            clients.redis = true;
            clients.syncMark = '~';
        }
        clients.run(new InetSocketAddress("127.0.0.1", port), n, greets, burst);
    }

    private void run(InetSocketAddress address, int n, boolean greets, boolean burst)
            throws IOException {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        long started = System.nanoTime();
        for (int i = 0; i < n; i++) {
            SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            if (n > PER_SOURCE_ADDRESS) {
                // 127.0.0.1, 127.0.0.2, ...: each source address has its own ephemeral ports.
                ch.bind(new InetSocketAddress("127.0.0." + (1 + i / PER_SOURCE_ADDRESS), 0));
            }
            ch.register(selector, ch.connect(address) ? SelectionKey.OP_READ
                    : SelectionKey.OP_CONNECT, new State());
            if (ch.isConnected()) {
                connected++;
                subscribe(ch);
            }
            channels.add(ch);
            if (burst) {
                // Select only when the window is full: a select per connect costs O(registered
                // channels) on some kernels (seen under gVisor), which made the generator, not
                // the server, the bottleneck past 15,000 connections.
                while (i + 1 - greeted >= BURST_WINDOW) {
                    poll(20);
                    check(deadline, "arrivals (" + greeted + " greeted of " + (i + 1) + ")");
                }
                continue;
            }
            poll(0);
            if (i % 100 == 99 || i == n - 1) {
                // Pace the arrivals as interactive clients would: the next hundred connect once
                // every connection so far has heard from the server (it was accepted), and the
                // announcements of the arrivals have drained.
                while (greets ? greeted < i + 1 : connected < i + 1) {
                    poll(20);
                    check(deadline, "arrivals (" + greeted + " greeted, " + connected
                            + " connected of " + (i + 1) + ")");
                }
                while (poll(20) > 0) {
                    // drain
                }
            }
        }
        while (connected < n || (greets && greeted < n)) {
            poll(100);
            check(deadline, "connect (" + connected + " connected, " + greeted + " greeted)");
        }
        long greetedMillis = (System.nanoTime() - started) / 1_000_000;
        if (redis) {
            try (java.net.Socket publisher = new java.net.Socket(address.getAddress(),
                    address.getPort())) {
                publisher.getOutputStream().write("PUBLISH lobby ~sync\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                publisher.getInputStream().read(); // the reply: the publish happened
            }
        } else {
            ByteBuffer sync = ByteBuffer.wrap("$sync\n".getBytes(StandardCharsets.US_ASCII));
            while (sync.hasRemaining()) {
                channels.get(0).write(sync);
            }
        }
        while (synced < n) {
            poll(100);
            check(deadline, "sync (" + synced + " of " + n + ")");
        }
        int open = 0;
        for (SocketChannel ch : channels) {
            open += ch.isOpen() ? 1 : 0;
        }
        System.out.println("ready " + open + " " + (System.nanoTime() - started) / 1_000_000
                + " " + greetedMillis);
        System.out.flush();
        Thread waiter = new Thread(() -> {
            try {
                java.io.BufferedReader in = new java.io.BufferedReader(
                        new java.io.InputStreamReader(System.in, StandardCharsets.US_ASCII));
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.startsWith("count ")) {
                        wantedMarks = Long.parseLong(line.substring(6));
                        System.out.println("counting"); // the parent publishes after this
                        System.out.flush();
                    }
                }
            } catch (IOException ignored) {
                // parent gone
            }
        });
        waiter.setDaemon(true);
        waiter.start();
        long countStart = 0;
        boolean reported = false;
        while (waiter.isAlive()) {
            poll(100);
            if (wantedMarks != Long.MAX_VALUE && countStart == 0) {
                countStart = System.nanoTime();
            }
            if (!reported && counted == n) {
                System.out.println("delivered " + deliveredMarks + " "
                        + (System.nanoTime() - countStart) / 1_000_000);
                System.out.flush();
                reported = true;
            }
        }
        for (SocketChannel ch : channels) {
            ch.close();
        }
    }

    /** Redis mode: a new connection subscribes to the lobby (a few bytes: one write suffices). */
    private void subscribe(SocketChannel ch) throws IOException {
        if (redis) {
            ch.write(ByteBuffer.wrap("SUBSCRIBE lobby\r\n".getBytes(StandardCharsets.US_ASCII)));
        }
    }

    private void check(long deadline, String what) throws IOException {
        if (System.nanoTime() - deadline > 0) {
            throw new IOException("timed out waiting for " + what);
        }
    }

    /** @return bytes read */
    private long poll(long timeoutMillis) throws IOException {
        long[] read = new long[1];
        java.util.function.Consumer<SelectionKey> handler = key -> {
            SocketChannel ch = (SocketChannel) key.channel();
            State state = (State) key.attachment();
            try {
                if (key.isConnectable()) {
                    ch.finishConnect();
                    key.interestOps(SelectionKey.OP_READ);
                    connected++;
                    subscribe(ch);
                    return;
                }
                sink.clear();
                int r = ch.read(sink);
                if (r < 0) {
                    key.cancel();
                    ch.close(); // closed by the server: not counted as open
                    return;
                }
                read[0] += r;
                if (r > 0 && !state.greeted) {
                    state.greeted = true;
                    greeted++;
                }
                if (wantedMarks != Long.MAX_VALUE || state.marks > 0) {
                    for (int i = 0; i < r; i++) {
                        if (sink.get(i) == '#') {
                            deliveredMarks++;
                            if (++state.marks == wantedMarks) {
                                counted++;
                            }
                        }
                    }
                }
                if (!state.synced) {
                    for (int i = 0; i < r; i++) {
                        if (sink.get(i) == syncMark) {
                            state.synced = true;
                            synced++;
                            break;
                        }
                    }
                }
            } catch (IOException e) {
                key.cancel();
            }
        };
        if (timeoutMillis == 0) {
            selector.selectNow(handler);
        } else {
            selector.select(handler, timeoutMillis);
        }
        return read[0];
    }
}
