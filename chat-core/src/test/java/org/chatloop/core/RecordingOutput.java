package org.chatloop.core;

import java.util.ArrayList;
import java.util.List;

/** A {@link ClientOutput} that keeps every frame it is given, in order, and counts closes. */
final class RecordingOutput implements ClientOutput {
    final List<Frame> frames = new ArrayList<>();
    int closeCount;
    /** The client this output belongs to, where a test keeps it here. */
    Client client;

    @Override
    public void send(Frame frame) {
        frames.add(frame);
    }

    @Override
    public void close() {
        closeCount++;
    }

    /** @return the text of every frame received, in order, without the final newline */
    List<String> texts() {
        List<String> out = new ArrayList<>(frames.size());
        for (Frame f : frames) {
            out.add(f.text());
        }
        return out;
    }

    /** @return the text of the last frame received */
    String last() {
        if (frames.isEmpty()) {
            throw new AssertionError("no frame received");
        }
        return frames.get(frames.size() - 1).text();
    }

    /** Forgets what was received so far. */
    void clear() {
        frames.clear();
    }
}
