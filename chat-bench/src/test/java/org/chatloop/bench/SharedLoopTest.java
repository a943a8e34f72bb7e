package org.chatloop.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.chatloop.core.ChatHub;
import org.chatloop.loop.EventLoop;
import org.chatloop.tcp.TcpChatServer;
import org.chatloop.tcp.TcpServerOptions;
import org.chatloop.udp.UdpChatServer;
import org.chatloop.udp.UdpServerOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's example: TCP and UDP clients in the same rooms, served by one loop thread. */
class SharedLoopTest {

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void shouldLetTcpAndUdpClientsChatInOneRoomOnOneThread() throws Exception {
        EventLoop loop = new EventLoop();
        ChatHub hub = new ChatHub();
        TcpChatServer tcp = TcpChatServer.attach(loop, hub, TcpServerOptions.defaults().withPort(0));
        UdpChatServer udp = UdpChatServer.attach(loop, hub, UdpServerOptions.defaults().withPort(0));
        Thread thread = loop.start("shared-chat");
        try (Socket t = new Socket("127.0.0.1", tcp.port());
             DatagramSocket u = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            t.setSoTimeout(10_000);
            u.setSoTimeout(10_000);
            BufferedReader in = new BufferedReader(
                    new InputStreamReader(t.getInputStream(), StandardCharsets.UTF_8));
            assertTrue(in.readLine().startsWith("* welcome "));
            send(u, udp.port(), "/nick udpuser");
            String udpName = "127.0.0.1:" + u.getLocalPort();
            assertEquals("* " + udpName + " joined lobby", in.readLine());
            assertEquals("* " + udpName + " is now known as udpuser", in.readLine());
            t.getOutputStream().write("hello over tcp\n".getBytes(StandardCharsets.UTF_8));
            assertEquals("<127.0.0.1:" + t.getLocalPort() + "> hello over tcp", in.readLine());
            String fromTcp;
            do {
                fromTcp = receive(u);
            } while (!fromTcp.endsWith("> hello over tcp"));
            send(u, udp.port(), "hello over udp");
            assertEquals("<udpuser> hello over udp", in.readLine());
        } finally {
            tcp.stop();
            udp.stop();
            loop.stop();
            assertTrue(loop.awaitTermination(10, TimeUnit.SECONDS));
            thread.join(10_000);
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
