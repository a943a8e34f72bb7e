package org.chatloop.bench;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Client;
import org.chatloop.core.ClientOutput;
import org.chatloop.core.Frame;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * chat-core alone: one published line fanned out by {@link ChatHub} to {@code members} no-op
 * transports. Run with {@code -prof gc}: {@code gc.alloc.rate.norm} is bytes allocated per
 * published message; it should not grow with {@code members} (no allocation per delivery).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class CoreFanOutBenchmark {

    @Param({"1", "10", "100", "1000"})
    public int members;

    @Param({"64"})
    public int size;

    private ChatHub hub;
    private Client publisher;
    private byte[] line;
    private final Sink sink = new Sink();

    /** A transport that only remembers the last frame, so delivery cannot be optimised away. */
    static final class Sink implements ClientOutput {
        Frame last;
        long count;

        @Override
        public void send(Frame frame) {
            last = frame;
            count++;
        }

        @Override
        public void close() {
        }
    }

    @Setup
    public void setup() {
        hub = new ChatHub();
        publisher = hub.connect("10.0.0.1:1", sink);
        for (int i = 1; i < members; i++) {
            hub.connect("10.0.0.2:" + i, sink);
        }
        line = "x".repeat(size - 1).getBytes(StandardCharsets.US_ASCII);
    }

    @Benchmark
    public Frame publish() {
        hub.onLine(publisher, line, 0, line.length);
        return sink.last;
    }
}
