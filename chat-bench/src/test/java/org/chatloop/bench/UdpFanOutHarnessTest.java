package org.chatloop.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.chatloop.bench.peers.UdpPeer;
import org.chatloop.bench.peers.UdpPeerServer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class UdpFanOutHarnessTest {
    private static final int SUBSCRIBERS = 3;
    private static final int MESSAGES = 500;
    private static final int SIZE = 64;
    private static final long STEP_NANOS = TimeUnit.SECONDS.toNanos(3);

    @ParameterizedTest
    @EnumSource(UdpPeer.class)
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void deliversEveryBatchWithLittleLoss(UdpPeer peer) throws Exception {
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        UdpPeerServer server = peer.start();
        try {
            assertTrue(server.port() > 0, "port");
            try (UdpFanOutHarness harness = new UdpFanOutHarness(server.port(), SUBSCRIBERS, SIZE,
                    UdpFanOutHarness.DEFAULT_WINDOW, UdpFanOutHarness.DEFAULT_QUIET_NANOS,
                    STEP_NANOS)) {
                for (int i = 0; i < 2; i++) {
                    UdpFanOutHarness.Batch b = harness.publish(MESSAGES, STEP_NANOS);
                    String what = peer + " batch " + i + ": " + b + ", " + harness + ", " + server;
                    assertEquals((long) MESSAGES * SUBSCRIBERS, b.expected(), what);
                    assertTrue(b.delivered() > 0, what);
                    assertEquals(b.expected() - b.delivered(), b.lost(), what);
                    assertTrue(b.lossRatio() <= 0.05, what);
                }
                assertEquals((long) 2 * MESSAGES, harness.sent());
                assertEquals(harness.delivered() + harness.lost(),
                        (long) 2 * MESSAGES * SUBSCRIBERS);
            }
        } finally {
            server.close();
        }
        assertThreadsGone(before);
    }

    private static void assertThreadsGone(Set<Thread> before) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        List<Thread> left;
        do {
            left = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> !before.contains(t) && t.isAlive())
                    .filter(t -> t.getName().startsWith("peer-") || t.getName().startsWith("chat-"))
                    .collect(Collectors.toList());
            if (left.isEmpty()) {
                return;
            }
            Thread.sleep(20); // polling, with a deadline
        } while (System.nanoTime() < deadline);
        fail("threads still alive after close(): " + left);
    }
}
