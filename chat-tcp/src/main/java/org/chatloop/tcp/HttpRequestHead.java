package org.chatloop.tcp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The head of an HTTP/1.1 request: request line and header fields, as parsed by {@link Parser}.
 * Header names are kept lower-case (lookups ignore case); a field that appears more than once
 * keeps every value, in order.
 *
 * @param method the method, as sent ({@code GET})
 * @param target the request target ({@code /ws})
 * @param version the protocol version ({@code HTTP/1.1})
 * @param headers lower-case field names to their values, in arrival order
 */
record HttpRequestHead(String method, String target, String version, Map<String, List<String>> headers) {

    /** Largest request head accepted, request line and final empty line included. */
    static final int MAX_HEAD_BYTES = 8 * 1024;
    /** The parser's first buffer; a browser's upgrade request is about 500 bytes. */
    static final int FIRST_BUFFER_BYTES = 1024;

    /** Copies {@code headers} into an unmodifiable map of unmodifiable lists, names lower-cased. */
    HttpRequestHead {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(version, "version");
        Map<String, List<String>> copy = new LinkedHashMap<>();
        headers.forEach((k, v) -> copy.computeIfAbsent(k.toLowerCase(Locale.ROOT), x -> new ArrayList<>()).addAll(v));
        copy.replaceAll((k, v) -> List.copyOf(v));
        headers = Collections.unmodifiableMap(copy);
    }

    /** @return every value of the field {@code name} (any case), possibly none */
    List<String> values(String name) {
        return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
    }

    /** @return the field's only value, or null when it is absent or appears more than once */
    String single(String name) {
        List<String> v = values(name);
        return v.size() == 1 ? v.get(0) : null;
    }

    /**
     * @return the comma-separated elements of every value of {@code name}, trimmed, empty ones
     *         left out ({@code Connection: keep-alive, Upgrade} gives {@code keep-alive},
     *         {@code Upgrade})
     */
    List<String> tokens(String name) {
        List<String> out = new ArrayList<>();
        for (String value : values(name)) {
            for (String t : value.split(",", -1)) {
                String s = t.strip();
                if (!s.isEmpty()) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    /** @return whether {@link #tokens} of {@code name} hold {@code token}, ignoring ASCII case */
    boolean hasToken(String name, String token) {
        for (String t : tokens(name)) {
            if (t.equalsIgnoreCase(token)) {
                return true;
            }
        }
        return false;
    }

    /** What {@link Parser#feed} found so far. */
    enum Status {
        /** The head is not complete yet: feed more. */
        INCOMPLETE,
        /** The head is complete: see {@link Parser#head()} and {@link Parser#consumed()}. */
        COMPLETE,
        /** The head passed {@link #MAX_HEAD_BYTES}: answer 431. */
        TOO_LARGE,
        /** The head is not a well-formed HTTP/1.x request head: answer 400. */
        MALFORMED
    }

    /**
     * Parses a request head incrementally, however it is cut into reads. Lines end in CRLF or a
     * bare LF; the head ends at the first empty line. Bounded: at most {@link #MAX_HEAD_BYTES}
     * are held, in one array allocated on first use. Once a result other than
     * {@link Status#INCOMPLETE} is reached it is final and further input is not consumed.
     *
     * <p>Rejected as {@link Status#MALFORMED}: a request line that is not {@code METHOD SP
     * TARGET SP HTTP/d.d}, a field name that is empty or not a token (whitespace before the colon
     * included), a field line without a colon, obsolete line folding, and control characters other
     * than horizontal tab (a bare CR inside a line included).
     *
     * <p>Not thread safe.
     */
    static final class Parser {
        private byte[] buf;
        private int len;
        private int total;
        private int lineStart;
        private Status status = Status.INCOMPLETE;
        private int consumed;
        private HttpRequestHead head;

        /**
         * Feeds the next bytes.
         *
         * @return the status after these bytes; on {@link Status#COMPLETE}, {@link #consumed()}
         *         says how many of them belonged to the head (the rest are the connection's next
         *         bytes)
         */
        Status feed(byte[] src, int off, int n) {
            Objects.checkFromIndexSize(off, n, src.length);
            consumed = 0;
            if (status != Status.INCOMPLETE) {
                return status;
            }
            if (buf == null) {
                buf = new byte[Math.min(MAX_HEAD_BYTES, Math.max(FIRST_BUFFER_BYTES, n))];
            }
            for (int i = 0; i < n; i++) {
                if (total == MAX_HEAD_BYTES) {
                    consumed = i;
                    buf = null;
                    return status = Status.TOO_LARGE;
                }
                total++;
                byte b = src[off + i];
                if (len == buf.length) {
                    // Grown on demand: a connection trickling its head holds what it sent, not
                    // the whole bound (10,000 slow clients would otherwise pin 80 MB).
                    buf = java.util.Arrays.copyOf(buf, Math.min(MAX_HEAD_BYTES, buf.length * 2));
                }
                buf[len++] = b;
                if (b != '\n') {
                    continue;
                }
                int end = len - 1;
                if (end > lineStart && buf[end - 1] == '\r') {
                    end--;
                }
                boolean empty = end == lineStart;
                if (empty && lineStart == 0) {
                    len = 0; // an empty line before the request line is ignored (RFC 9112 2.2)
                    continue;
                }
                lineStart = len;
                if (empty) {
                    consumed = i + 1;
                    status = parse(end);
                    buf = null;
                    return status;
                }
            }
            consumed = n;
            return status;
        }

        /** @return the bytes of the last {@link #feed} that belonged to the head */
        int consumed() {
            return consumed;
        }

        /** @return the current status */
        Status status() {
            return status;
        }

        /** @return the parsed head, once {@link Status#COMPLETE} */
        HttpRequestHead head() {
            if (status != Status.COMPLETE) {
                throw new IllegalStateException("head not complete: " + status);
            }
            return head;
        }

        /** Parses {@code buf[0, headEnd)}: the request line and the field lines. */
        private Status parse(int headEnd) {
            List<String> lines = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < headEnd; i++) {
                if (buf[i] == '\n') {
                    int end = i > start && buf[i - 1] == '\r' ? i - 1 : i;
                    lines.add(new String(buf, start, end - start, StandardCharsets.ISO_8859_1));
                    start = i + 1;
                }
            }
            if (lines.isEmpty()) {
                return Status.MALFORMED;
            }
            for (String line : lines) {
                for (int i = 0; i < line.length(); i++) {
                    char c = line.charAt(i);
                    if ((c < 0x20 && c != '\t') || c == 0x7F) {
                        return Status.MALFORMED;
                    }
                }
            }
            String[] parts = lines.get(0).split(" ", -1);
            if (parts.length != 3 || !isToken(parts[0]) || parts[1].isEmpty()
                    || !parts[2].matches("HTTP/[0-9]\\.[0-9]")) {
                return Status.MALFORMED;
            }
            Map<String, List<String>> fields = new LinkedHashMap<>();
            for (int l = 1; l < lines.size(); l++) {
                String line = lines.get(l);
                int colon = line.indexOf(':');
                if (colon <= 0 || !isToken(line.substring(0, colon))) {
                    return Status.MALFORMED; // also obsolete folding, which starts with SP or HT
                }
                String name = line.substring(0, colon).toLowerCase(Locale.ROOT);
                String value = line.substring(colon + 1).strip();
                fields.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            }
            head = new HttpRequestHead(parts[0], parts[1], parts[2], fields);
            return Status.COMPLETE;
        }

        private static boolean isToken(String s) {
            if (s.isEmpty()) {
                return false;
            }
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                        || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
                if (!ok) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public String toString() {
            return "HttpRequestHead.Parser[" + status + ", held=" + len + "]";
        }
    }
}
