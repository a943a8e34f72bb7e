package org.chatloop.bench.peers;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Models the original Python design, in Java: blocking sockets, an accept thread and one thread
 * per client. A client's thread reads its lines and, for each, encodes {@code "<ip:port> line\n"}
 * once and writes it to every client's unbuffered socket stream in turn (one {@code write} syscall
 * per recipient per message), holding that client's lock while writing. A client whose write fails
 * is dropped. A reader that stops reading blocks every sender writing to it.
 */
public final class ThreadPerClientServer implements PeerServer {
    private static final int READ_CHUNK = 8192;

    private final ServerSocket listener;
    private final int port;
    private final CopyOnWriteArrayList<Client> clients = new CopyOnWriteArrayList<>();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    private ThreadPerClientServer(ServerSocket listener) {
        this.listener = listener;
        this.port = listener.getLocalPort();
        this.acceptor = new Thread(this::acceptLoop, "peer-tpc-accept-" + port);
        acceptor.setDaemon(true);
    }

    /**
     * Binds 127.0.0.1 on a free port (backlog 1024) and returns once listening.
     *
     * @return the running server
     * @throws IOException if binding fails
     */
    public static ThreadPerClientServer start() throws IOException {
        ServerSocket ss = new ServerSocket();
        try {
            ss.bind(new InetSocketAddress(PeerSupport.loopback(), 0), PeerSupport.BACKLOG);
        } catch (IOException | RuntimeException e) {
            ss.close();
            throw e;
        }
        ThreadPerClientServer server = new ThreadPerClientServer(ss);
        server.acceptor.start();
        return server;
    }

    @Override
    public int port() {
        return port;
    }

    /** @return whether {@code threadName} is the acceptor or a client's thread ({@code peer-tpc-}) */
    @Override
    public boolean isServerThread(String threadName) {
        return threadName.startsWith("peer-tpc-");
    }

    /** Closes the listener and every client socket, and waits (up to 2 s) for the threads to end. */
    @Override
    public void close() {
        closed = true;
        Client.closeQuietly(listener);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        join(acceptor, deadline);
        for (Client c : clients) {
            c.close();
        }
        clients.clear();
        for (Thread t : threads) {
            join(t, deadline);
        }
    }

    @Override
    public String toString() {
        return "ThreadPerClientServer[port=" + port + ", clients=" + clients.size() + "]";
    }

    private static void join(Thread t, long deadlineNanos) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            return;
        }
        try {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                if (closed || listener.isClosed()) {
                    return;
                }
                continue; // e.g. too many open files: keep serving the others
            }
            Client c;
            try {
                s.setTcpNoDelay(true);
                c = new Client(s);
            } catch (IOException e) {
                Client.closeQuietly(s);
                continue;
            }
            Thread t = new Thread(() -> serve(c), "peer-tpc-" + c.name);
            t.setDaemon(true);
            threads.add(t);
            clients.add(c);
            t.start();
            if (closed) { // close() may have passed the client list already
                c.close();
            }
        }
    }

    /** The client's own thread: reads lines until EOF or error, broadcasting each. */
    private void serve(Client c) {
        try {
            InputStream in = new BufferedInputStream(c.socket.getInputStream(), READ_CHUNK);
            byte[] chunk = new byte[READ_CHUNK];
            // One spare byte for a '\r' before the '\n'; stripped like Netty's LineBasedFrameDecoder.
            byte[] line = new byte[PeerSupport.MAX_LINE_BYTES + 1];
            int len = 0;
            boolean discarding = false;
            int n;
            while ((n = in.read(chunk, 0, chunk.length)) > 0) {
                for (int i = 0; i < n; i++) {
                    byte b = chunk[i];
                    if (b == '\n') {
                        if (len > 0 && line[len - 1] == '\r') {
                            len--;
                        }
                        if (!discarding && len <= PeerSupport.MAX_LINE_BYTES) {
                            broadcast(c, line, len);
                        }
                        len = 0;
                        discarding = false;
                    } else if (!discarding) {
                        if (len == line.length) {
                            discarding = true; // too long: dropped up to its '\n'
                        } else {
                            line[len++] = b;
                        }
                    }
                }
            }
        } catch (IOException e) {
            // connection reset or closed by close(): the client is gone
        } finally {
            clients.remove(c);
            c.close();
            threads.remove(Thread.currentThread());
        }
    }

    /** Encodes the message once and writes it to every client, from the sender's thread. */
    private void broadcast(Client from, byte[] line, int len) {
        byte[] prefix = from.prefix;
        byte[] msg = new byte[prefix.length + len + 1];
        System.arraycopy(prefix, 0, msg, 0, prefix.length);
        System.arraycopy(line, 0, msg, prefix.length, len);
        msg[msg.length - 1] = '\n';
        for (Client to : clients) {
            try {
                to.send(msg);
            } catch (IOException e) {
                clients.remove(to);
                to.close(); // its reader thread then ends too
            }
        }
    }

    /** One connection: its socket, its unbuffered output stream and its name prefix. */
    static final class Client {
        final Socket socket;
        final OutputStream out;
        final String name;
        final byte[] prefix;

        Client(Socket socket) throws IOException {
            this.socket = socket;
            this.out = socket.getOutputStream(); // unbuffered: one write syscall per send
            this.name = PeerSupport.name(socket.getRemoteSocketAddress());
            this.prefix = PeerSupport.prefix(socket.getRemoteSocketAddress());
        }

        void send(byte[] msg) throws IOException {
            synchronized (this) {
                out.write(msg);
            }
        }

        void close() {
            closeQuietly(socket);
        }

        static void closeQuietly(AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                // nothing to do
            }
        }
    }
}
