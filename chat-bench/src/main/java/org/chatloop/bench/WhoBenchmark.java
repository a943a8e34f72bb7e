package org.chatloop.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Client;
import org.chatloop.core.HubOptions;
import org.chatloop.loop.EventLoop;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code /who} in a room of {@code members} clients with random nicks, as the hub answers it (the
 * first 100 names in order, picked with a bounded heap, and the total), beside
 * {@link #sortEveryName} (what the hub did before: sort every name and join them into one line,
 * which for 50,000 members is a line of about 500 KB). Both run on the caller's thread, as the hub
 * does on its loop, so the time is the time the loop is busy with one {@code /who}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class WhoBenchmark {

    @Param({"1000", "50000"})
    public int members;

    private EventLoop loop;
    private ChatHub hub;
    private Client asker;
    private final CoreFanOutBenchmark.Sink sink = new CoreFanOutBenchmark.Sink();
    private List<String> names;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        loop = new EventLoop(); // never run: it only owns the hub's (unneeded) summary timer
        hub = new ChatHub(loop, HubOptions.defaults());
        Random random = new Random(42);
        names = new ArrayList<>(members);
        for (int i = 0; i < members; i++) {
            Client c = hub.connect("10.0.0." + (i % 250) + ":" + (10_000 + i), sink);
            String nick = "u" + Long.toString(random.nextLong() & Long.MAX_VALUE, 36)
                    .substring(0, 8);
            hub.onLine(c, "/nick " + nick);
            names.add(c.name());
            asker = c;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        loop.close();
    }

    /** What the hub does now. */
    @Benchmark
    public Object who() {
        hub.onLine(asker, "/who");
        return sink.last;
    }

    /** The former answer: every name sorted and joined. */
    @Benchmark
    public Object sortEveryName() {
        List<String> sorted = new ArrayList<>(names);
        sorted.sort(String.CASE_INSENSITIVE_ORDER);
        return "in lobby (" + sorted.size() + "): " + String.join(", ", sorted);
    }
}
