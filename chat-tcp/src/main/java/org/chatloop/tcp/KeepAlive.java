package org.chatloop.tcp;

import java.io.IOException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.channels.NetworkChannel;
import java.util.Set;
import jdk.net.ExtendedSocketOptions;

/**
 * TCP keepalive on an accepted socket, so that a peer that vanished without a FIN (power cut,
 * cable pulled, NAT entry dropped) is found in bounded time: {@code SO_KEEPALIVE} plus, where the
 * platform supports them ({@link NetworkChannel#supportedOptions()}), {@code TCP_KEEPIDLE},
 * {@code TCP_KEEPINTERVAL} and {@code TCP_KEEPCOUNT} from {@link ExtendedSocketOptions}. Where
 * they are not supported the kernel's own times apply (on Linux 7200 s + 9 x 75 s) and that is
 * logged once. Stateless.
 */
final class KeepAlive {
    private static final System.Logger LOG = System.getLogger(KeepAlive.class.getName());
    private static volatile boolean warned;

    private KeepAlive() {
    }

    /** Applies the options' keepalive settings; an idle time of zero leaves keepalive off. */
    static void apply(NetworkChannel ch, TcpServerOptions options) throws IOException {
        if (options.keepAliveIdle().isZero()) {
            return;
        }
        ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
        Set<SocketOption<?>> supported = ch.supportedOptions();
        if (!supported.contains(ExtendedSocketOptions.TCP_KEEPIDLE)
                || !supported.contains(ExtendedSocketOptions.TCP_KEEPINTERVAL)
                || !supported.contains(ExtendedSocketOptions.TCP_KEEPCOUNT)) {
            if (!warned) {
                warned = true;
                LOG.log(System.Logger.Level.WARNING, "TCP_KEEPIDLE/KEEPINTERVAL/KEEPCOUNT not "
                        + "supported here: keepalive uses the system's times");
            }
            return;
        }
        ch.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, (int) options.keepAliveIdle().toSeconds());
        ch.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL,
                (int) options.keepAliveInterval().toSeconds());
        ch.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, options.keepAliveCount());
    }
}
