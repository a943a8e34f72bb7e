package org.chatloop.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The test fixture itself: a real redis-server that starts, answers, stops and comes back empty. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisServerProcessTest {
    private RedisServerProcess redis;

    @BeforeEach
    void start() {
        redis = RedisServerProcess.startOrSkip();
    }

    @AfterEach
    void close() {
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    void answersPingAndTellsItsVersion() {
        assertEquals("PONG", redis.command("PING"));
        String version = redis.version();
        assertTrue(version.matches("\\d+\\.\\d+\\.\\d+.*"), version);
        assertEquals("redis://127.0.0.1:" + redis.port(), redis.uri());
        assertTrue(redis.isRunning());
        String configured = System.getProperty(RedisServerProcess.SERVER_PROPERTY);
        if (configured != null) {
            assertEquals(Path.of(configured), redis.binary());
        }
        System.out.println("RedisServerProcessTest: Redis " + version + " from " + redis.binary());
    }

    @Test
    void listensOnLoopbackWithoutPersistence() {
        assertEquals("bind\n127.0.0.1", redis.command("CONFIG", "GET", "bind"));
        assertEquals("save\n", redis.command("CONFIG", "GET", "save"));
        assertEquals("appendonly\nno", redis.command("CONFIG", "GET", "appendonly"));
    }

    @Test
    void rendersEveryReplyType() {
        assertEquals("OK", redis.command("SET", "k", "välue\r\nwith lines"));
        assertEquals("välue\r\nwith lines", redis.command("GET", "k"));
        assertNull(redis.command("GET", "missing"));
        assertEquals("3", redis.command("RPUSH", "list", "a", "b", "c"));
        assertEquals("a\nb\nc", redis.command("LRANGE", "list", "0", "-1"));
        assertEquals("", redis.command("LRANGE", "nothing", "0", "-1"));
        assertEquals("OK", redis.command("MSET", "k2", "v", "k3", "c"));
        assertEquals("v\n\nc", redis.command("MGET", "k2", "missing", "k3"));
        RedisServerProcess.RedisError e = assertThrows(RedisServerProcess.RedisError.class,
                () -> redis.command("NOSUCHCOMMAND"));
        assertTrue(e.getMessage().startsWith("ERR"), e.getMessage());
        assertEquals("0", redis.command("CLIENT", "KILL", "TYPE", "pubsub"));
        assertEquals("OK", redis.command("CONFIG", "RESETSTAT"));
        assertTrue(redis.command("INFO", "commandstats").contains("# Commandstats"));
    }

    @Test
    void restartKeepsThePortAndComesBackEmpty() {
        int port = redis.port();
        assertEquals("OK", redis.command("SET", "before", "restart"));
        assertEquals("restart", redis.command("GET", "before"));
        redis.restart();
        assertEquals(port, redis.port());
        assertEquals("PONG", redis.command("PING"));
        assertNull(redis.command("GET", "before"));
        assertEquals("0", redis.command("DBSIZE"));
    }

    @Test
    void stopRefusesConnectionsUntilRestarted() throws Exception {
        int port = redis.port();
        redis.stop();
        assertFalse(redis.isRunning());
        try (Socket s = new Socket()) {
            assertThrows(ConnectException.class, () -> s.connect(
                    new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 2_000));
        }
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> redis.command("PING"));
        assertTrue(e.getCause() instanceof ConnectException, e.toString());
        redis.stop(); // again: nothing to do
        redis.restart();
        assertEquals(port, redis.port());
        assertEquals("PONG", redis.command("PING"));
    }

    @Test
    void debugCommandWorksOnEveryVersion() {
        assertEquals("OK", redis.command("DEBUG", "SLEEP", "0"));
    }

    @Test
    void takesExtraOptions() {
        try (RedisServerProcess other = RedisServerProcess.startOrSkip("--timeout", "7")) {
            assertTrue(other.port() != redis.port());
            assertEquals("timeout\n7", other.command("CONFIG", "GET", "timeout"));
        }
    }
}
