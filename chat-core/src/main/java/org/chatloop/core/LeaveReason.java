package org.chatloop.core;

/** Why a client left; the room is told {@code * NAME left (REASON)}. */
public enum LeaveReason {
    /** The client sent {@code /quit}. */
    QUIT("quit"),
    /** The peer closed the connection (end of stream). */
    DISCONNECTED("disconnected"),
    /** The connection was reset or failed with an I/O error. */
    CONNECTION_ERROR("connection error"),
    /** Nothing was heard from the client for longer than the transport's timeout. */
    TIMED_OUT("timed out"),
    /** The client's pending output passed its bound: it does not read fast enough. */
    TOO_SLOW("too slow"),
    /** The server removed the client ({@link ChatHub#kick}). */
    KICKED("kicked"),
    /** The server is shutting down; nobody is told, everyone is leaving. */
    SHUTDOWN("server shutting down");

    private final String text;

    LeaveReason(String text) {
        this.text = text;
    }

    /** @return the reason as the room sees it */
    public String text() {
        return text;
    }
}
