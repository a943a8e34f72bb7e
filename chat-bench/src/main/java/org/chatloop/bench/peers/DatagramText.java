package org.chatloop.bench.peers;

import io.netty.buffer.ByteBuf;

/**
 * The datagram rules the UDP peers share with chatloop: one trailing {@code "\n"} or
 * {@code "\r\n"} is not part of the message, and {@code #ping#} is a heartbeat.
 */
final class DatagramText {
    private static final byte[] PING = {'#', 'p', 'i', 'n', 'g', '#'};

    private DatagramText() {
    }

    /** @return the length of {@code buf[0, len)} without one trailing newline or CRLF */
    static int stripTerminator(byte[] buf, int len) {
        if (len > 0 && buf[len - 1] == '\n') {
            len--;
            if (len > 0 && buf[len - 1] == '\r') {
                len--;
            }
        }
        return len;
    }

    /** @return the length of the readable bytes of {@code buf} without one trailing newline or CRLF */
    static int stripTerminator(ByteBuf buf) {
        int start = buf.readerIndex();
        int len = buf.readableBytes();
        if (len > 0 && buf.getByte(start + len - 1) == '\n') {
            len--;
            if (len > 0 && buf.getByte(start + len - 1) == '\r') {
                len--;
            }
        }
        return len;
    }

    /** @return whether {@code buf[0, len)}, terminator stripped, is {@code #ping#} */
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

    /** @return whether the first {@code len} readable bytes of {@code buf} are {@code #ping#} */
    static boolean isPing(ByteBuf buf, int len) {
        if (len != PING.length) {
            return false;
        }
        int start = buf.readerIndex();
        for (int i = 0; i < len; i++) {
            if (buf.getByte(start + i) != PING[i]) {
                return false;
            }
        }
        return true;
    }
}
