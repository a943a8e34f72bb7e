/**
 * Chat over UDP: {@link org.chatloop.udp.UdpChatServer} serves the rooms and commands of a
 * {@link org.chatloop.core.ChatHub} from a non-blocking datagram socket on an
 * {@link org.chatloop.loop.EventLoop} (one per loop, on one port, for a server on several loops);
 * {@link org.chatloop.udp.UdpChatClient} registers with it
 * and keeps the registration alive with {@code #ping#} heartbeats; {@link org.chatloop.udp.Main}
 * is the command line ({@code server} and {@code client}).
 *
 * <p>Inside, all package-private: each socket's share of the server on its loop, the client
 * limits kept over every socket, the peer table ordered by last heard time (expiry),
 * the datagram codec, the stateless address validator (challenge tokens), and a sender that
 * copies each frame once into a direct buffer and queues, boundedly, what the socket cannot take
 * yet.
 */
package org.chatloop.udp;
