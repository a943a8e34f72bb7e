package org.chatloop.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.channels.SelectionKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The selector loop: timers on a manual clock, cross-thread tasks, handler failures, shutdown. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class EventLoopTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    /** How long a test waits for something that should take microseconds. */
    private static final long PROMPT_NANOS = TimeUnit.SECONDS.toNanos(5);

    /** The manual clock: time moves only when a test advances it. */
    private volatile long now = 1_000_000_000L;
    private final List<EventLoop> loops = new ArrayList<>();
    private final List<Pipe> pipes = new ArrayList<>();

    private final List<EventLoop> started = new ArrayList<>();

    private boolean threadRuns(EventLoop loop) {
        return started.contains(loop);
    }

    private EventLoop startedLoop() {
        EventLoop loop = new EventLoop();
        loops.add(loop);
        started.add(loop);
        return loop;
    }

    private EventLoop manualLoop() {
        EventLoop loop = new EventLoop(() -> now);
        loops.add(loop);
        return loop;
    }

    private Pipe pipe() throws IOException {
        Pipe p = Pipe.open();
        p.source().configureBlocking(false);
        pipes.add(p);
        return p;
    }

    @AfterEach
    void closeEverything() throws Exception {
        for (EventLoop loop : loops) {
            loop.stop();
            if (!loop.awaitTermination(0, TimeUnit.SECONDS) && !threadRuns(loop)) {
                loop.close(); // driven by runOnce in this test: nobody else will close it
            }
            assertTrue(loop.awaitTermination(5, TimeUnit.SECONDS), "loop did not end: " + loop);
        }
        for (Pipe p : pipes) {
            p.sink().close();
            p.source().close();
        }
    }

    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + PROMPT_NANOS;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out waiting for " + what);
            }
            LockSupport.parkNanos(100_000);
        }
    }

    /** Runs passes until the condition holds, each blocking at most 50 ms, within a deadline. */
    private static void runUntil(EventLoop loop, BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + PROMPT_NANOS;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out waiting for " + what);
            }
            loop.runOnce(50 * MS);
        }
    }

    /** @return whether the thread is blocked inside a selector's select */
    private static boolean isSelecting(Thread t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().startsWith("sun.nio.ch.") && e.getMethodName().equals("doSelect")) {
                return true;
            }
        }
        return false;
    }

    // ---- timers ----

    @Test
    void shouldFireOneShotTimerWhenItsDelayHasPassedAndOnlyOnce() {
        EventLoop loop = manualLoop();
        AtomicInteger fired = new AtomicInteger();
        LoopTimer timer = loop.schedule(10, TimeUnit.MILLISECONDS, fired::incrementAndGet);
        assertEquals(now + 10 * MS, timer.deadline());

        now += 10 * MS - 1;
        loop.runOnce(0);
        assertEquals(0, fired.get(), "one nanosecond early");
        assertFalse(timer.isDone());

        now += 1;
        loop.runOnce(0);
        assertEquals(1, fired.get());
        assertTrue(timer.isDone());

        now += 100 * MS;
        loop.runOnce(0);
        assertEquals(1, fired.get());
    }

    @Test
    void shouldRepeatRepeatingTimerEveryPeriod() {
        EventLoop loop = manualLoop();
        AtomicInteger fired = new AtomicInteger();
        LoopTimer timer = loop.scheduleRepeating(10, TimeUnit.MILLISECONDS, fired::incrementAndGet);

        for (int period = 1; period <= 5; period++) {
            now += 10 * MS - 1;
            loop.runOnce(0);
            assertEquals(period - 1, fired.get(), "before period " + period);
            now += 1;
            loop.runOnce(0);
            assertEquals(period, fired.get(), "at period " + period);
        }
        assertFalse(timer.isDone());
    }

    @Test
    void shouldFireTimersInDeadlineOrderAndTiesInScheduleOrder() {
        EventLoop loop = manualLoop();
        List<String> order = new ArrayList<>();
        loop.schedule(30, TimeUnit.MILLISECONDS, () -> order.add("c"));
        loop.schedule(10, TimeUnit.MILLISECONDS, () -> order.add("a1"));
        loop.schedule(20, TimeUnit.MILLISECONDS, () -> order.add("b"));
        loop.schedule(10, TimeUnit.MILLISECONDS, () -> order.add("a2"));

        now += 30 * MS;
        loop.runOnce(0);

        assertEquals(List.of("a1", "a2", "b", "c"), order);
    }

    @Test
    void shouldNotFireCancelledTimer() {
        EventLoop loop = manualLoop();
        AtomicInteger fired = new AtomicInteger();
        LoopTimer once = loop.schedule(10, TimeUnit.MILLISECONDS, fired::incrementAndGet);
        LoopTimer repeating = loop.scheduleRepeating(10, TimeUnit.MILLISECONDS, fired::incrementAndGet);

        once.cancel();
        repeating.cancel();
        repeating.cancel();
        now += 100 * MS;
        loop.runOnce(0);

        assertEquals(0, fired.get());
        assertTrue(once.isDone());
        assertTrue(repeating.isDone());
    }

    @Test
    void shouldStopRepeatingTimerCancelledAfterItFired() {
        EventLoop loop = manualLoop();
        AtomicInteger fired = new AtomicInteger();
        LoopTimer timer = loop.scheduleRepeating(10, TimeUnit.MILLISECONDS, fired::incrementAndGet);
        now += 10 * MS;
        loop.runOnce(0);

        timer.cancel();
        now += 100 * MS;
        loop.runOnce(0);

        assertEquals(1, fired.get());
    }

    @Test
    void shouldLetRepeatingTimerCancelItselfFromItsTask() {
        EventLoop loop = manualLoop();
        AtomicInteger fired = new AtomicInteger();
        AtomicReference<LoopTimer> self = new AtomicReference<>();
        self.set(loop.scheduleRepeating(10, TimeUnit.MILLISECONDS, () -> {
            if (fired.incrementAndGet() == 3) {
                self.get().cancel();
            }
        }));

        for (int i = 0; i < 10; i++) {
            now += 10 * MS;
            loop.runOnce(0);
        }

        assertEquals(3, fired.get());
    }

    @Test
    void shouldKeepRunningTimersAfterOneThrows() {
        EventLoop loop = manualLoop();
        AtomicInteger fired = new AtomicInteger();
        loop.schedule(10, TimeUnit.MILLISECONDS, () -> {
            throw new IllegalStateException("boom");
        });
        loop.scheduleRepeating(10, TimeUnit.MILLISECONDS, fired::incrementAndGet);

        now += 10 * MS;
        loop.runOnce(0);
        now += 10 * MS;
        loop.runOnce(0);

        assertEquals(2, fired.get());
    }

    @Test
    void shouldNotHoardCancelledTimersWhenATimeoutIsReArmedOverAndOver() {
        EventLoop loop = manualLoop();
        AtomicInteger fired = new AtomicInteger();
        LoopTimer idle = loop.schedule(60, TimeUnit.SECONDS, fired::incrementAndGet);

        for (int i = 0; i < 100_000; i++) {
            idle.cancel();
            idle = loop.schedule(60, TimeUnit.SECONDS, fired::incrementAndGet);
        }

        assertTrue(loop.timerCount() < 1000, "timers held: " + loop.timerCount());
        now += TimeUnit.SECONDS.toNanos(60);
        loop.runOnce(0);
        assertEquals(1, fired.get(), "only the last, live timer fires");
        assertTrue(idle.isDone());
    }

    @Test
    void shouldKeepEveryLiveTimerWhenPurgingCancelledOnes() {
        EventLoop loop = manualLoop();
        AtomicInteger fired = new AtomicInteger();
        for (int i = 0; i < 1000; i++) {
            LoopTimer t = loop.schedule(i % 10, TimeUnit.MILLISECONDS, fired::incrementAndGet);
            if (i % 2 == 0) {
                t.cancel();
            }
        }

        now += 10 * MS;
        loop.runOnce(0);

        assertEquals(500, fired.get());
        assertEquals(0, loop.timerCount());
    }

    @Test
    void shouldConvertSelectWaitToWholeMillisecondsRoundingUpWithoutOverflow() {
        assertEquals(1, EventLoop.selectTimeoutMillis(1));
        assertEquals(1, EventLoop.selectTimeoutMillis(300_000));
        assertEquals(1, EventLoop.selectTimeoutMillis(1_000_000));
        assertEquals(2, EventLoop.selectTimeoutMillis(1_000_001));
        assertEquals(1000, EventLoop.selectTimeoutMillis(TimeUnit.SECONDS.toNanos(1)));
        // runOnce(Long.MAX_VALUE) must block, not spin with 1 ms selects.
        assertEquals(Long.MAX_VALUE / 1_000_000 + 1, EventLoop.selectTimeoutMillis(Long.MAX_VALUE));
        assertTrue(EventLoop.selectTimeoutMillis(Long.MAX_VALUE - 500_000) > 1_000_000);
    }

    @Test
    void shouldBlockInRunOnceWithoutATimeoutUntilWoken() throws Exception {
        EventLoop loop = manualLoop();
        AtomicInteger passes = new AtomicInteger();
        loop.beforeSelect(passes::incrementAndGet);
        AtomicInteger ran = new AtomicInteger();
        Thread loopThread = new Thread(() -> loop.runOnce(Long.MAX_VALUE), "loop-under-test");
        loopThread.start();
        await(() -> isSelecting(loopThread), "the loop thread to block in select");
        assertEquals(0, passes.get(), "runOnce returned instead of blocking");

        loop.execute(ran::incrementAndGet);

        loopThread.join(TimeUnit.NANOSECONDS.toMillis(PROMPT_NANOS));
        assertFalse(loopThread.isAlive());
        assertEquals(1, passes.get());
        assertEquals(1, ran.get());
    }

    @Test
    void shouldRejectNonPositivePeriod() {
        EventLoop loop = manualLoop();

        assertThrows(IllegalArgumentException.class,
                () -> loop.scheduleRepeating(0, TimeUnit.MILLISECONDS, () -> { }));
    }

    @Test
    void shouldWakeFromSelectWhenATimerFallsDue() {
        EventLoop loop = new EventLoop();
        loops.add(loop);
        AtomicInteger fired = new AtomicInteger();
        loop.schedule(20, TimeUnit.MILLISECONDS, fired::incrementAndGet);

        long start = System.nanoTime();
        runUntil(loop, () -> fired.get() == 1, "the timer");
        long elapsed = System.nanoTime() - start;

        assertTrue(elapsed >= 20 * MS, "fired early: " + elapsed);
        assertEquals(1, fired.get());
    }

    // ---- tasks ----

    @Test
    void shouldRunEveryTaskQueuedBeforeAPassInThatPass() throws Exception {
        EventLoop loop = manualLoop();
        AtomicInteger ran = new AtomicInteger();
        Thread producer = new Thread(() -> {
            for (int i = 0; i < 500; i++) {
                loop.execute(ran::incrementAndGet);
            }
        });
        producer.start();
        producer.join(TimeUnit.NANOSECONDS.toMillis(PROMPT_NANOS));
        assertFalse(producer.isAlive());
        for (int i = 0; i < 500; i++) {
            loop.execute(ran::incrementAndGet);
        }

        loop.runOnce(0);

        assertEquals(1000, ran.get());
    }

    @Test
    void shouldRunTasksInTheOrderTheyWereQueued() {
        EventLoop loop = manualLoop();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            int n = i;
            loop.execute(() -> order.add(n));
        }

        loop.runOnce(0);

        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), order);
    }

    @Test
    void shouldRunTaskQueuedByATaskInTheNextPassNotBlockingInBetween() {
        EventLoop loop = manualLoop();
        AtomicInteger ran = new AtomicInteger();
        Runnable[] requeue = new Runnable[1];
        requeue[0] = () -> {
            ran.incrementAndGet();
            loop.execute(requeue[0]);
        };
        loop.execute(requeue[0]);

        loop.runOnce(0);
        assertEquals(1, ran.get(), "a self-requeueing task must not starve the loop");

        long start = System.nanoTime();
        loop.runOnce(TimeUnit.SECONDS.toNanos(10));
        assertEquals(2, ran.get());
        assertTrue(System.nanoTime() - start < PROMPT_NANOS, "blocked although a task was queued");
    }

    @Test
    void shouldKeepRunningTasksAfterOneThrows() {
        EventLoop loop = manualLoop();
        AtomicInteger ran = new AtomicInteger();
        loop.execute(() -> {
            throw new IllegalStateException("boom");
        });
        loop.execute(ran::incrementAndGet);

        loop.runOnce(0);

        assertEquals(1, ran.get());
    }

    @Test
    void shouldWakeBlockedRunOnceWhenAnotherThreadExecutesATask() throws Exception {
        EventLoop loop = manualLoop();
        AtomicInteger ran = new AtomicInteger();
        AtomicLong blockedFor = new AtomicLong(-1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loopThread = new Thread(() -> {
            try {
                long start = System.nanoTime();
                loop.runOnce(TimeUnit.SECONDS.toNanos(60));
                blockedFor.set(System.nanoTime() - start);
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "loop-under-test");
        loopThread.start();
        await(() -> isSelecting(loopThread), "the loop thread to block in select");

        loop.execute(ran::incrementAndGet);

        loopThread.join(TimeUnit.NANOSECONDS.toMillis(PROMPT_NANOS));
        assertFalse(loopThread.isAlive(), "runOnce still blocked after execute()");
        assertEquals(null, failure.get());
        assertEquals(1, ran.get());
        assertTrue(blockedFor.get() < PROMPT_NANOS, "runOnce took " + blockedFor.get() + " ns");
    }

    @Test
    void shouldWakeRunningLoopForEveryTaskFromAnotherThread() throws Exception {
        EventLoop loop = startedLoop();
        Thread thread = loop.start("loop-under-test");
        AtomicInteger ran = new AtomicInteger();

        for (int i = 1; i <= 20; i++) {
            CountDownLatch done = new CountDownLatch(1);
            loop.execute(() -> {
                ran.incrementAndGet();
                done.countDown();
            });
            assertTrue(done.await(5, TimeUnit.SECONDS), "task " + i + " did not run promptly");
            // Let the loop go back to sleep before the next task, so each one needs a wake-up.
            await(() -> isSelecting(thread), "the loop to block again");
        }

        assertEquals(20, ran.get());
    }

    // ---- hooks ----

    @Test
    void shouldRunBeforeSelectHooksEveryPassAfterTasksAndTimers() {
        EventLoop loop = manualLoop();
        List<String> events = new ArrayList<>();
        loop.beforeSelect(() -> events.add("hook1"));
        loop.beforeSelect(() -> events.add("hook2"));
        loop.execute(() -> events.add("task"));
        loop.schedule(0, TimeUnit.MILLISECONDS, () -> events.add("timer"));

        loop.runOnce(0);
        loop.runOnce(0);

        assertEquals(List.of("task", "timer", "hook1", "hook2", "hook1", "hook2"), events);
    }

    @Test
    void shouldRunBeforeSelectHooksAfterIoDispatch() throws IOException {
        EventLoop loop = manualLoop();
        Pipe p = pipe();
        List<String> events = new ArrayList<>();
        loop.register(p.source(), SelectionKey.OP_READ, ops -> {
            p.source().read(ByteBuffer.allocate(16));
            events.add("read");
        });
        loop.beforeSelect(() -> events.add("hook"));
        p.sink().write(ByteBuffer.wrap(new byte[] {1}));

        runUntil(loop, () -> events.contains("read"), "the read");

        assertEquals("hook", events.get(events.size() - 1));
        assertTrue(events.indexOf("read") < events.lastIndexOf("hook"));
    }

    @Test
    void shouldRunBeforeOutputHooksBeforeBeforeSelectHooksWhateverTheOrderAdded() {
        EventLoop loop = manualLoop();
        List<String> events = new ArrayList<>();
        loop.beforeSelect(() -> events.add("flush"));
        loop.beforeOutput(() -> events.add("complete"));
        loop.execute(() -> events.add("task"));

        loop.runOnce(0);

        assertEquals(List.of("task", "complete", "flush"), events);
    }

    @Test
    void shouldTellDispatchingInTasksTimersAndHandlersButNotInHooksOrOutsidePasses()
            throws IOException {
        EventLoop loop = manualLoop();
        Pipe p = pipe();
        List<String> events = new ArrayList<>();
        loop.register(p.source(), SelectionKey.OP_READ, ops -> {
            p.source().read(ByteBuffer.allocate(16));
            events.add("read " + loop.isDispatching());
        });
        loop.beforeOutput(() -> events.add("output hook " + loop.isDispatching()));
        loop.beforeSelect(() -> events.add("select hook " + loop.isDispatching()));
        loop.execute(() -> events.add("task " + loop.isDispatching()));
        loop.schedule(0, TimeUnit.MILLISECONDS, () -> events.add("timer " + loop.isDispatching()));
        p.sink().write(ByteBuffer.wrap(new byte[] {1}));

        runUntil(loop, () -> events.contains("read true"), "the read");

        assertFalse(loop.isDispatching(), "between passes");
        assertTrue(events.containsAll(List.of("task true", "timer true", "output hook false",
                "select hook false")), events.toString());
        assertFalse(events.stream().anyMatch(e -> e.contains("hook true")), events.toString());
    }

    @Test
    void shouldKeepRunningHooksAfterOneThrows() {
        EventLoop loop = manualLoop();
        AtomicInteger ran = new AtomicInteger();
        loop.beforeSelect(() -> {
            throw new IllegalStateException("boom");
        });
        loop.beforeSelect(ran::incrementAndGet);

        loop.runOnce(0);
        loop.runOnce(0);

        assertEquals(2, ran.get());
    }

    // ---- I/O dispatch ----

    @Test
    void shouldDispatchReadyChannelToItsHandler() throws IOException {
        EventLoop loop = manualLoop();
        Pipe p = pipe();
        ByteBuffer got = ByteBuffer.allocate(16);
        AtomicInteger readyOps = new AtomicInteger();
        SelectionKey key = loop.register(p.source(), SelectionKey.OP_READ, ops -> {
            readyOps.set(ops);
            p.source().read(got);
        });
        assertSame(p.source(), key.channel());
        assertEquals(1, loop.registeredCount());

        p.sink().write(ByteBuffer.wrap("hi".getBytes()));
        runUntil(loop, () -> got.position() == 2, "the data");

        assertEquals(SelectionKey.OP_READ, readyOps.get() & SelectionKey.OP_READ);
        assertEquals("hi", new String(got.array(), 0, 2));
    }

    @Test
    void shouldCallOnFailureForAThrowingHandlerAndKeepServingOtherChannels() throws IOException {
        EventLoop loop = manualLoop();
        Pipe bad = pipe();
        Pipe good = pipe();
        IOException boom = new IOException("boom");
        List<Exception> failures = new CopyOnWriteArrayList<>();
        AtomicInteger badCalls = new AtomicInteger();
        loop.register(bad.source(), SelectionKey.OP_READ, new IoHandler() {
            @Override
            public void onReady(int readyOps) throws IOException {
                badCalls.incrementAndGet();
                throw boom;
            }

            @Override
            public void onFailure(Exception cause) {
                failures.add(cause);
                try {
                    bad.source().close();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }
        });
        ByteBuffer got = ByteBuffer.allocate(64);
        loop.register(good.source(), SelectionKey.OP_READ, ops -> good.source().read(got));

        bad.sink().write(ByteBuffer.wrap(new byte[] {1}));
        good.sink().write(ByteBuffer.wrap(new byte[] {1}));
        runUntil(loop, () -> !failures.isEmpty() && got.position() == 1, "the failure and the first read");
        good.sink().write(ByteBuffer.wrap(new byte[] {2, 3}));
        runUntil(loop, () -> got.position() == 3, "reads after the failure");

        assertEquals(List.of(boom), failures);
        assertEquals(1, badCalls.get());
        assertFalse(bad.source().isOpen());
        loop.runOnce(0);
        assertEquals(1, loop.registeredCount(), "the failed channel is deregistered");
    }

    @Test
    void shouldCallOnFailureForRuntimeExceptionsAndSurviveAFailingOnFailure() throws IOException {
        EventLoop loop = manualLoop();
        Pipe bad = pipe();
        Pipe good = pipe();
        AtomicReference<Exception> failure = new AtomicReference<>();
        loop.register(bad.source(), SelectionKey.OP_READ, new IoHandler() {
            @Override
            public void onReady(int readyOps) {
                throw new IllegalStateException("bug in handler");
            }

            @Override
            public void onFailure(Exception cause) {
                failure.set(cause);
                try {
                    bad.source().close();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
                throw new IllegalStateException("cleanup failed too");
            }
        });
        AtomicInteger goodReads = new AtomicInteger();
        loop.register(good.source(), SelectionKey.OP_READ, ops -> {
            good.source().read(ByteBuffer.allocate(16));
            goodReads.incrementAndGet();
        });

        bad.sink().write(ByteBuffer.wrap(new byte[] {1}));
        good.sink().write(ByteBuffer.wrap(new byte[] {1}));
        runUntil(loop, () -> failure.get() != null && goodReads.get() == 1, "both channels");

        assertInstanceOf(IllegalStateException.class, failure.get());
        assertEquals("bug in handler", failure.get().getMessage());
    }

    // ---- stop and close ----

    @Test
    void shouldEndRunAndTerminateWhenStoppedFromAnotherThread() throws Exception {
        EventLoop loop = startedLoop();
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch hooked = new CountDownLatch(1);
        loop.execute(() -> {
            loop.onClose(() -> events.add("closed"));
            hooked.countDown();
        });
        Thread thread = loop.start("loop-under-test");
        assertTrue(hooked.await(5, TimeUnit.SECONDS));
        assertFalse(loop.awaitTermination(0, TimeUnit.NANOSECONDS));

        loop.stop();

        assertTrue(loop.awaitTermination(5, TimeUnit.SECONDS), "loop did not end after stop()");
        thread.join(TimeUnit.NANOSECONDS.toMillis(PROMPT_NANOS));
        assertFalse(thread.isAlive());
        assertTrue(loop.isStopping());
        assertEquals(List.of("closed"), events);
    }

    @Test
    void shouldReturnFromRunCalledOnTheCurrentThreadWhenStopped() throws Exception {
        EventLoop loop = startedLoop();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread runner = new Thread(() -> {
            try {
                loop.run();
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "runner");
        runner.start();
        await(() -> isSelecting(runner), "run() to block in select");

        loop.stop();

        runner.join(TimeUnit.NANOSECONDS.toMillis(PROMPT_NANOS));
        assertFalse(runner.isAlive(), "run() did not return");
        assertEquals(null, failure.get());
        assertTrue(loop.awaitTermination(0, TimeUnit.SECONDS));
    }

    @Test
    void shouldRunTasksStillQueuedWhenItStops() throws Exception {
        EventLoop loop = startedLoop();
        AtomicInteger ran = new AtomicInteger();
        loop.stop();
        loop.execute(ran::incrementAndGet);

        loop.start("loop-under-test");

        assertTrue(loop.awaitTermination(5, TimeUnit.SECONDS));
        assertEquals(1, ran.get());
    }

    @Test
    void shouldCloseRegisteredChannelsAndRunCloseHooksOnce() throws IOException {
        EventLoop loop = manualLoop();
        Pipe a = pipe();
        Pipe b = pipe();
        loop.register(a.source(), SelectionKey.OP_READ, ops -> { });
        loop.register(b.source(), SelectionKey.OP_READ, ops -> { });
        List<String> events = new ArrayList<>();
        loop.onClose(() -> events.add("hook:" + a.source().isOpen()));
        loop.onClose(() -> {
            throw new IllegalStateException("boom");
        });
        loop.onClose(() -> events.add("second hook"));
        loop.execute(() -> events.add("task"));

        loop.close();
        loop.close();

        assertEquals(List.of("task", "hook:true", "second hook"), events);
        assertFalse(a.source().isOpen());
        assertFalse(b.source().isOpen());
        assertTrue(loop.isStopping());
        assertTrue(awaitTerminationNow(loop));
    }

    @Test
    void shouldDropTasksExecutedAfterTheLoopEnded() throws IOException {
        EventLoop loop = manualLoop();
        AtomicInteger ran = new AtomicInteger();
        loop.close();

        loop.execute(ran::incrementAndGet);
        loop.close();

        assertEquals(0, ran.get());
        assertTrue(loop.toString().contains("closed"), loop.toString());
    }

    private static boolean awaitTerminationNow(EventLoop loop) {
        try {
            return loop.awaitTermination(0, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    // ---- threading ----

    @Test
    void shouldKnowItsOwnThread() throws Exception {
        EventLoop loop = startedLoop();
        Thread thread = loop.start("loop-under-test");
        AtomicReference<Boolean> insideSaysInside = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);

        loop.execute(() -> {
            insideSaysInside.set(loop.inLoopThread());
            done.countDown();
        });

        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertEquals(Boolean.TRUE, insideSaysInside.get());
        assertFalse(loop.inLoopThread());
        assertTrue(thread.isAlive());
    }

    @Test
    void shouldReadTheInjectedClock() {
        EventLoop loop = manualLoop();

        now = 42;

        assertEquals(42, loop.nanoTime());
    }
}
