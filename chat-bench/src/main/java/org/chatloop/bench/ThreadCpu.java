package org.chatloop.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.function.Predicate;

/**
 * The CPU time (user and system, {@link ThreadMXBean#getThreadCpuTime}) that some of this JVM's
 * threads, chosen by name, use between {@link #start()} and {@link #elapsedNanos()}: how the
 * fan-out benchmarks measure an in-process server's loop threads. The threads are looked up at
 * each {@link #start()}, so threads started later (a thread-per-client server's) are found at the
 * next start; a thread that ends in between takes its CPU time with it.
 *
 * <p>Not thread safe: one thread drives it.
 */
final class ThreadCpu {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final Predicate<String> names;
    private long[] ids = new long[0];
    private long[] startNanos = new long[0];

    /** @param names which threads count, by name */
    ThreadCpu(Predicate<String> names) {
        this.names = names;
        if (THREADS.isThreadCpuTimeSupported() && !THREADS.isThreadCpuTimeEnabled()) {
            THREADS.setThreadCpuTimeEnabled(true);
        }
    }

    /** Finds the live threads whose names match and records the CPU time each has used so far. */
    void start() {
        if (!THREADS.isThreadCpuTimeSupported()) {
            ids = new long[0];
            startNanos = new long[0];
            return;
        }
        long[] all = THREADS.getAllThreadIds();
        ThreadInfo[] infos = THREADS.getThreadInfo(all); // names only, no stacks
        long[] found = new long[all.length];
        int n = 0;
        for (ThreadInfo info : infos) {
            if (info != null && names.test(info.getThreadName())) {
                found[n++] = info.getThreadId();
            }
        }
        ids = Arrays.copyOf(found, n);
        startNanos = new long[n];
        for (int i = 0; i < n; i++) {
            startNanos[i] = THREADS.getThreadCpuTime(ids[i]);
        }
    }

    /** @return how many threads the last {@link #start()} found */
    int threads() {
        return ids.length;
    }

    /**
     * @return the CPU nanoseconds the threads found by the last {@link #start()} have used since,
     *         summed (threads that have ended count nothing), or -1 if it found none
     */
    long elapsedNanos() {
        if (ids.length == 0) {
            return -1;
        }
        long sum = 0;
        for (int i = 0; i < ids.length; i++) {
            long now = THREADS.getThreadCpuTime(ids[i]);
            if (now >= 0 && startNanos[i] >= 0) {
                sum += now - startNanos[i];
            }
        }
        return sum;
    }
}
