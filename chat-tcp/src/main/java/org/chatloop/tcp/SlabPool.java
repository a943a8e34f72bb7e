package org.chatloop.tcp;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import org.chatloop.core.Frame;

/**
 * Where pending output lives: large direct buffers ("slabs") that each frame is copied into
 * <em>once</em>, however many connections it goes to. A connection's {@link OutboundQueue} only
 * holds read-only ranges of slabs, so a broadcast to N members costs one copy of the frame, not N,
 * and members of a room, who receive the same frames in the same order, usually hold one range of
 * the same slab and each write it with one syscall. This is what a bare selector loop that writes
 * one shared buffer to every socket does, with the chat semantics kept.
 *
 * <p>A slab is reference-counted by the ranges that point into it and returns to the pool when the
 * last range is written and it is no longer the slab being filled. Frames longer than a slab get a
 * slab of their own.
 *
 * <p>A pool places frames in one of two layouts, fixed when it is made: as lines (the frame's
 * bytes) or as WebSocket text frames (a server frame's header, then the line without its
 * {@code '\n'}), so that a room message is framed once for all WebSocket recipients as it is
 * copied once for all line recipients. Each server's loop has a pool of its server's layout.
 *
 * <p>Not thread safe: one pool per loop thread.
 */
final class SlabPool {

    /** A direct buffer frames are appended to, and the number of ranges that point into it. */
    static final class Slab {
        final ByteBuffer buffer;
        int end;
        int refs;
        /** When the slab was last started: slabs are filled one after another. */
        long sequence;
        /** Views of the buffer for writes; a gathering write may need several of one slab. */
        private final java.util.ArrayList<ByteBuffer> views = new java.util.ArrayList<>(2);
        private int viewsInUse;

        Slab(int size) {
            buffer = ByteBuffer.allocateDirect(size);
        }

        /** @return a view of {@code [start, end)}, distinct from the others handed out until reset */
        ByteBuffer view(int start, int end) {
            if (viewsInUse == views.size()) {
                views.add(buffer.duplicate());
            }
            ByteBuffer v = views.get(viewsInUse++);
            v.limit(end).position(start);
            return v;
        }

        /** The views handed out are no longer in use. */
        void resetViews() {
            viewsInUse = 0;
        }
    }

    private final int slabSize;
    private final int maxIdle;
    private final boolean webSocket;
    private final ArrayDeque<Slab> idle = new ArrayDeque<>();
    private Slab current;
    private Frame lastFrame;
    /** The frames placed last by {@link #place(Frame[], int)}, and where they lie, or null. */
    private Frame[] lastFrames;
    private Slab framesSlab;
    private int framesStart;
    private int framesEnd;
    private Slab placedSlab;
    private int placedStart;
    private int placedEnd;
    private int allocated;
    private long sequence;

    SlabPool(int slabSize, int maxIdle) {
        this(slabSize, maxIdle, false);
    }

    /** @param webSocket whether frames are placed as WebSocket text frames rather than lines */
    SlabPool(int slabSize, int maxIdle, boolean webSocket) {
        this.slabSize = slabSize;
        this.maxIdle = maxIdle;
        this.webSocket = webSocket;
    }

    /**
     * Puts the frame's bytes in a slab, unless it is the frame placed last (a broadcast places its
     * frame once for all recipients). The range is then in {@link #placedSlab()},
     * {@link #placedStart()} and {@link #placedEnd()}.
     */
    void place(Frame frame) {
        if (frame == lastFrame) {
            return;
        }
        int len = placedLength(frame);
        Slab s = slabFor(len);
        write(frame, s.buffer, s.end);
        placed(s, len);
        lastFrame = frame;
    }

    /** @return how many bytes the frame takes in this pool's layout */
    private int placedLength(Frame frame) {
        if (!webSocket) {
            return frame.length();
        }
        int payload = frame.length() - 1;
        return WebSocketEncoder.headerLength(payload) + payload;
    }

    /** Writes the frame in this pool's layout at {@code at}; returns where it ends. */
    private int write(Frame frame, ByteBuffer buffer, int at) {
        if (!webSocket) {
            frame.copyTo(0, buffer, at, frame.length());
            return at + frame.length();
        }
        int payload = frame.length() - 1;
        int h = WebSocketEncoder.writeHeader(WebSocketDecoder.OP_TEXT, payload, buffer, at);
        frame.copyTo(0, buffer, at + h, payload);
        return at + h + payload;
    }

    /**
     * Puts the first {@code count} frames side by side in one slab, unless they are the frames
     * placed last (the hub hands every member of a room the same array, and never changes it; see
     * {@link org.chatloop.core.ClientOutput#send(Frame[], int)}). The range is then in
     * {@link #placedSlab()}, {@link #placedStart()} and {@link #placedEnd()}.
     */
    void place(Frame[] frames, int count) {
        lastFrame = null; // the placed range is about to be the frames'
        if (frames == lastFrames) {
            placedSlab = framesSlab;
            placedStart = framesStart;
            placedEnd = framesEnd;
            return;
        }
        int len = 0;
        for (int i = 0; i < count; i++) {
            len += placedLength(frames[i]);
        }
        Slab s = slabFor(len);
        int at = s.end;
        for (int i = 0; i < count; i++) {
            at = write(frames[i], s.buffer, at);
        }
        placed(s, len);
        lastFrames = frames;
        framesSlab = s;
        framesStart = placedStart;
        framesEnd = placedEnd;
    }

    /** Puts bytes in a slab (no reuse across calls). */
    void place(byte[] src, int off, int len) {
        Slab s = slabFor(len);
        s.buffer.put(s.end, src, off, len);
        placed(s, len);
        lastFrame = null;
    }

    private void placed(Slab s, int len) {
        placedSlab = s;
        placedStart = s.end;
        s.end += len;
        placedEnd = s.end;
    }

    private Slab slabFor(int len) {
        if (len > slabSize) {
            allocated++;
            Slab oneOff = new Slab(len); // never pooled
            oneOff.sequence = ++sequence;
            return oneOff;
        }
        if (current == null || current.end + len > slabSize) {
            Slab old = current;
            current = idle.isEmpty() ? newSlab() : idle.pollLast();
            current.end = 0;
            current.sequence = ++sequence;
            if (old != null && old.refs == 0) {
                recycle(old);
            }
        }
        return current;
    }

    private Slab newSlab() {
        allocated++;
        return new Slab(slabSize);
    }

    Slab placedSlab() {
        return placedSlab;
    }

    int placedStart() {
        return placedStart;
    }

    int placedEnd() {
        return placedEnd;
    }

    /** A range into the slab was dropped; recycles the slab once nothing points into it. */
    void unref(Slab s) {
        if (--s.refs == 0 && s != current) {
            recycle(s);
        }
    }

    private void recycle(Slab s) {
        if (s == placedSlab) {
            lastFrame = null; // its bytes are about to be overwritten
            placedSlab = null;
        }
        if (s == framesSlab) {
            lastFrames = null;
            framesSlab = null;
        }
        if (s.buffer.capacity() == slabSize && idle.size() < maxIdle) {
            s.end = 0;
            idle.addLast(s);
        } else {
            allocated--;
        }
    }

    int idleCount() {
        return idle.size();
    }

    /** @return slabs in use: being filled, or holding bytes not yet written to some client */
    int liveCount() {
        return allocated - idle.size();
    }

    /** @return the sequence number of the slab started last */
    long currentSequence() {
        return sequence;
    }

    /** @return slabs alive (in use or idle) */
    int allocatedCount() {
        return allocated;
    }

    @Override
    public String toString() {
        return "SlabPool[size=" + slabSize + ", allocated=" + allocated + ", idle=" + idle.size()
                + "]";
    }
}
