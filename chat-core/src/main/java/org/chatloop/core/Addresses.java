package org.chatloop.core;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * How every transport and command line writes a socket address: {@code 127.0.0.1:9001} for IPv4,
 * {@code [::1]:9001} for IPv6, with the IPv6 text in the canonical form of RFC 5952 (lowercase,
 * no leading zeros, the longest run of two or more zero groups as {@code ::}), rather than the
 * JDK's {@code 0:0:0:0:0:0:0:1}. Pure and thread safe.
 */
public final class Addresses {
    private Addresses() {
    }

    /**
     * @param address a socket address
     * @return {@code HOST:PORT}, IPv6 hosts in brackets; an unresolved address keeps its host name
     */
    public static String format(InetSocketAddress address) {
        InetAddress ip = address.getAddress();
        String host = ip == null ? address.getHostString() : format(ip);
        boolean bracket = ip instanceof Inet6Address || (ip == null && host.indexOf(':') >= 0);
        return (bracket ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    /**
     * @param address an IP address
     * @return its text: dotted IPv4, or RFC 5952 IPv6 (with its {@code %scope}, if any), no brackets
     */
    public static String format(InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            return address.getHostAddress();
        }
        byte[] b = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 1; // a single zero group is not shortened (RFC 5952 section 4.2.2)
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[i]));
        }
        String jdk = address.getHostAddress();
        int scope = jdk.indexOf('%');
        if (scope >= 0) {
            sb.append(jdk, scope, jdk.length());
        }
        return sb.toString();
    }
}
