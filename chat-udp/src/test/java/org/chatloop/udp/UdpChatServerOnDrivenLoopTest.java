package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.mockito.ArgumentMatchers.argThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.timeout;
import static org.mockito.Mockito.verify;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.chatloop.core.ChatHub;
import org.chatloop.core.Client;
import org.chatloop.core.ClientOutput;
import org.chatloop.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The server attached to a loop the test drives itself ({@code runOnce} on the test thread), with
 * a clock moved by hand and a socket whose send buffer can be made to look full.
 */
@Timeout(30)
class UdpChatServerOnDrivenLoopTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final UdpServerOptions OPTIONS = UdpServerOptions.defaults().withPort(0);

    private final AtomicLong clock = new AtomicLong(42 * SECOND);
    private final EventLoop loop = new EventLoop(clock::get);
    private final ChatHub hub = new ChatHub();
    private final List<TestPeer> peers = new ArrayList<>();

    @AfterEach
    void tearDown() {
        peers.forEach(TestPeer::close);
        loop.close();
    }

    private TestPeer peer(UdpChatServer server) {
        TestPeer p = new TestPeer(server.localAddress());
        peers.add(p);
        return p;
    }

    /** Runs passes until the condition holds. */
    private void pumpUntil(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + 5 * SECOND;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("not within 5 s: " + what);
            }
            loop.runOnce(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    /** Runs passes until one dispatches a ready channel: the datagram just sent was handled. */
    private void pumpOneEvent() {
        long deadline = System.nanoTime() + 5 * SECOND;
        while (loop.runOnce(TimeUnit.MILLISECONDS.toNanos(50)) == 0) {
            if (System.nanoTime() - deadline > 0) {
                fail("no event within 5 s");
            }
        }
    }

    private TestPeer registered(UdpChatServer server) {
        TestPeer p = peer(server);
        int before = server.clientCount();
        p.send("#ping#");
        pumpUntil(() -> server.clientCount() == before + 1, "registration");
        p.awaitLine(l -> l.startsWith("* welcome " + p.name()));
        return p;
    }

    @Test
    void shouldExpireByTheLoopClockAndKeepAClientWhosePingsRefreshIt() throws Exception {
        UdpChatServer server = UdpChatServer.attach(loop, hub, OPTIONS); // 10 s timeout
        TestPeer a = registered(server);
        TestPeer b = registered(server);
        a.awaitLine("* " + b.name() + " joined lobby");

        clock.addAndGet(9 * SECOND);
        b.send("#ping#\n");
        pumpOneEvent(); // the expiry timer runs too: nobody is due yet
        assertEquals(2, server.clientCount());

        clock.addAndGet(SECOND);
        loop.runOnce(0);
        assertEquals(1, server.clientCount(), "a, silent for 10 s, is gone");
        b.awaitLine("* " + a.name() + " left (timed out)");
        assertEquals(List.of(b.name()), hub.clients().stream().map(Client::name).toList());

        clock.addAndGet(8 * SECOND);
        loop.runOnce(0);
        assertEquals(1, server.clientCount(), "b was heard 9 s ago");
        clock.addAndGet(SECOND);
        loop.runOnce(0);
        assertEquals(0, server.clientCount());
        assertEquals(0, hub.clientCount());
        a.assertQuiet(Duration.ofMillis(20));
    }

    @Test
    void shouldShareRoomsWithAnotherTransportOnTheSameHubAndStopOnlyItself() throws Exception {
        ClientOutput otherTransport = mock(ClientOutput.class);
        Client tcp = hub.connect("10.0.0.7:5000", otherTransport);
        UdpChatServer server = UdpChatServer.attach(loop, hub, OPTIONS);
        TestPeer a = registered(server);

        a.send("hi from udp");
        pumpOneEvent();
        verify(otherTransport).send(argThat(f -> f.text().equals("<" + a.name() + "> hi from udp")));
        hub.onLine(tcp, "hi from tcp");
        a.awaitLine("<10.0.0.7:5000> hi from tcp");

        server.stop();
        a.awaitLine("* server shutting down");
        assertFalse(loop.isStopping(), "stop() of an attached server leaves the loop running");
        assertEquals(List.of("10.0.0.7:5000"), hub.clients().stream().map(Client::name).toList());
        loop.runOnce(0);
        assertEquals(0, loop.registeredCount(), "the server's channel is closed");
        hub.onLine(tcp, "still here");
        verify(otherTransport).send(argThat(f -> f.text().equals("<10.0.0.7:5000> still here")));
    }

    @Test
    void shouldStopAnAttachedServerFromAnotherThreadWithoutStoppingTheLoop() throws Exception {
        UdpChatServer server = UdpChatServer.attach(loop, hub, OPTIONS);
        TestPeer a = peer(server);
        Thread runner = loop.start("test-loop");
        a.register();
        server.stop();
        a.awaitLine("* server shutting down");
        CountDownLatch stillRunning = new CountDownLatch(1);
        loop.execute(stillRunning::countDown);
        assertTrue(stillRunning.await(5, TimeUnit.SECONDS));
        loop.stop();
        runner.join(5_000);
        assertFalse(runner.isAlive());
    }

    @Test
    void shouldAttachFromAnotherThreadByHandingTheWorkToTheLoop() throws Exception {
        Thread runner = loop.start("test-loop");
        UdpChatServer server = UdpChatServer.attach(loop, hub, OPTIONS);
        try (TestPeer p = new TestPeer(server.localAddress())) {
            p.register();
        }
        server.stop();
        loop.stop();
        runner.join(5_000);
    }

    @Test
    void shouldTellClientsWhenTheLoopItselfEnds() throws Exception {
        UdpChatServer server = UdpChatServer.attach(loop, hub, OPTIONS);
        TestPeer a = registered(server);
        loop.stop();
        loop.close();
        a.awaitLine("* server shutting down");
        assertTrue(server.isClosed());
    }

    /** A wire that can look full (send returns 0) or fail for chosen targets. */
    static final class GateWire implements DatagramSender.Wire {
        final DatagramSender.Wire real;
        volatile boolean open = true;
        final Set<SocketAddress> failing = ConcurrentHashMap.newKeySet();

        GateWire(DatagramSender.Wire real) {
            this.real = real;
        }

        @Override
        public int send(ByteBuffer datagram, SocketAddress target) throws IOException {
            if (failing.contains(target)) {
                throw new IOException("test: cannot reach " + target);
            }
            return open ? real.send(datagram, target) : 0;
        }

        @Override
        public void writeInterest(boolean on) {
            real.writeInterest(on);
        }
    }

    @Test
    void shouldQueueWhileTheSocketIsFullThenDropAndCountPastTheBound() throws Exception {
        GateWire[] gate = new GateWire[1];
        UdpChatServer server = UdpChatServer.bind(loop, hub, OPTIONS.withMaxQueuedDatagrams(8),
                false, w -> gate[0] = new GateWire(w));
        TestPeer a = registered(server);
        TestPeer b = registered(server);
        a.awaitLine("* " + b.name() + " joined lobby");
        SelectionKey key = server.socket(0).key();
        assertEquals(SelectionKey.OP_READ, key.interestOps());

        gate[0].open = false;
        for (int i = 0; i < 20; i++) {
            a.send("m" + i);
        }
        // 20 messages to a room of 2: 40 datagrams, 8 fit the queue, 32 are dropped.
        pumpUntil(() -> server.droppedDatagrams() == 32, "32 drops");
        assertEquals(8, server.socket(0).sender().queued());
        assertTrue(server.socket(0).sender().queue().capacity() <= 8,
                "the queue never grows past its bound");
        assertEquals(SelectionKey.OP_READ | SelectionKey.OP_WRITE, key.interestOps());
        loop.runOnce(TimeUnit.MILLISECONDS.toNanos(20)); // writable, but still full: keeps waiting
        assertEquals(8, server.socket(0).sender().queued());
        assertEquals(32, server.droppedDatagrams());

        gate[0].open = true;
        pumpUntil(() -> server.socket(0).sender().queued() == 0, "drain under OP_WRITE");
        assertEquals(SelectionKey.OP_READ, key.interestOps(), "write interest only while queued");
        for (int i = 0; i < 4; i++) {
            assertEquals("<" + a.name() + "> m" + i, b.awaitLine(l -> l.startsWith("<")));
            assertEquals("<" + a.name() + "> m" + i, a.awaitLine(l -> l.startsWith("<")));
        }
        b.assertQuiet(Duration.ofMillis(100));

        a.send("after");
        pumpOneEvent();
        assertEquals("<" + a.name() + "> after", b.awaitLine(l -> l.startsWith("<")));
        assertEquals(32, server.droppedDatagrams());
    }

    @Test
    void shouldCountAFailedSendAndKeepServingEveryoneElse() throws Exception {
        GateWire[] gate = new GateWire[1];
        UdpChatServer server = UdpChatServer.bind(loop, hub, OPTIONS, false,
                w -> gate[0] = new GateWire(w));
        TestPeer a = registered(server);
        TestPeer b = registered(server);
        a.awaitLine("* " + b.name() + " joined lobby");

        gate[0].failing.add(b.address());
        a.send("lost for b");
        pumpOneEvent();
        assertEquals("<" + a.name() + "> lost for b", a.awaitLine(l -> l.startsWith("<")));
        assertEquals(1, server.droppedDatagrams());
        assertEquals(0, server.socket(0).sender().queued());

        gate[0].failing.clear();
        a.send("seen by b");
        pumpOneEvent();
        assertEquals("<" + a.name() + "> seen by b", b.awaitLine(l -> l.startsWith("<")));
        assertNotEquals(0, server.port());
    }

    @Test
    void shouldTellMockedPeersOfAnExpiryThroughTheHub() throws Exception {
        ClientOutput watcher = mock(ClientOutput.class);
        hub.connect("10.0.0.9:1", watcher);
        UdpChatServer server = UdpChatServer.attach(loop, hub,
                OPTIONS.withHeartbeatTimeout(Duration.ofSeconds(3)));
        TestPeer a = registered(server);
        clock.addAndGet(3 * SECOND);
        loop.runOnce(0);
        verify(watcher, timeout(1000)).send(
                argThat(f -> f.text().equals("* " + a.name() + " left (timed out)")));
    }

    @Test
    void shouldIgnoreDatagramsThatClaimToComeFromTheServersOwnSocket() throws Exception {
        UdpChatServer server = UdpChatServer.attach(loop, hub, OPTIONS);
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        assertTrue(server.socket(0).isOwnAddress(new InetSocketAddress(loopback, server.port())));
        assertFalse(server.socket(0).isOwnAddress(
                new InetSocketAddress(loopback, server.port() + 1)));
        assertFalse(server.socket(0).isOwnAddress(
                new InetSocketAddress(InetAddress.getByName("10.1.2.3"), server.port())));
    }
}
