package org.chatloop.tcp;

/**
 * The close status codes of RFC 6455 section 7.4 that this server sends or checks, and which codes
 * a peer may put on the wire.
 */
final class CloseCodes {
    /** Normal closure. */
    static final int NORMAL = 1000;
    /** The endpoint is going away (server shutdown). */
    static final int GOING_AWAY = 1001;
    /** Protocol error. */
    static final int PROTOCOL_ERROR = 1002;
    /** A data type the endpoint cannot accept (binary, here). */
    static final int UNSUPPORTED_DATA = 1003;
    /** No status code was present; never sent on the wire. */
    static final int NO_STATUS = 1005;
    /** Data inconsistent with the message type (invalid UTF-8 in text). */
    static final int INVALID_PAYLOAD = 1007;
    /** Policy violation. */
    static final int POLICY_VIOLATION = 1008;
    /** Message too big. */
    static final int MESSAGE_TOO_BIG = 1009;
    /** Unexpected condition on the server. */
    static final int INTERNAL_ERROR = 1011;

    private CloseCodes() {
    }

    /**
     * Whether a peer may send {@code code} in a close frame: 1000-1003, 1007-1014 (1012-1014 were
     * registered with IANA after the RFC) and 3000-4999. 0-999, 1004-1006, 1015, 1016-2999 and
     * 5000 and above are not.
     */
    static boolean isValidOnWire(int code) {
        return (code >= 1000 && code <= 1003)
                || (code >= 1007 && code <= 1014)
                || (code >= 3000 && code <= 4999);
    }
}
