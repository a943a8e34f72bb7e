package org.chatloop.udp;

import java.net.InetSocketAddress;
import org.chatloop.core.Addresses;

/**
 * The datagram side of the wire protocol, pure and stateless: one datagram is one message, with
 * an optional trailing {@code "\n"} or {@code "\r\n"}; {@code #ping#} is a heartbeat.
 */
final class Datagrams {
    /** The heartbeat, without a terminator. */
    static final byte[] PING = {'#', 'p', 'i', 'n', 'g', '#'};

    private Datagrams() {
    }

    /**
     * @param buf the datagram's bytes, from index 0
     * @param len the datagram's length
     * @return the length without one trailing {@code "\n"} or {@code "\r\n"}
     */
    static int stripTerminator(byte[] buf, int len) {
        if (len > 0 && buf[len - 1] == '\n') {
            len--;
            if (len > 0 && buf[len - 1] == '\r') {
                len--;
            }
        }
        return len;
    }

    /** @return whether {@code buf[0, len)}, already without its terminator, is {@code #ping#} */
    static boolean isPing(byte[] buf, int len) {
        if (len != PING.length) {
            return false;
        }
        for (int i = 0; i < len; i++) {
            if (buf[i] != PING[i]) {
                return false;
            }
        }
        return true;
    }

    /** @return {@code ip:port}, or {@code [ip6]:port}: how the hub names a client at first */
    static String addressText(InetSocketAddress address) {
        return Addresses.format(address);
    }
}
