package org.chatloop.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class UdpServerLoopGuardTest {

    @ParameterizedTest
    @ValueSource(strings = {"* welcome 1.2.3.4:5 (room lobby)", "! server full", "<bob> hi",
        "[private] <bob> hi", "[private to bob] hi"})
    void shouldRecogniseServerOutput(String line) {
        byte[] b = line.getBytes(StandardCharsets.UTF_8);
        assertTrue(DatagramLoop.looksLikeServerOutput(ByteBuffer.wrap(b), b.length), line);
    }

    @ParameterizedTest
    @ValueSource(strings = {"hello", "#ping#", "/nick bob", "*shrug*", "!important", "[priv"})
    void shouldTakeOrdinaryFirstDatagramsAsClientInput(String line) {
        byte[] b = line.getBytes(StandardCharsets.UTF_8);
        assertFalse(DatagramLoop.looksLikeServerOutput(ByteBuffer.wrap(b), b.length), line);
    }

    @Test
    void shouldNotLetTwoServersRelayEachOtherForEver() throws Exception {
        UdpServerOptions opts = UdpServerOptions.defaults().withPort(0)
                .withHeartbeatTimeout(Duration.ofSeconds(5));
        try (UdpChatServer a = TestServers.start(opts);
             UdpChatServer b = TestServers.start(opts);
             DatagramSocket bystander = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
             DatagramSocket spoofer = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            bystander.setSoTimeout(300);
            send(bystander, a.port(), "#ping#");
            assertTrue(receive(bystander).startsWith("* welcome "));
            // Make server A talk to server B: B's reply ("* welcome ...") reaches A, whose
            // answer would reach B again, and so on, if either registered the other.
            send(spoofer, b.port(), "hello");
            DatagramSocket fakeB = spoofer; // B answers the spoofer, which forwards it to A
            String welcome = receive(fakeB);
            send(fakeB, a.port(), welcome);
            int got = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < deadline) {
                try {
                    receive(bystander);
                    got++;
                } catch (SocketTimeoutException quiet) {
                    // nothing more arrived
                }
            }
            assertEquals(0, got, "a server reply from an unknown address is ignored, not relayed");
        }
    }

    private static void send(DatagramSocket s, int port, String text) throws Exception {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        s.send(new DatagramPacket(b, b.length, new InetSocketAddress("127.0.0.1", port)));
    }

    private static String receive(DatagramSocket s) throws Exception {
        DatagramPacket p = new DatagramPacket(new byte[65_536], 65_536);
        s.receive(p);
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8).strip();
    }
}
