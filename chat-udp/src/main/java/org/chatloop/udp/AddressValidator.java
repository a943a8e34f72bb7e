package org.chatloop.udp;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.chatloop.core.Frame;

/**
 * Stateless return-routability check for UDP source addresses, like QUIC's Retry tokens and SYN
 * cookies: the server answers an unvalidated address with one challenge, {@code * verify TOKEN},
 * and registers it only when it echoes the token as {@code #ping# TOKEN}. A spoofer never sees
 * the token sent to its victim, so it cannot register the victim.
 *
 * <p>TOKEN is the first 48 bits of HMAC-SHA256, under a key drawn from {@link SecureRandom} when
 * the server starts, of the address, the port and a time slot of {@value #SLOT_SECONDS} s, in
 * base64url: {@value #TOKEN_CHARS} characters of {@code [A-Za-z0-9_-]}. Tokens of the current and
 * the previous slot are accepted, so a token lives 30 to 60 s; an expired, forged, or another
 * address's token is refused (the caller sends a fresh challenge). Forging one means guessing 48
 * bits for one address within a minute. Nothing is stored per address: the check costs one MAC
 * (two for a token of the previous slot) and unvalidated addresses cost no memory.
 *
 * <p><b>Amplification.</b> The challenge is {@value #CHALLENGE_BYTES} bytes, so the caller sends
 * it only in answer to a datagram of at least {@value #MIN_ANSWERED_BYTES} bytes: every datagram
 * the server sends an unvalidated address is then at most 3 times the one it answers, and so the
 * bytes sent to an address never exceed 3 times the bytes received from it until it is
 * validated (RFC 9000 section 8), without counting anything per address. ({@code #ping#}, 6
 * bytes, is just enough.)
 *
 * <p>Not thread safe: owned by the server's loop thread (the {@link Mac} is reused).
 */
final class AddressValidator {
    static final int SLOT_SECONDS = 30;
    static final int TOKEN_CHARS = 8;
    static final String CHALLENGE_PREFIX = "verify ";
    /** {@code "* verify "} + token + {@code "\n"}. */
    static final int CHALLENGE_BYTES = 2 + CHALLENGE_PREFIX.length() + TOKEN_CHARS + 1;
    /** The smallest datagram answered with a challenge: 3 x this is at least the challenge. */
    static final int MIN_ANSWERED_BYTES = (CHALLENGE_BYTES + 2) / 3;

    private static final long SLOT_NANOS = TimeUnit.SECONDS.toNanos(SLOT_SECONDS);
    private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();

    private final Mac mac;
    private final byte[] input = new byte[1 + 16 + 2 + 8];
    private final byte[] expected = new byte[TOKEN_CHARS];

    AddressValidator(SecureRandom random) {
        byte[] key = new byte[32];
        random.nextBytes(key);
        try {
            mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /** @return the challenge for the address now, {@code * verify TOKEN} */
    Frame challenge(InetSocketAddress address, long nowNanos) {
        token(address, slot(nowNanos), expected);
        return Frame.notice(CHALLENGE_PREFIX + new String(expected, StandardCharsets.US_ASCII));
    }

    /**
     * @param token the token bytes the address sent back, {@code buf[off, off + len)}
     * @return whether it is the address's token of the current or the previous time slot
     */
    boolean isValid(InetSocketAddress address, byte[] buf, int off, int len, long nowNanos) {
        if (len != TOKEN_CHARS) {
            return false;
        }
        long slot = slot(nowNanos);
        return matches(address, slot, buf, off) || matches(address, slot - 1, buf, off);
    }

    private boolean matches(InetSocketAddress address, long slot, byte[] buf, int off) {
        token(address, slot, expected);
        int diff = 0; // constant time, as MessageDigest.isEqual, without copying the input
        for (int i = 0; i < TOKEN_CHARS; i++) {
            diff |= expected[i] ^ buf[off + i];
        }
        return diff == 0;
    }

    private static long slot(long nowNanos) {
        return Math.floorDiv(nowNanos, SLOT_NANOS);
    }

    private void token(InetSocketAddress address, long slot, byte[] into) {
        byte[] ip = address.getAddress().getAddress();
        int n = 0;
        input[n++] = (byte) ip.length;
        System.arraycopy(ip, 0, input, n, ip.length);
        n += ip.length;
        input[n++] = (byte) (address.getPort() >>> 8);
        input[n++] = (byte) address.getPort();
        for (int shift = 56; shift >= 0; shift -= 8) {
            input[n++] = (byte) (slot >>> shift);
        }
        mac.update(input, 0, n);
        byte[] full = mac.doFinal();
        byte[] text = BASE64URL.encode(java.util.Arrays.copyOf(full, TOKEN_CHARS * 6 / 8));
        System.arraycopy(text, 0, into, 0, TOKEN_CHARS);
    }

    @Override
    public String toString() {
        return "AddressValidator[HmacSHA256, " + SLOT_SECONDS + " s slots]";
    }
}
