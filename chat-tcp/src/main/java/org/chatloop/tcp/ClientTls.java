package org.chatloop.tcp;

import java.util.Objects;
import javax.net.ssl.SSLContext;

/**
 * How a {@link TcpChatClient} speaks TLS to its server.
 *
 * @param context the client context: whom to trust ({@link PemTls#clientContext}, or
 *                {@link SSLContext#getDefault()} for the JDK's trusted CAs)
 * @param verifyHostName whether the server's certificate must name the host connected to (as
 *                       HTTPS does); turn it off only together with trusting anything
 *                       ({@link #insecure()})
 */
public record ClientTls(SSLContext context, boolean verifyHostName) {

    /** Requires a context. */
    public ClientTls {
        Objects.requireNonNull(context, "context");
    }

    /**
     * @return TLS that trusts any certificate and any name: encrypted, not authenticated
     *         ({@code --insecure})
     */
    public static ClientTls insecure() {
        return new ClientTls(PemTls.insecureClientContext(), false);
    }
}
