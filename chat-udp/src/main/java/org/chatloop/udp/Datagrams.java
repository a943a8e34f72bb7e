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

    /** The longest token accepted after {@code #ping# }. */
    static final int MAX_TOKEN_CHARS = 64;

    /**
     * @return where the token starts if {@code buf[0, len)}, without its terminator, is
     *         {@code #ping# TOKEN} (TOKEN: 1 to {@value #MAX_TOKEN_CHARS} characters of
     *         {@code [A-Za-z0-9_-]}), else -1
     */
    static int pingTokenOffset(byte[] buf, int len) {
        int at = PING.length + 1;
        if (len <= at || len > at + MAX_TOKEN_CHARS || buf[PING.length] != ' ') {
            return -1;
        }
        for (int i = 0; i < PING.length; i++) {
            if (buf[i] != PING[i]) {
                return -1;
            }
        }
        for (int i = at; i < len; i++) {
            byte b = buf[i];
            boolean ok = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')
                    || b == '_' || b == '-';
            if (!ok) {
                return -1;
            }
        }
        return at;
    }

    /** @return whether the datagram is a heartbeat: {@code #ping#} or {@code #ping# TOKEN} */
    static boolean isHeartbeat(byte[] buf, int len) {
        return len > 0 && buf[0] == '#' && (isPing(buf, len) || pingTokenOffset(buf, len) >= 0);
    }

    /** @return {@code ip:port}, or {@code [ip6]:port}: how the hub names a client at first */
    static String addressText(InetSocketAddress address) {
        return Addresses.format(address);
    }
}
