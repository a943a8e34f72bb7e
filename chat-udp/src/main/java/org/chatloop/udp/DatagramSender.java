package org.chatloop.udp;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.chatloop.core.Frame;

/**
 * Sends frames as datagrams, one frame per datagram, through one socket.
 *
 * <p><b>No copy per recipient.</b> A heap buffer handed to {@code DatagramChannel.send} is copied
 * by the JDK into a temporary direct buffer on every call. So a frame is copied once into this
 * sender's own direct buffer, which remembers which {@link Frame} it holds (by identity); sending
 * the same frame to the next recipient only rewinds the buffer. A broadcast, one frame for a whole
 * room, costs one copy and one {@code send} per recipient.
 *
 * <p><b>Back-pressure.</b> A send that returns 0 (the socket's send buffer is full) puts the
 * datagram into a bounded {@link SendQueue}, and so does every later send while the queue is not
 * empty, to keep the order. The queue is drained when the socket is writable; write interest is
 * asked for only while the queue is not empty. A datagram that does not fit the queue is dropped
 * and counted; so is one whose send fails with an {@link IOException}. A failure is logged and
 * never propagates: one bad address does not stop the loop.
 *
 * <p>A frame longer than the largest datagram ({@value UdpServerOptions#MAX_DATAGRAM_BYTES}
 * bytes, say a {@code /who} of a huge room) is cut at a UTF-8 character boundary and ended with
 * {@code "...\n"}.
 *
 * <p>Not thread safe: owned by one loop thread, except {@link #dropped()}, which any thread may
 * read.
 */
final class DatagramSender {
    /** The socket side of a sender; a seam for tests. */
    interface Wire {
        /**
         * Sends one datagram.
         *
         * @return the bytes sent, or 0 if the socket had no room for the datagram
         */
        int send(ByteBuffer datagram, SocketAddress target) throws IOException;

        /** Asks for (or stops asking for) a call to {@link #onWritable()} when there is room. */
        void writeInterest(boolean on);
    }

    /** Most datagrams sent per {@link #onWritable()}, so a long queue cannot starve reads. */
    static final int MAX_SENDS_PER_WRITABLE = 1024;

    private static final Logger LOG = System.getLogger(DatagramSender.class.getName());
    private static final byte[] ELLIPSIS = {'.', '.', '.', '\n'};
    private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Wire wire;
    private final SendQueue queue;
    private final ByteBuffer datagram = ByteBuffer.allocateDirect(UdpServerOptions.MAX_DATAGRAM_BYTES);
    private Frame loaded;
    private boolean writeInterest;
    private long frameCopies;
    private long lastWarning = System.nanoTime() - LOG_INTERVAL_NANOS;
    private volatile long dropped;

    /**
     * @param wire the socket
     * @param maxQueued the most datagrams waiting at once
     * @param maxQueuedBytes the most bytes waiting at once (see {@link SendQueue})
     */
    DatagramSender(Wire wire, int maxQueued, long maxQueuedBytes) {
        this.wire = wire;
        this.queue = new SendQueue(maxQueued, maxQueuedBytes);
    }

    /** Sends the frame to the target now, or queues it, or drops and counts it. */
    void send(Frame frame, SocketAddress target) {
        if (!queue.isEmpty()) {
            enqueue(frame, target);
            return;
        }
        if (transmit(frame, target) == 0) {
            enqueue(frame, target);
            setWriteInterest(true);
        }
    }

    /** The socket has room: sends queued datagrams, oldest first, until it has none. */
    void onWritable() {
        for (int n = 0; n < MAX_SENDS_PER_WRITABLE && !queue.isEmpty(); n++) {
            if (transmit(queue.peekFrame(), queue.peekTarget()) == 0) {
                return;
            }
            queue.remove();
        }
        if (queue.isEmpty()) {
            setWriteInterest(false);
        }
    }

    /**
     * Sends what is queued, waiting (by short parks) for room in the socket at most the timeout,
     * then drops and counts what is left. For shutdown only: it blocks the loop.
     *
     * @return whether everything queued was sent
     */
    boolean flush(long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        while (!queue.isEmpty()) {
            onWritable();
            if (queue.isEmpty()) {
                break;
            }
            if (System.nanoTime() - deadline >= 0) {
                dropped += queue.size();
                queue.clear();
                setWriteInterest(false);
                return false;
            }
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
        }
        return true;
    }

    /** @return datagrams given up on: the queue was full or the send failed; any thread */
    long dropped() {
        return dropped;
    }

    /** @return datagrams waiting for room in the socket */
    int queued() {
        return queue.size();
    }

    /** @return bytes accounted for the waiting datagrams */
    long queuedBytes() {
        return queue.bytes();
    }

    /** @return whether write interest is asked for now */
    boolean wantsWrite() {
        return writeInterest;
    }

    /** @return how many times a frame was copied into the direct buffer */
    long frameCopies() {
        return frameCopies;
    }

    SendQueue queue() {
        return queue;
    }

    /** @return 1 if sent, 0 if the socket had no room, -1 if it failed (dropped and counted) */
    private int transmit(Frame frame, SocketAddress target) {
        ByteBuffer b = load(frame);
        try {
            return wire.send(b, target) == 0 ? 0 : 1;
        } catch (IOException | RuntimeException e) {
            // A RuntimeException here is, say, an unresolved or unsupported address: still one
            // datagram's problem, not the loop's.
            dropped++;
            warn("cannot send a datagram to " + target, e);
            return -1;
        }
    }

    private ByteBuffer load(Frame frame) {
        if (frame != loaded) {
            datagram.clear();
            int n = frame.length();
            if (n <= datagram.capacity()) {
                frame.copyTo(datagram);
            } else {
                int cut = datagram.capacity() - ELLIPSIS.length;
                while (cut > 0 && (frame.byteAt(cut) & 0xC0) == 0x80) {
                    cut--;
                }
                frame.copyTo(0, datagram, cut);
                datagram.put(ELLIPSIS);
            }
            datagram.flip();
            loaded = frame;
            frameCopies++;
        } else {
            datagram.position(0);
        }
        return datagram;
    }

    private void enqueue(Frame frame, SocketAddress target) {
        if (!queue.offer(frame, target)) {
            dropped++;
            warn("send queue full (" + queue + "): dropped a datagram to " + target, null);
        }
    }

    private void setWriteInterest(boolean on) {
        if (writeInterest != on) {
            writeInterest = on;
            wire.writeInterest(on);
        }
    }

    /** Logs at WARNING at most once a second, at DEBUG otherwise, so a flood cannot flood logs. */
    private void warn(String message, Throwable cause) {
        long now = System.nanoTime();
        Level level = Level.DEBUG;
        if (now - lastWarning >= LOG_INTERVAL_NANOS) {
            lastWarning = now;
            level = Level.WARNING;
        }
        if (LOG.isLoggable(level)) {
            LOG.log(level, message + " (" + dropped + " dropped so far)", cause);
        }
    }

    @Override
    public String toString() {
        return "DatagramSender[" + queue + ", dropped=" + dropped
                + (writeInterest ? ", waiting for room" : "") + "]";
    }
}
