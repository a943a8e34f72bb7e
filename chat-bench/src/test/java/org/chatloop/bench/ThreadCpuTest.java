package org.chatloop.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.chatloop.bench.peers.Peer;
import org.chatloop.bench.peers.PeerServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ThreadCpuTest {

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void countsTheCpuOfTheNamedThreadsOnly() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch stop = new CountDownLatch(1);
        Thread burner = new Thread(() -> {
            try {
                go.await();
            } catch (InterruptedException e) {
                return;
            }
            long x = 0;
            while (stop.getCount() > 0) { // spins until the test has read its CPU time
                x++;
            }
            if (x == 42) {
                System.out.println(x);
            }
        }, "thread-cpu-test-burner");
        Thread sleeper = new Thread(() -> {
            try {
                stop.await();
            } catch (InterruptedException e) {
                // done
            }
        }, "thread-cpu-test-sleeper");
        burner.start();
        sleeper.start();
        try {
            ThreadCpu burning = new ThreadCpu(n -> n.equals("thread-cpu-test-burner"));
            ThreadCpu sleeping = new ThreadCpu(n -> n.equals("thread-cpu-test-sleeper"));
            ThreadCpu none = new ThreadCpu(n -> n.equals("no-such-thread"));
            burning.start();
            sleeping.start();
            none.start();
            assertEquals(1, burning.threads());
            assertEquals(1, sleeping.threads());
            assertEquals(0, none.threads());
            go.countDown();
            Thread.sleep(200);
            long busy = burning.elapsedNanos(); // both threads still alive
            long idle = sleeping.elapsedNanos();
            assertTrue(busy > TimeUnit.MILLISECONDS.toNanos(20), "burner CPU " + busy);
            assertTrue(idle < TimeUnit.MILLISECONDS.toNanos(20), "sleeper CPU " + idle);
            assertEquals(-1, none.elapsedNanos());
        } finally {
            go.countDown();
            stop.countDown();
            burner.join();
            sleeper.join();
        }
    }

    /** Every TCP peer names its I/O threads: chatloop one per loop, the others one to start. */
    @ParameterizedTest
    @EnumSource(Peer.class)
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void everyPeerNamesItsServerThreads(Peer peer) {
        PeerServer server = peer.start();
        try {
            ThreadCpu cpu = new ThreadCpu(server::isServerThread);
            cpu.start();
            assertEquals(peer == Peer.CHATLOOP_2_LOOPS ? 2 : 1, cpu.threads(), peer.name());
            assertTrue(cpu.elapsedNanos() >= 0);
        } finally {
            server.close();
        }
    }
}
