package org.chatloop.loop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * One {@link Selector}, driven by one thread: the event loop both transports run on. It knows
 * nothing about chat.
 *
 * <p>A pass ({@link #runOnce(long)}) selects, dispatches every ready key to its {@link IoHandler}
 * (the key's attachment), runs tasks handed in from other threads, runs due timers, and last runs
 * the {@linkplain #beforeOutput(Runnable) before-output hooks} (where work gathered during the pass
 * is completed: a hub hands the pass's room messages to their members) and then the
 * {@linkplain #beforeSelect(Runnable) before-select hooks}: the place where transports flush the
 * output that the pass produced, once per pass rather than once per message. Timers set the
 * select timeout. {@link #isDispatching()} tells code whether it runs in a pass before those hooks
 * (so that what it gathers will be completed in this pass) or not.
 *
 * <p><b>Threading.</b> The loop thread owns the selector and everything registered on it. Only
 * {@link #execute(Runnable)}, {@link #stop()}, {@link #inLoopThread()}, {@link #awaitTermination}
 * and {@link #nanoTime()} may be called from other threads; every other method must be called on
 * the loop thread (checked with {@code assert}). {@code execute} queues the task and wakes the
 * selector at most once per pass. A pass can be driven by any single thread ({@code runOnce}, as
 * tests do) or by the thread {@link #start(String)} creates.
 *
 * <p><b>Errors are scoped.</b> A handler that throws gets {@link IoHandler#onFailure} and the loop
 * goes on; a task or timer that throws is logged and the loop goes on; an {@link Error} ends the
 * loop.
 */
public final class EventLoop implements Executor {
    private static final Logger LOG = System.getLogger(EventLoop.class.getName());
    private static final int MIN_TIMER_PURGE_THRESHOLD = 64;

    private final Selector selector;
    private final LongSupplier clock;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    private final PriorityQueue<LoopTimer> timers = new PriorityQueue<>();
    private final List<Runnable> beforeOutput = new ArrayList<>();
    private final List<Runnable> beforeSelect = new ArrayList<>();
    private final List<Runnable> closeHooks = new ArrayList<>();
    private final CountDownLatch terminated = new CountDownLatch(1);
    /** Made once: a method reference evaluated in every pass would allocate every pass. */
    private final java.util.function.Consumer<SelectionKey> dispatcher = this::dispatch;
    private volatile Thread owner;
    private volatile boolean stopRequested;
    private volatile boolean closed;
    private long timerSequence;
    /** When the timer heap grows past this size, cancelled timers are purged from it. */
    private int timerPurgeThreshold = MIN_TIMER_PURGE_THRESHOLD;
    private long passes;
    /** Whether a pass runs, before its end-of-pass hooks (see {@link #isDispatching()}). */
    private boolean dispatching;

    /** Opens a loop on the system's nanosecond clock. */
    public EventLoop() {
        this(System::nanoTime);
    }

    /**
     * Opens a loop whose timers follow the given clock (tests pass a clock they move by hand).
     *
     * @param nanoClock monotonic time in nanoseconds
     */
    public EventLoop(LongSupplier nanoClock) {
        this.clock = Objects.requireNonNull(nanoClock, "nanoClock");
        try {
            this.selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a selector", e);
        }
    }

    /** @return the loop's clock, in nanoseconds; safe from any thread */
    public long nanoTime() {
        return clock.getAsLong();
    }

    /** @return whether the calling thread is the one running this loop */
    public boolean inLoopThread() {
        Thread t = owner;
        return t == null || t == Thread.currentThread();
    }

    /** Setup work for {@link #callAndWait}: it may fail with an I/O error. */
    @FunctionalInterface
    public interface Setup<T> {
        /**
         * @return its result
         * @throws IOException if it fails
         */
        T run() throws IOException;
    }

    /**
     * Runs {@code work} on this loop's thread and waits for its result: at once if the caller is
     * that thread (or the loop has not started), else as a task, waiting at most
     * {@code timeoutMillis}. How transports attach to a running loop from another thread.
     *
     * @param work what to run
     * @param timeoutMillis how long to wait for the loop
     * @return what {@code work} returned
     * @throws IOException what {@code work} threw, or if the loop did not run it in time or the
     *         wait was interrupted
     */
    public <T> T callAndWait(Setup<T> work, long timeoutMillis) throws IOException {
        if (inLoopThread()) {
            return work.run();
        }
        java.util.concurrent.CompletableFuture<T> made = new java.util.concurrent.CompletableFuture<>();
        execute(() -> {
            try {
                made.complete(work.run());
            } catch (IOException | RuntimeException e) {
                made.completeExceptionally(e);
            }
        });
        try {
            return made.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("the loop's task failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the loop", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("the loop did not run the task within " + timeoutMillis
                    + " ms (closed or stuck?)", e);
        }
    }

    /**
     * Registers a non-blocking channel with the handler as its key's attachment.
     *
     * @return the key, whose interest set the handler may change later
     * @throws ClosedChannelException if the channel is closed
     */
    public SelectionKey register(SelectableChannel channel, int ops, IoHandler handler)
            throws ClosedChannelException {
        assert inLoopThread() : "register off the loop thread";
        return channel.register(selector, ops, Objects.requireNonNull(handler, "handler"));
    }

    /** Runs the task once, after the delay. Loop thread only. */
    public LoopTimer schedule(long delay, TimeUnit unit, Runnable task) {
        return addTimer(task, unit.toNanos(delay), 0);
    }

    /** Runs the task every period, the first time one period from now. Loop thread only. */
    public LoopTimer scheduleRepeating(long period, TimeUnit unit, Runnable task) {
        long nanos = unit.toNanos(period);
        if (nanos <= 0) {
            throw new IllegalArgumentException("period must be positive: " + period + " " + unit);
        }
        return addTimer(task, nanos, nanos);
    }

    private LoopTimer addTimer(Runnable task, long delayNanos, long periodNanos) {
        assert inLoopThread() : "timer scheduled off the loop thread";
        LoopTimer timer = new LoopTimer(Objects.requireNonNull(task, "task"),
                nanoTime() + Math.max(0, delayNanos), periodNanos, timerSequence++);
        if (timers.size() >= timerPurgeThreshold) {
            // A cancelled timer stays in the heap until its deadline; a transport that cancels and
            // re-arms an idle timeout on every read would otherwise pile them up. Purging when the
            // heap has doubled since the last purge keeps the cost amortised O(1) per timer.
            timers.removeIf(LoopTimer::isDone);
            timerPurgeThreshold = Math.max(MIN_TIMER_PURGE_THRESHOLD, 2 * timers.size());
        }
        timers.add(timer);
        return timer;
    }

    /** @return how many timers the loop holds, cancelled ones not yet purged included */
    int timerCount() {
        return timers.size();
    }

    /**
     * Adds a hook that runs at the end of every pass, after all reads, tasks and timers of the pass
     * and before the loop selects again: where output is flushed. Loop thread only.
     */
    public void beforeSelect(Runnable hook) {
        assert inLoopThread();
        beforeSelect.add(Objects.requireNonNull(hook, "hook"));
    }

    /**
     * Adds a hook that runs at the end of every pass before every {@linkplain #beforeSelect
     * before-select hook}: where work gathered during the pass is completed, so that the hooks
     * that flush output find all of it. Loop thread only.
     */
    public void beforeOutput(Runnable hook) {
        assert inLoopThread();
        beforeOutput.add(Objects.requireNonNull(hook, "hook"));
    }

    /**
     * @return whether the caller runs inside a pass of this loop (an I/O handler, a task or a
     *         timer), before the pass's end-of-pass hooks: work gathered now will be completed by
     *         a {@linkplain #beforeOutput before-output hook} in this pass. False in the hooks
     *         themselves, in close hooks, and outside passes (a test calling in directly). Loop
     *         thread only.
     */
    public boolean isDispatching() {
        return dispatching;
    }

    /**
     * Adds a hook that runs once, on the loop thread, when the loop ends (after {@link #stop()}),
     * before the selector and every channel still registered are closed. Loop thread only.
     */
    public void onClose(Runnable hook) {
        assert inLoopThread();
        closeHooks.add(Objects.requireNonNull(hook, "hook"));
    }

    /**
     * Queues a task to run on the loop thread during its next pass; safe from any thread. Wakes the
     * selector at most once however many tasks arrive before the loop gets to them. A task
     * executed once the loop is closing ({@link #close()} has begun) is dropped.
     */
    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        if (closed) {
            return;
        }
        tasks.add(task);
        if (!inLoopThreadStrict() && wakeupPending.compareAndSet(false, true)) {
            selector.wakeup();
        }
    }

    private boolean inLoopThreadStrict() {
        return owner == Thread.currentThread();
    }

    /**
     * Asks the loop to end: {@link #run()} finishes its current pass, runs the tasks still queued,
     * the close hooks, closes every channel still registered and the selector, and returns. Safe
     * from any thread; idempotent.
     */
    public void stop() {
        stopRequested = true;
        selector.wakeup();
    }

    /** @return whether {@link #stop()} has been called */
    public boolean isStopping() {
        return stopRequested;
    }

    /**
     * Runs passes on the calling thread until {@link #stop()}, then closes the loop. The calling
     * thread becomes the loop thread.
     */
    public void run() {
        owner = Thread.currentThread();
        try {
            while (!stopRequested) {
                runOnce(TimeUnit.SECONDS.toNanos(1));
            }
        } finally {
            close();
        }
    }

    /**
     * Starts a thread that {@linkplain #run() runs} the loop.
     *
     * @param name the thread's name
     * @return the started thread
     */
    public Thread start(String name) {
        Thread thread = new Thread(this::run, name);
        owner = thread;
        thread.start();
        return thread;
    }

    /**
     * Waits for the loop to end and close.
     *
     * @return whether it ended within the timeout
     */
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return terminated.await(timeout, unit);
    }

    /**
     * Runs one pass: select (waiting at most {@code maxWaitNanos}, less if a timer is due sooner,
     * not at all if tasks are queued), dispatch ready keys, run queued tasks, run due timers, run
     * the before-output hooks, then the before-select hooks.
     *
     * @param maxWaitNanos the longest the select may block; 0 does not block
     * @return the number of ready keys dispatched
     */
    public int runOnce(long maxWaitNanos) {
        if (owner == null) {
            owner = Thread.currentThread();
        }
        assert inLoopThreadStrict() : "runOnce off the loop thread";
        passes++;
        int ready;
        dispatching = true;
        try {
            try {
                ready = select(maxWaitNanos);
            } catch (IOException e) {
                throw new UncheckedIOException("select failed", e);
            }
            runTasks();
            runTimers();
        } finally {
            dispatching = false;
        }
        for (int i = 0; i < beforeOutput.size(); i++) {
            runGuarded(beforeOutput.get(i), "before-output hook");
        }
        for (int i = 0; i < beforeSelect.size(); i++) {
            runGuarded(beforeSelect.get(i), "before-select hook");
        }
        return ready;
    }

    private int select(long maxWaitNanos) throws IOException {
        long wait = maxWaitNanos;
        LoopTimer next = timers.peek();
        if (next != null) {
            wait = Math.min(wait, next.deadline() - nanoTime());
        }
        wakeupPending.set(false);
        int n;
        if (!tasks.isEmpty() || wait <= 0 || stopRequested) {
            n = selector.selectNow(dispatcher);
        } else {
            n = selector.select(dispatcher, selectTimeoutMillis(wait));
        }
        // Tasks queued from here on are run by the next pass, which checks the queue before it
        // blocks: no need for their producers to wake the selector.
        wakeupPending.set(true);
        return n;
    }

    /**
     * @param waitNanos how long a select may block, positive
     * @return the same in milliseconds for {@link Selector#select(long)}: at least 1 (0 would
     *         block for ever), rounded up so that a timer due in 0.3 ms does not turn into a busy
     *         {@code selectNow} loop, and without overflow for waits near {@link Long#MAX_VALUE}
     */
    static long selectTimeoutMillis(long waitNanos) {
        long millis = TimeUnit.NANOSECONDS.toMillis(waitNanos);
        if (millis * 1_000_000 < waitNanos) {
            millis++;
        }
        return Math.max(1, millis);
    }

    private void dispatch(SelectionKey key) {
        IoHandler handler = (IoHandler) key.attachment();
        if (!key.isValid()) {
            return;
        }
        try {
            handler.onReady(key.readyOps());
        } catch (Exception e) {
            try {
                handler.onFailure(e);
            } catch (RuntimeException again) {
                LOG.log(Level.WARNING, "handler " + handler + " failed to clean up", again);
            }
        }
    }

    private void runTasks() {
        // Bound the work to what was queued before this pass so a task that re-queues itself
        // cannot starve the selector.
        for (int n = tasks.size(); n > 0; n--) {
            Runnable task = tasks.poll();
            if (task == null) {
                break;
            }
            runGuarded(task, "task");
        }
    }

    private void runTimers() {
        long now = nanoTime();
        LoopTimer timer;
        while ((timer = timers.peek()) != null && timer.deadline() - now <= 0) {
            timers.poll();
            if (timer.isDone()) {
                continue;
            }
            try {
                timer.fire(now);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "timer failed", e);
            }
            if (timer.repeats() && !timer.isDone()) {
                timers.add(timer);
            }
        }
    }

    private static void runGuarded(Runnable r, String what) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, what + " failed", e);
        }
    }

    /**
     * Ends the loop on the calling (loop) thread: runs the queued tasks, the close hooks, closes every
     * channel still registered and the selector. Called by {@link #run()}; call it yourself only
     * when driving the loop with {@link #runOnce(long)}. Idempotent.
     */
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopRequested = true;
        dispatching = false; // what closing makes goes out at once, even if close() is in a pass
        try {
            runTasks();
            for (Runnable hook : closeHooks) {
                runGuarded(hook, "close hook");
            }
            for (SelectionKey key : selector.keys()) {
                try {
                    key.channel().close();
                } catch (IOException e) {
                    LOG.log(Level.DEBUG, "closing a channel at loop end", e);
                }
            }
        } finally {
            try {
                selector.close();
            } catch (IOException e) {
                LOG.log(Level.DEBUG, "closing the selector", e);
            }
            tasks.clear();
            terminated.countDown();
        }
    }

    /** @return the number of channels registered (loop thread only) */
    public int registeredCount() {
        return selector.keys().size();
    }

    @Override
    public String toString() {
        return "EventLoop[keys=" + (closed ? "closed" : String.valueOf(selector.keys().size()))
                + ", tasks=" + tasks.size() + ", timers=" + timers.size() + ", passes=" + passes
                + (stopRequested ? ", stopping" : "") + "]";
    }
}
