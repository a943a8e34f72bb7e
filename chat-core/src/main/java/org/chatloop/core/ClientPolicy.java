package org.chatloop.core;

/**
 * Where a server decides who may chat and what may be said: the place for authentication,
 * moderation and rate limits of your own. Each method runs on the hub's loop thread, where it must
 * return quickly; every default accepts. Set it with {@link ChatHub#policy(ClientPolicy)}.
 */
public interface ClientPolicy {

    /**
     * A decision: accepted, or refused with a reason the client is told ({@code ! REASON}).
     *
     * @param accepted whether it is accepted
     * @param reason why not, shown to the client; null when accepted
     */
    record Decision(boolean accepted, String reason) {
        /** Accepts. */
        public static final Decision ACCEPT = new Decision(true, null);

        /**
         * @param reason why, as the client will read it
         * @return a refusal
         */
        public static Decision refuse(String reason) {
            return new Decision(false, java.util.Objects.requireNonNull(reason, "reason"));
        }
    }

    /**
     * A client arrived, before anyone is told. A refused client gets {@code ! REASON} and is
     * closed; its room never hears of it.
     *
     * @param address how the transport names the peer
     * @return the decision
     */
    default Decision onArrive(String address) {
        return Decision.ACCEPT;
    }

    /**
     * A client asks for a nick (valid and free as far as this shard knows). A refused client gets
     * {@code ! REASON} and keeps its name.
     *
     * @param client the client
     * @param nick the nick it asked for
     * @return the decision
     */
    default Decision onNick(Client client, String nick) {
        return Decision.ACCEPT;
    }

    /**
     * A line is about to go to the client's room. Return the text to send (the same, or
     * changed), or null to refuse it: the client gets {@code ! message refused} and nobody else
     * sees anything. Only called while a policy is set: without one, the fan-out path allocates
     * no string.
     *
     * @param client the sender
     * @param text the line, sanitised
     * @return the text to send, or null
     */
    default String onMessage(Client client, String text) {
        return text;
    }
}
