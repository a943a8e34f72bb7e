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
 * A child process for {@link IdleMemoryProbe}: opens {@code N} connections to 127.0.0.1:PORT
 * (a hundred at a time, each hundred once the server has greeted every connection so far, reading
 * all the while, as interactive clients would), then sends one line {@code $sync}
 * and waits until every connection has received it: the server has then accepted every connection
 * and delivered everything it had queued before. Prints {@code ready OPEN} (connections still open)
 * and holds the connections, reading and discarding, until its stdin closes. It runs in its own
 * process so that the server's process holds only the server's descriptors.
 */
public final class IdleClients {
    private static final long TIMEOUT_NANOS = 120_000_000_000L;

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

    /** @param args PORT N [GREETS]: GREETS false for servers that send nothing on arrival */
    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        int n = Integer.parseInt(args[1]);
        boolean greets = args.length < 3 || Boolean.parseBoolean(args[2]);
        IdleClients clients = new IdleClients();
        clients.run(new InetSocketAddress("127.0.0.1", port), n, greets);
    }

    private void run(InetSocketAddress address, int n, boolean greets) throws IOException {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        long started = System.nanoTime();
        for (int i = 0; i < n; i++) {
            SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.register(selector, ch.connect(address) ? SelectionKey.OP_READ
                    : SelectionKey.OP_CONNECT, new State());
            if (ch.isConnected()) {
                connected++;
            }
            channels.add(ch);
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
        while (connected < n) {
            poll(100);
            check(deadline, "connect");
        }
        ByteBuffer sync = ByteBuffer.wrap("$sync\n".getBytes(StandardCharsets.US_ASCII));
        while (sync.hasRemaining()) {
            channels.get(0).write(sync);
        }
        while (synced < n) {
            poll(100);
            check(deadline, "sync (" + synced + " of " + n + ")");
        }
        int open = 0;
        for (SocketChannel ch : channels) {
            open += ch.isOpen() ? 1 : 0;
        }
        System.out.println("ready " + open + " " + (System.nanoTime() - started) / 1_000_000);
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
                        if (sink.get(i) == '$') {
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
