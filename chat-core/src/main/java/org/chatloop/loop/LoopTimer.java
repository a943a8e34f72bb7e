package org.chatloop.loop;

/**
 * A task scheduled on an {@link EventLoop}, returned so that it can be cancelled. Deadlines are in
 * the loop's clock ({@link EventLoop#nanoTime()}).
 *
 * <p>Not thread safe: create and cancel timers on the loop thread only.
 */
public final class LoopTimer implements Comparable<LoopTimer> {
    private final Runnable task;
    private final long periodNanos;
    private final long sequence;
    private long deadline;
    private boolean cancelled;

    LoopTimer(Runnable task, long deadline, long periodNanos, long sequence) {
        this.task = task;
        this.deadline = deadline;
        this.periodNanos = periodNanos;
        this.sequence = sequence;
    }

    /** Stops the timer; a cancelled timer never runs again. Cancelling twice is harmless. */
    public void cancel() {
        cancelled = true;
    }

    /** @return whether {@link #cancel()} was called or a one-shot timer has run */
    public boolean isDone() {
        return cancelled;
    }

    /** @return the loop-clock time, in nanoseconds, at which the timer runs next */
    public long deadline() {
        return deadline;
    }

    boolean repeats() {
        return periodNanos > 0;
    }

    /** Runs the task and, for a repeating timer, moves its deadline one period on from {@code now}. */
    void fire(long now) {
        if (periodNanos > 0) {
            deadline = now + periodNanos;
        } else {
            cancelled = true;
        }
        task.run();
    }

    @Override
    public int compareTo(LoopTimer other) {
        int byDeadline = Long.compare(deadline - other.deadline, 0);
        return byDeadline != 0 ? byDeadline : Long.compare(sequence, other.sequence);
    }

    @Override
    public String toString() {
        return "LoopTimer[deadline=" + deadline + ", period=" + periodNanos
                + (cancelled ? ", done" : "") + "]";
    }
}
