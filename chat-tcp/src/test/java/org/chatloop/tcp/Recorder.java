package org.chatloop.tcp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Records decoder events as strings: {@code TEXT hi}, {@code PING 6869}, {@code CLOSE 1000 bye}. */
final class Recorder implements WebSocketDecoder.Sink {
    final List<String> events = new ArrayList<>();
    int errors;

    @Override
    public void onText(byte[] buf, int off, int len) {
        events.add("TEXT " + new String(buf, off, len, StandardCharsets.UTF_8));
    }

    @Override
    public void onPing(byte[] buf, int off, int len) {
        events.add("PING " + HexFormat.of().formatHex(buf, off, off + len));
    }

    @Override
    public void onPong(byte[] buf, int off, int len) {
        events.add("PONG " + HexFormat.of().formatHex(buf, off, off + len));
    }

    @Override
    public void onClose(int code, String reason) {
        events.add("CLOSE " + code + " " + reason);
    }

    @Override
    public void onMessageTooLong() {
        events.add("TOO_LONG");
    }

    @Override
    public void onProtocolError(int code, String reason) {
        errors++;
        events.add("ERROR " + code);
    }

    static String hex(String s) {
        return HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }
}
