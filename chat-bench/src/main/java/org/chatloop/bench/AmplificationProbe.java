package org.chatloop.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.chatloop.udp.UdpChatServer;
import org.chatloop.udp.UdpServerOptions;

/**
 * Measures UDP amplification on loopback: a lobby of {@code members} registered addresses, one of
 * which talks ({@code rate} datagrams of 100 bytes a second), and a "victim" address that sends
 * {@code #ping#}, {@code /who}, {@code /rooms} and {@code /help} once (21 bytes, as a spoofer
 * would in its name) and never answers anything. Prints the bytes the victim received over
 * {@code seconds} divided by the bytes it sent, with address validation off and then on.
 *
 * <p>Usage: {@code java -cp benchmarks.jar org.chatloop.bench.AmplificationProbe [members]
 * [seconds] [rate]} (defaults 200, 6, 500).
 */
public final class AmplificationProbe {
    private AmplificationProbe() {
    }

    /**
     * Runs the probe.
     *
     * @param args members, seconds, rate
     * @throws Exception if a socket fails
     */
    public static void main(String[] args) throws Exception {
        int members = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        int rate = args.length > 2 ? Integer.parseInt(args[2]) : 500;
        for (UdpServerOptions.AddressValidation v : new UdpServerOptions.AddressValidation[] {
                UdpServerOptions.AddressValidation.OFF, UdpServerOptions.AddressValidation.ON}) {
            run(v, members, seconds, rate);
        }
    }

    private static void run(UdpServerOptions.AddressValidation validation, int members,
                            int seconds, int rate) throws Exception {
        try (UdpChatServer server = UdpChatServer.start(UdpServerOptions.defaults().withPort(0)
                .withAddressValidation(validation).withMaxQueuedDatagrams(1 << 20))) {
            InetSocketAddress at = server.localAddress();
            List<DatagramChannel> lobby = new ArrayList<>();
            try {
                for (int i = 0; i < members; i++) {
                    lobby.add(register(at));
                }
                DatagramChannel talker = lobby.get(0);
                try (DatagramChannel victim = open(at)) {
                    long sent = 0;
                    for (String r : new String[] {"#ping#", "/who", "/rooms", "/help"}) {
                        sent += victim.write(ascii(r));
                    }
                    victim.configureBlocking(false);
                    ByteBuffer in = ByteBuffer.allocateDirect(65_536);
                    ByteBuffer line = ascii("x".repeat(99) + "\n");
                    long start = System.nanoTime();
                    long end = start + TimeUnit.SECONDS.toNanos(seconds);
                    long received = 0;
                    long datagrams = 0;
                    long said = 0;
                    while (System.nanoTime() - end < 0) {
                        long due = (System.nanoTime() - start) * rate / 1_000_000_000L;
                        while (said < due) {
                            talker.write(line.duplicate());
                            said++;
                        }
                        while (true) {
                            in.clear();
                            int n = victim.read(in);
                            if (n <= 0) {
                                break;
                            }
                            received += n;
                            datagrams++;
                        }
                        Thread.onSpinWait();
                    }
                    System.out.printf("address validation %s: %d members, %d lines said in %d s; "
                            + "the victim sent %d bytes and received %d bytes in %d datagrams: "
                            + "%.1fx%n", validation, members, said, seconds, sent, received,
                            datagrams, (double) received / sent);
                }
            } finally {
                for (DatagramChannel c : lobby) {
                    c.close();
                }
            }
        }
    }

    private static ByteBuffer ascii(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static DatagramChannel open(InetSocketAddress server) throws IOException {
        DatagramChannel ch = DatagramChannel.open();
        ch.bind(new InetSocketAddress("127.0.0.1", 0));
        ch.connect(server);
        ch.socket().setSoTimeout(2_000);
        return ch;
    }

    /** Pings, answers a challenge if one comes, and waits for the welcome. */
    private static DatagramChannel register(InetSocketAddress server) throws IOException {
        DatagramChannel ch = open(server);
        ch.write(ascii("#ping#"));
        byte[] buf = new byte[65_536];
        java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
        for (int tries = 0; tries < 10; tries++) {
            try {
                ch.socket().receive(p);
            } catch (SocketTimeoutException e) {
                ch.write(ascii("#ping#"));
                continue;
            }
            String text = new String(buf, 0, p.getLength(), StandardCharsets.US_ASCII).strip();
            if (text.startsWith("* verify ")) {
                ch.write(ascii("#ping# " + text.substring("* verify ".length())));
            } else if (text.startsWith("* welcome ")) {
                return ch;
            }
        }
        ch.close();
        throw new IOException("could not register with " + server);
    }
}
