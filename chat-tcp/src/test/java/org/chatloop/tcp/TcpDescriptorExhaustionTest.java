package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The demo server in a child JVM limited to a few file descriptors: when accepts fail for want of
 * descriptors it keeps serving its clients, backs off instead of spinning on the ready listener,
 * and accepts the waiting connections once descriptors are free again.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpDescriptorExhaustionTest {
    /** The child's descriptor limit, soft and hard. */
    private static final int NOFILE = 64;
    private static final Duration WELCOME_WAIT = Duration.ofSeconds(2);

    private Process child;
    private final List<LineClient> clients = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (LineClient c : clients) {
            c.close();
        }
        if (child != null) {
            child.destroy();
            if (!child.waitFor(10, TimeUnit.SECONDS)) {
                child.destroyForcibly();
            }
        }
    }

    @Test
    void shouldKeepServingBackOffWithoutSpinningAndRecoverWhenOutOfDescriptors()
            throws Exception {
        int port = startChild();
        long pid = child.pid();

        // Connect until the server cannot accept any more: the kernel completes the handshake
        // (the connection waits in the listen backlog) but no welcome comes.
        List<LineClient> served = new ArrayList<>();
        LineClient firstWaiting = null;
        for (int i = 0; i < NOFILE && firstWaiting == null; i++) {
            LineClient c = connect(port);
            String first = c.poll(WELCOME_WAIT);
            if (first == null) {
                firstWaiting = c;
            } else {
                assertTrue(first.startsWith("* welcome "), first);
                served.add(c);
            }
        }
        assertNotNull(firstWaiting, "the server accepted " + NOFILE + " connections with a limit "
                + "of " + NOFILE + " descriptors");
        assertTrue(served.size() >= 8, "served before exhaustion: " + served.size());
        List<LineClient> waiting = new ArrayList<>(List.of(firstWaiting));
        for (int i = 0; i < 3; i++) {
            waiting.add(connect(port));
        }

        // Existing clients still chat, for about two seconds, while the waiting connections stay
        // pending; meanwhile the child's CPU time shows it is not spinning on the listener.
        LineClient a = served.get(0);
        LineClient b = served.get(served.size() - 1);
        a.send("/nick keeper");
        b.expect(l -> l.endsWith(" is now known as keeper"));
        long cpuBefore = cpuTicks(pid);
        long t0 = System.nanoTime();
        int round = 0;
        while (System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(2_000)) {
            a.send("still chatting " + round);
            b.expectLine("<keeper> still chatting " + round);
            round++;
            Thread.sleep(100); // a chat message every 100 ms during the measurement
        }
        long cpuAfter = cpuTicks(pid);
        double seconds = (System.nanoTime() - t0) / 1e9;
        double share = (cpuAfter - cpuBefore) / (double) clockTicksPerSecond() / seconds;
        System.out.printf("out of descriptors after %d clients; child CPU meanwhile %.1f%% of a "
                + "core%n", served.size(), share * 100);
        assertTrue(share < 0.30, "child used " + Math.round(share * 100) + "% of a core while "
                + "out of descriptors (spinning on accept?)");
        for (LineClient w : waiting) {
            assertNull(w.poll(Duration.ZERO), "not accepted while out of descriptors");
        }

        // Free some descriptors: the waiting connections are accepted (within the longest back-off
        // of one second), and so is a new one.
        int freed = 6;
        for (int i = 1; i <= freed; i++) {
            served.get(i).close();
        }
        for (LineClient w : waiting) {
            w.expect(l -> l.startsWith("* welcome "));
        }
        LineClient fresh = connect(port);
        fresh.expect(l -> l.startsWith("* welcome "));
        a.send("/who");
        String who = a.expect(l -> l.startsWith("* in lobby ("));
        int expected = served.size() - freed + waiting.size() + 1;
        assertEquals("* in lobby (" + expected + ")", who.substring(0, who.indexOf(':')), who);
        assertTrue(child.isAlive());
    }

    private LineClient connect(int port) throws IOException {
        LineClient c = new LineClient(port);
        clients.add(c);
        return c;
    }

    /** Starts {@code Main server --port 0} under {@code prlimit --nofile}; returns its port. */
    private int startChild() throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> jvm = List.of(java, "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", jarredClassPath(), Main.class.getName(), "server",
                "--port", "0");
        List<String> command = new ArrayList<>();
        if (new File("/usr/bin/prlimit").canExecute() || new File("/bin/prlimit").canExecute()) {
            command.add("prlimit");
            command.add("--nofile=" + NOFILE + ":" + NOFILE);
            command.addAll(jvm);
        } else {
            StringBuilder line = new StringBuilder("ulimit -n " + NOFILE + " && exec");
            for (String arg : jvm) {
                line.append(" '").append(arg.replace("'", "'\\''")).append('\'');
            }
            command.addAll(List.of("bash", "-c", line.toString()));
        }
        child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader stdout = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String first = stdout.readLine();
        Matcher m = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) \\(tcp\\)")
                .matcher(String.valueOf(first));
        assertTrue(m.matches(), "first line: " + first);
        assertEquals(String.valueOf(NOFILE), softLimit(child.pid()), "the child's limit");
        return Integer.parseInt(m.group(1));
    }

    /**
     * @return the test's class path with every directory packed into a jar, as users run the
     *         server (from {@code chat-tcp.jar}). A class path of directories opens a file for
     *         every class loaded, so a process out of descriptors cannot load a class it has not
     *         used yet; a jar is opened once and stays open.
     */
    private static String jarredClassPath() throws IOException {
        List<String> entries = new ArrayList<>();
        Path dir = Files.createTempDirectory("chatloop-cp");
        int n = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (!Files.isDirectory(p)) {
                entries.add(entry);
                continue;
            }
            Path jar = dir.resolve("classes-" + n++ + ".jar");
            try (java.util.jar.JarOutputStream out = new java.util.jar.JarOutputStream(
                    Files.newOutputStream(jar)); java.util.stream.Stream<Path> files = Files.walk(p)) {
                for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                    out.putNextEntry(new java.util.jar.JarEntry(
                            p.relativize(f).toString().replace(File.separatorChar, '/')));
                    Files.copy(f, out);
                    out.closeEntry();
                }
            }
            jar.toFile().deleteOnExit();
            entries.add(jar.toString());
        }
        dir.toFile().deleteOnExit();
        return String.join(File.pathSeparator, entries);
    }

    /** @return the soft "Max open files" of a process, from /proc/PID/limits */
    private static String softLimit(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/limits"))) {
            if (line.startsWith("Max open files")) {
                return line.substring("Max open files".length()).trim().split("\\s+")[0];
            }
        }
        return "unknown";
    }

    /** @return user plus system CPU time of a process, in clock ticks, from /proc/PID/stat */
    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        // Fields after the command name, which is in parentheses and may hold spaces: state is
        // field 3, utime field 14 and stime field 15.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
        return Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3]);
    }

    /** @return the kernel's clock ticks per second (USER_HZ), 100 unless getconf says otherwise */
    private static long clockTicksPerSecond() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)
                    .trim();
            if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return Long.parseLong(out);
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100;
    }
}
