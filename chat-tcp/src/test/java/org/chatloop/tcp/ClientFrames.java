package org.chatloop.tcp;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds the frames a browser would send (masked), and malformed ones, for decoder tests. */
final class ClientFrames {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private int maskSeed = 0x37FA213D;

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Appends a masked frame with the shortest length form. */
    ClientFrames frame(boolean fin, int opcode, byte[] payload) {
        return raw(fin ? 0x80 | opcode : opcode, true, payload, 0);
    }

    ClientFrames text(String s) {
        return frame(true, WebSocketDecoder.OP_TEXT, utf8(s));
    }

    ClientFrames ping(String s) {
        return frame(true, WebSocketDecoder.OP_PING, utf8(s));
    }

    ClientFrames pong(String s) {
        return frame(true, WebSocketDecoder.OP_PONG, utf8(s));
    }

    ClientFrames close(int code, String reason) {
        byte[] r = utf8(reason);
        byte[] p = new byte[2 + r.length];
        p[0] = (byte) (code >>> 8);
        p[1] = (byte) code;
        System.arraycopy(r, 0, p, 2, r.length);
        return frame(true, WebSocketDecoder.OP_CLOSE, p);
    }

    /**
     * Appends any frame.
     *
     * @param b0 the whole first byte (FIN, RSV, opcode)
     * @param masked whether to set the MASK bit and mask the payload
     * @param lengthForm 0 for the shortest, 2 or 8 to force a 16- or 64-bit length
     */
    ClientFrames raw(int b0, boolean masked, byte[] payload, int lengthForm) {
        out.write(b0);
        int m = masked ? 0x80 : 0;
        int n = payload.length;
        int form = lengthForm != 0 ? lengthForm : n <= 125 ? 0 : n <= 0xFFFF ? 2 : 8;
        if (form == 0) {
            out.write(m | n);
        } else if (form == 2) {
            out.write(m | 126);
            out.write(n >>> 8);
            out.write(n);
        } else {
            out.write(m | 127);
            for (int i = 7; i >= 0; i--) {
                out.write((int) ((long) n >>> (8 * i)));
            }
        }
        byte[] key = new byte[4];
        if (masked) {
            maskSeed = maskSeed * 1103515245 + 12345;
            for (int i = 0; i < 4; i++) {
                key[i] = (byte) (maskSeed >>> (8 * i));
            }
            out.write(key, 0, 4);
        }
        for (int i = 0; i < n; i++) {
            out.write(payload[i] ^ key[i & 3]);
        }
        return this;
    }

    /** Appends raw bytes (a header cut short, say). */
    ClientFrames bytes(int... bs) {
        for (int b : bs) {
            out.write(b);
        }
        return this;
    }

    byte[] build() {
        return out.toByteArray();
    }

    /** Masks a server frame (as a client would send it), so encoder output can be decoded. */
    static byte[] maskServerFrame(byte[] frame) {
        int len7 = frame[1] & 0x7F;
        int header = len7 <= 125 ? 2 : len7 == 126 ? 4 : 10;
        byte[] key = {0x11, 0x22, 0x33, 0x44};
        byte[] out = new byte[frame.length + 4];
        System.arraycopy(frame, 0, out, 0, header);
        out[1] |= (byte) 0x80;
        System.arraycopy(key, 0, out, header, 4);
        for (int i = header; i < frame.length; i++) {
            out[i + 4] = (byte) (frame[i] ^ key[(i - header) & 3]);
        }
        return out;
    }
}
