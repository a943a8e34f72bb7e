package org.chatloop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.stream.Stream;
import org.chatloop.core.HubOptions;
import org.chatloop.tcp.TcpServerOptions;
import org.chatloop.tcp.WebSocketOptions;
import org.chatloop.udp.UdpServerOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.TimeoutException;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The chat page in a real browser: headless Chromium (Debian's {@code chromium} and
 * {@code chromium-driver}, driven by Selenium) against a {@link ChatServer} with TCP, UDP and HTTP,
 * a TCP and a UDP client in the same room. Chromium and chromedriver are used from
 * {@code /usr/bin} explicitly, so Selenium Manager never looks for (or downloads) a browser or a
 * driver; without them the test is <b>skipped</b>. Leaves a desktop-sized screenshot of the page
 * in {@code docs/chat-page.png}.
 */
class BrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Duration WAIT = Duration.ofSeconds(10);
    private static final String WELCOME_TAIL = InteropPeers.WELCOME_TAIL;
    /** Every line on the page: its class, a tab, its text (the exact wire text). */
    private static final String LINES_JS = "return Array.from(document.querySelectorAll("
            + "'#messages .line')).map(function (d) { return d.className + '\\t' + d.textContent; });";

    /**
     * Selenium warns that it has no CDP classes for this Chromium's version; nothing here uses
     * CDP. Held strongly, or the logger (and its level) could be collected.
     */
    private static final java.util.logging.Logger CDP_LOG =
            java.util.logging.Logger.getLogger("org.openqa.selenium.devtools");

    static {
        CDP_LOG.setLevel(Level.SEVERE);
    }

    private ChatServer server;
    private ChromeDriver driver;
    private ChromeDriverService service;
    private Path profile;
    private InteropPeers.Tcp tcp;
    private InteropPeers.Udp udp;

    @AfterEach
    void tearDown() throws Exception {
        InteropPeers.closeAll(driver == null ? null : driver::quit,
                service == null ? null : service::stop, tcp, udp, server,
                profile == null ? null : () -> deleteTree(profile));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void chatPageTalksWithTcpAndUdpClients() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "chromium and chromium-driver are not installed: apt-get install chromium "
                        + "chromium-driver; .ci/run installs them (looked for " + CHROMIUM
                        + " and " + CHROMEDRIVER + ")");
        server = ChatServer.start(new ChatServerOptions(TcpServerOptions.defaults().withPort(0),
                UdpServerOptions.defaults().withPort(0)
                        .withHeartbeatTimeout(Duration.ofSeconds(60)),
                TcpServerOptions.defaults().withPort(0), WebSocketOptions.defaults(),
                HubOptions.defaults()));

        tcp = new InteropPeers.Tcp(server.tcpAddress().orElseThrow());
        String tcpName = tcp.awaitWelcome();
        tcp.send("/nick tcp");
        tcp.lines.expectLine("* " + tcpName + " is now known as tcp");

        driver = startChromium();
        driver.get("http://127.0.0.1:" + server.httpAddress().orElseThrow().getPort() + "/");
        WebDriverWait wait = new WebDriverWait(driver, WAIT, Duration.ofMillis(50));
        WebElement status = driver.findElement(By.id("status"));
        WebElement nick = driver.findElement(By.id("nick"));
        until(wait, "#status reads connected and #nick is set",
                () -> "connected".equals(status.getText()) && !nick.getText().isEmpty());
        assertEquals("connected", status.getDomAttribute("class"), "#status class");
        String browserName = nick.getText();
        assertTrue(browserName.matches("127\\.0\\.0\\.1:\\d+"),
                "the browser's first name is its address: " + browserName);
        assertEquals("lobby", driver.findElement(By.id("room")).getText(), "#room");
        awaitLine(wait, "line notice", "* welcome " + browserName + WELCOME_TAIL);
        tcp.lines.expectLine("* " + browserName + " joined lobby");

        WebElement input = driver.findElement(By.id("input"));
        WebElement send = driver.findElement(By.id("send"));
        assertTrue(send.isEnabled(), "#send is enabled once connected");
        input.sendKeys("/nick web");
        send.click();
        until(wait, "#nick reads web", () -> "web".equals(nick.getText()));
        assertEquals("", input.getDomProperty("value"), "#input is cleared after sending");
        tcp.lines.expectLine("* " + browserName + " is now known as web");
        awaitLine(wait, "line notice", "* " + browserName + " is now known as web");

        input.sendKeys("hello from chromium");
        send.click();
        tcp.lines.expectLine("<web> hello from chromium");
        awaitLine(wait, "line message own", "<web> hello from chromium");

        udp = new InteropPeers.Udp(server.udpAddress().orElseThrow());
        String udpName = udp.join();
        awaitLine(wait, "line notice", "* " + udpName + " joined lobby");
        udp.send("/nick udp");
        udp.lines.expectLine("* " + udpName + " is now known as udp");
        udp.send("hello from udp");
        udp.lines.expectLine("<udp> hello from udp");
        tcp.lines.expectLine("<udp> hello from udp");
        awaitLine(wait, "line message", "<udp> hello from udp");

        tcp.send("<b>not bold</b>");
        tcp.lines.expectLine("<tcp> <b>not bold</b>");
        udp.lines.expectLine("<tcp> <b>not bold</b>");
        awaitLine(wait, "line message", "<tcp> <b>not bold</b>");
        WebElement htmlLine = lastLineWithText("<tcp> <b>not bold</b>");
        assertTrue(htmlLine.getText().contains("<b>not bold</b>"),
                "the markup is shown as text: " + htmlLine.getText());
        assertEquals(List.of(), htmlLine.findElements(By.tagName("b")),
                "a <b> element was made from a chat line");
        assertEquals(List.of(), driver.findElements(By.cssSelector("#messages b")),
                "no <b> element anywhere in #messages");

        // A second line the other way, so the shot shows both directions.
        tcp.send("welcome, web and udp");
        awaitLine(wait, "line message", "<tcp> welcome, web and udp");
        Path shot = screenshot();
        assertTrue(Files.size(shot) > 10_000, "the screenshot is suspiciously small: " + shot);

        List<String> severe = new ArrayList<>();
        for (LogEntry e : browserLog()) {
            if (e.getLevel().intValue() >= Level.SEVERE.intValue()) {
                severe.add(e.getMessage());
            }
        }
        assertEquals(List.of(), severe, "errors in the browser console");
    }

    private ChromeDriver startChromium() throws IOException {
        Path target = Path.of("target").toAbsolutePath();
        Files.createDirectories(target);
        profile = Files.createTempDirectory(target, "chromium-profile-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-default-browser-check", "--disable-extensions", "--lang=en-US",
                "--user-data-dir=" + profile, "--window-size=1100,760");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .withLogFile(target.resolve("chromedriver.log").toFile())
                .build();
        ChromeDriver d = new ChromeDriver(service, options);
        d.manage().timeouts().pageLoadTimeout(WAIT).scriptTimeout(WAIT);
        // The window is 1100x760; grow it by what the browser's own frame takes, so that the
        // page itself (and the screenshot) is 1100x760, a desktop shot.
        d.manage().window().setSize(new Dimension(1100, 760));
        Object inner = d.executeScript("return [window.innerWidth, window.innerHeight];");
        if (inner instanceof List<?> wh && wh.size() == 2 && wh.get(0) instanceof Number w
                && wh.get(1) instanceof Number h && (w.intValue() < 1100 || h.intValue() < 760)) {
            d.manage().window().setSize(new Dimension(1100 + (1100 - w.intValue()),
                    760 + (760 - h.intValue())));
        }
        return d;
    }

    /** Waits for {@code condition}, failing with what the page shows. */
    private void until(WebDriverWait wait, String what, BooleanSupplier condition) {
        try {
            wait.until(d -> condition.getAsBoolean());
        } catch (TimeoutException e) {
            throw new AssertionError("not within " + WAIT + ": " + what + "; " + describe());
        }
    }

    /** Waits until a line of exactly this class list and text is on the page. */
    private void awaitLine(WebDriverWait wait, String cls, String text) {
        String want = cls + "\t" + text;
        try {
            wait.until(d -> lines().contains(want));
        } catch (TimeoutException e) {
            throw new AssertionError("no line class=\"" + cls + "\" text=\"" + text
                    + "\" on the page within " + WAIT + "; " + describe());
        }
    }

    @SuppressWarnings("unchecked")
    private List<String> lines() {
        Object got = ((JavascriptExecutor) driver).executeScript(LINES_JS);
        return got instanceof List<?> l ? (List<String>) l : List.of();
    }

    private WebElement lastLineWithText(String text) {
        List<WebElement> all = driver.findElements(By.cssSelector("#messages .line"));
        for (int i = all.size() - 1; i >= 0; i--) {
            if (text.equals(all.get(i).getDomProperty("textContent"))) {
                return all.get(i);
            }
        }
        throw new AssertionError("no line \"" + text + "\"; " + describe());
    }

    /** @return what the page shows, for a failure message */
    private String describe() {
        try {
            return "#status=" + driver.findElement(By.id("status")).getText() + ", #nick="
                    + driver.findElement(By.id("nick")).getText() + ", lines=" + lines()
                    + ", console=" + browserLog().stream().map(LogEntry::toString).toList();
        } catch (WebDriverException e) {
            return "(page not readable: " + e.getMessage() + ")";
        }
    }

    private List<LogEntry> browserLog() {
        try {
            return driver.manage().logs().get(LogType.BROWSER).getAll();
        } catch (WebDriverException | UnsupportedOperationException e) {
            return List.of(); // this driver keeps no console log: nothing to check
        }
    }

    /** Saves the page as {@code docs/chat-page.png} at the project's root. */
    private Path screenshot() throws IOException {
        Path module = Path.of("").toAbsolutePath();
        Path root = Files.isRegularFile(module.resolve("../pom.xml")) ? module.getParent() : module;
        Path docs = root.resolve("docs");
        Files.createDirectories(docs);
        Path shot = docs.resolve("chat-page.png");
        Files.write(shot, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
        return shot;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // Chromium may still be writing into its profile as it exits; target/ is scratch
        }
    }
}
