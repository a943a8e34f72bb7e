package org.chatloop.bench.report;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Turns JMH's JSON results ({@code -rf json -rff results.json}) into Markdown tables (peers side
 * by side, with the ratio of chatloop to each peer in the same run) and PNG charts (delivered
 * messages per second against subscribers, log scales, one line per peer). TCP fan-out results
 * that carry {@code loopCpuNanosPerDelivery} get a second table per line size: the server threads'
 * CPU time per delivery, with its error, and chatloop's ratio to each peer. UDP fan-out results
 * get a table of their own, after the others: delivered datagrams per second per peer, chatloop's
 * ratio to each, and the share of datagrams each lost.
 *
 * <pre>
 * java -cp chat-bench/target/benchmarks.jar org.chatloop.bench.report.Report results.json OUT_DIR
 * </pre>
 * writes {@code OUT_DIR/results.md} and {@code OUT_DIR/fanout-SIZE.png}.
 */
public final class Report {
    private static final String FANOUT = "org.chatloop.bench.TcpFanOutBenchmark.fanOut";
    private static final String CORE = "org.chatloop.bench.CoreFanOutBenchmark.publish";
    private static final String UDP_FANOUT = "org.chatloop.bench.UdpFanOutBenchmark.fanOut";
    private static final String OURS = "CHATLOOP";

    private Report() {
    }

    /**
     * One measured point of the fan-out benchmark.
     *
     * @param cpuNanosPerDelivery the server threads' CPU nanoseconds per delivery
     *        ({@code loopCpuNanosPerDelivery}; NaN if absent, as in results from before it)
     * @param cpuError its error
     */
    record Point(String peer, int subscribers, int size, double deliveriesPerSecond,
                 double error, double cpuNanosPerDelivery, double cpuError) {
    }

    /**
     * One measured point of the UDP fan-out benchmark.
     *
     * @param datagramsPerSecond delivered datagrams per second ({@code datagrams})
     * @param lost datagrams lost, per iteration ({@code lost}; NaN if absent)
     * @param received datagrams received, per iteration, on the same scale ({@code received})
     */
    record UdpPoint(String peer, int subscribers, int size, double datagramsPerSecond,
                    double error, double lost, double received) {
        /** @return {@code lost / (received + lost)}, NaN if unknown */
        double lossRatio() {
            double total = received + lost;
            return total > 0 ? lost / total : Double.NaN;
        }
    }

    /** One point of the core benchmark. */
    record CorePoint(int members, double nanosPerMessage, double allocBytesPerMessage) {
    }

    /**
     * Entry point.
     *
     * @param args the JMH JSON file and the output folder
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: Report RESULTS.json OUT_DIR");
            System.exit(2);
        }
        Path json = Path.of(args[0]);
        Path outDir = Path.of(args[1]);
        Files.createDirectories(outDir);
        JsonArray results;
        try (Reader r = Files.newBufferedReader(json, StandardCharsets.UTF_8)) {
            results = JsonParser.parseReader(r).getAsJsonArray();
        }
        List<Point> points = fanOutPoints(results);
        List<CorePoint> core = corePoints(results);
        List<UdpPoint> udp = udpPoints(results);
        StringBuilder md = new StringBuilder();
        md.append(fanOutTables(points));
        md.append(coreTable(core));
        md.append(udpTables(udp));
        Files.writeString(outDir.resolve("results.md"), md.toString(), StandardCharsets.UTF_8);
        for (int size : new TreeSet<>(points.stream().map(Point::size).toList())) {
            chart(points, size, outDir.resolve("fanout-" + size + ".png"));
        }
        System.out.print(md);
    }

    static List<Point> fanOutPoints(JsonArray results) {
        List<Point> points = new ArrayList<>();
        for (JsonElement e : results) {
            JsonObject r = e.getAsJsonObject();
            if (!FANOUT.equals(r.get("benchmark").getAsString())) {
                continue;
            }
            JsonObject params = r.getAsJsonObject("params");
            JsonObject secondary = r.getAsJsonObject("secondaryMetrics");
            JsonObject d = secondary == null ? null : secondary.getAsJsonObject("deliveries");
            if (d == null) {
                continue;
            }
            JsonObject cpu = secondary.getAsJsonObject("loopCpuNanosPerDelivery");
            points.add(new Point(params.get("peer").getAsString(),
                    params.get("subscribers").getAsInt(), params.get("size").getAsInt(),
                    d.get("score").getAsDouble(), errorOf(d),
                    cpu == null ? Double.NaN : cpu.get("score").getAsDouble(),
                    cpu == null ? Double.NaN : errorOf(cpu)));
        }
        return points;
    }

    static List<UdpPoint> udpPoints(JsonArray results) {
        List<UdpPoint> points = new ArrayList<>();
        for (JsonElement e : results) {
            JsonObject r = e.getAsJsonObject();
            if (!UDP_FANOUT.equals(r.get("benchmark").getAsString())) {
                continue;
            }
            JsonObject params = r.getAsJsonObject("params");
            JsonObject secondary = r.getAsJsonObject("secondaryMetrics");
            JsonObject d = secondary == null ? null : secondary.getAsJsonObject("datagrams");
            if (d == null) {
                continue;
            }
            points.add(new UdpPoint(params.get("peer").getAsString(),
                    params.get("subscribers").getAsInt(), params.get("size").getAsInt(),
                    d.get("score").getAsDouble(), errorOf(d), scoreOf(secondary, "lost"),
                    scoreOf(secondary, "received")));
        }
        return points;
    }

    private static double scoreOf(JsonObject secondary, String name) {
        JsonObject m = secondary.getAsJsonObject(name);
        return m == null ? Double.NaN : m.get("score").getAsDouble();
    }

    private static double errorOf(JsonObject metric) {
        JsonElement err = metric.get("scoreError");
        if (err == null || !err.isJsonPrimitive()) {
            return Double.NaN;
        }
        try {
            return err.getAsDouble();
        } catch (NumberFormatException ex) {
            return Double.NaN; // "NaN" when there was a single iteration
        }
    }

    static List<CorePoint> corePoints(JsonArray results) {
        List<CorePoint> points = new ArrayList<>();
        for (JsonElement e : results) {
            JsonObject r = e.getAsJsonObject();
            if (!CORE.equals(r.get("benchmark").getAsString())) {
                continue;
            }
            int members = r.getAsJsonObject("params").get("members").getAsInt();
            double nanos = r.getAsJsonObject("primaryMetric").get("score").getAsDouble();
            JsonObject secondary = r.getAsJsonObject("secondaryMetrics");
            double alloc = Double.NaN;
            if (secondary != null && secondary.has("gc.alloc.rate.norm")) {
                alloc = secondary.getAsJsonObject("gc.alloc.rate.norm").get("score").getAsDouble();
            }
            points.add(new CorePoint(members, nanos, alloc));
        }
        return points;
    }

    static String fanOutTables(List<Point> points) {
        StringBuilder md = new StringBuilder();
        List<String> peers = new ArrayList<>();
        for (Point p : points) {
            if (!p.peer().equals(OURS) && !peers.contains(p.peer())) {
                peers.add(p.peer());
            }
        }
        for (int size : new TreeSet<>(points.stream().map(Point::size).toList())) {
            md.append("\nTCP fan-out, ").append(size).append("-byte lines: delivered messages per "
                    + "second (millions), and chatloop's ratio to each peer in the same run\n\n");
            md.append("| subscribers | chatloop |");
            for (String p : peers) {
                md.append(' ').append(label(p)).append(" | vs ").append(label(p)).append(" |");
            }
            md.append("\n|---:|---:|");
            md.append("---:|---:|".repeat(peers.size()));
            md.append('\n');
            Map<Integer, Map<String, Point>> byN = new TreeMap<>();
            for (Point p : points) {
                if (p.size() == size) {
                    byN.computeIfAbsent(p.subscribers(), k -> new LinkedHashMap<>()).put(p.peer(), p);
                }
            }
            for (Map.Entry<Integer, Map<String, Point>> row : byN.entrySet()) {
                Point ours = row.getValue().get(OURS);
                md.append("| ").append(row.getKey()).append(" | ").append(millions(ours)).append(" |");
                for (String peer : peers) {
                    Point p = row.getValue().get(peer);
                    md.append(' ').append(millions(p)).append(" | ").append(ratio(ours, p))
                            .append(" |");
                }
                md.append('\n');
            }
            md.append(cpuTable(size, peers, byN));
        }
        return md.toString();
    }

    /**
     * The server threads' CPU per delivery at one line size, chatloop's ratio to each peer (lower
     * is cheaper); empty if no point has the figure.
     */
    private static String cpuTable(int size, List<String> peers,
                                   Map<Integer, Map<String, Point>> byN) {
        boolean any = byN.values().stream().flatMap(m -> m.values().stream())
                .anyMatch(p -> !Double.isNaN(p.cpuNanosPerDelivery()));
        if (!any) {
            return "";
        }
        StringBuilder md = new StringBuilder();
        md.append("\nTCP fan-out, ").append(size).append("-byte lines: the server threads' CPU "
                + "time per delivery (ns, user + system, all its loop threads), and chatloop's "
                + "ratio to each peer (below 1: chatloop spends less)\n\n");
        md.append("| subscribers | chatloop |");
        for (String p : peers) {
            md.append(' ').append(label(p)).append(" | vs ").append(label(p)).append(" |");
        }
        md.append("\n|---:|---:|");
        md.append("---:|---:|".repeat(peers.size()));
        md.append('\n');
        for (Map.Entry<Integer, Map<String, Point>> row : byN.entrySet()) {
            Point ours = row.getValue().get(OURS);
            md.append("| ").append(row.getKey()).append(" | ").append(cpu(ours)).append(" |");
            for (String peer : peers) {
                Point p = row.getValue().get(peer);
                md.append(' ').append(cpu(p)).append(" | ").append(cpuRatio(ours, p)).append(" |");
            }
            md.append('\n');
        }
        return md.toString();
    }

    private static String cpu(Point p) {
        if (p == null || Double.isNaN(p.cpuNanosPerDelivery())) {
            return "-";
        }
        String error = Double.isNaN(p.cpuError()) ? ""
                : String.format(Locale.ROOT, " ± %.1f", p.cpuError());
        return String.format(Locale.ROOT, "%.1f", p.cpuNanosPerDelivery()) + error;
    }

    private static String cpuRatio(Point ours, Point other) {
        if (ours == null || other == null || !(other.cpuNanosPerDelivery() > 0)
                || Double.isNaN(ours.cpuNanosPerDelivery())) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2fx", ours.cpuNanosPerDelivery()
                / other.cpuNanosPerDelivery());
    }

    static String udpTables(List<UdpPoint> points) {
        if (points.isEmpty()) {
            return "";
        }
        StringBuilder md = new StringBuilder();
        List<String> peers = new ArrayList<>();
        for (UdpPoint p : points) {
            if (!p.peer().equals(OURS) && !peers.contains(p.peer())) {
                peers.add(p.peer());
            }
        }
        for (int size : new TreeSet<>(points.stream().map(UdpPoint::size).toList())) {
            md.append("\nUDP fan-out, ").append(size).append("-byte datagrams: delivered datagrams "
                    + "per second (millions), chatloop's ratio to each peer in the same run, and "
                    + "the share of datagrams each lost (lost / (delivered + lost))\n\n");
            md.append("| subscribers | chatloop | chatloop loss |");
            for (String p : peers) {
                md.append(' ').append(label(p)).append(" | vs ").append(label(p)).append(" | ")
                        .append(label(p)).append(" loss |");
            }
            md.append("\n|---:|---:|---:|");
            md.append("---:|---:|---:|".repeat(peers.size()));
            md.append('\n');
            Map<Integer, Map<String, UdpPoint>> byN = new TreeMap<>();
            for (UdpPoint p : points) {
                if (p.size() == size) {
                    byN.computeIfAbsent(p.subscribers(), k -> new LinkedHashMap<>()).put(p.peer(), p);
                }
            }
            for (Map.Entry<Integer, Map<String, UdpPoint>> row : byN.entrySet()) {
                UdpPoint ours = row.getValue().get(OURS);
                md.append("| ").append(row.getKey()).append(" | ").append(millions(ours))
                        .append(" | ").append(loss(ours)).append(" |");
                for (String peer : peers) {
                    UdpPoint p = row.getValue().get(peer);
                    md.append(' ').append(millions(p)).append(" | ").append(ratio(ours, p))
                            .append(" | ").append(loss(p)).append(" |");
                }
                md.append('\n');
            }
        }
        return md.toString();
    }

    private static String millions(UdpPoint p) {
        return p == null ? "-" : String.format(Locale.ROOT, "%.3f", p.datagramsPerSecond() / 1e6);
    }

    private static String ratio(UdpPoint ours, UdpPoint other) {
        if (ours == null || other == null || other.datagramsPerSecond() <= 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2fx", ours.datagramsPerSecond()
                / other.datagramsPerSecond());
    }

    private static String loss(UdpPoint p) {
        if (p == null || Double.isNaN(p.lossRatio())) {
            return "-";
        }
        double percent = 100 * p.lossRatio();
        if (p.lost() == 0) {
            return "0%";
        }
        if (percent < 0.01) {
            return "<0.01%";
        }
        return String.format(Locale.ROOT, "%.2f%%", percent);
    }

    private static String label(String peer) {
        return switch (peer) {
            case "NETTY_IDIOMATIC" -> "Netty idiomatic";
            case "NETTY_TUNED_NIO" -> "Netty tuned NIO";
            case "NETTY_TUNED_EPOLL" -> "Netty tuned epoll";
            case "THREAD_PER_CLIENT" -> "thread per client";
            case "FLOOR" -> "floor";
            case "NETTY_NIO" -> "Netty NIO";
            case "BLOCKING_THREAD" -> "blocking thread";
            case "CHATLOOP_VALIDATING" -> "chatloop, address validation on";
            case "CHATLOOP_2_LOOPS" -> "chatloop, 2 loops";
            default -> peer.toLowerCase(Locale.ROOT);
        };
    }

    private static String millions(Point p) {
        return p == null ? "-" : String.format(Locale.ROOT, "%.3f", p.deliveriesPerSecond() / 1e6);
    }

    private static String ratio(Point ours, Point other) {
        if (ours == null || other == null || other.deliveriesPerSecond() <= 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2fx", ours.deliveriesPerSecond()
                / other.deliveriesPerSecond());
    }

    static String coreTable(List<CorePoint> core) {
        if (core.isEmpty()) {
            return "";
        }
        StringBuilder md = new StringBuilder("\nchat-core alone (no sockets): one published line "
                + "fanned out to N members. Allocation is per message; the last column is what "
                + "each member beyond the first adds (zero means no allocation per delivery)\n\n"
                + "| members | ns per message | ns per delivery | bytes allocated per message | "
                + "bytes per extra member |\n|---:|---:|---:|---:|---:|\n");
        core.sort((a, b) -> Integer.compare(a.members(), b.members()));
        CorePoint base = core.get(0);
        for (CorePoint c : core) {
            String extra = c == base ? "-" : String.format(Locale.ROOT, "%.4f",
                    (c.allocBytesPerMessage() - base.allocBytesPerMessage())
                            / (c.members() - base.members()));
            md.append(String.format(Locale.ROOT, "| %d | %.0f | %.1f | %.0f | %s |%n",
                    c.members(), c.nanosPerMessage(), c.nanosPerMessage() / c.members(),
                    c.allocBytesPerMessage(), extra));
        }
        return md.toString();
    }

    /**
     * A log axis over a single value (one room size, or a single point) has no range of its own,
     * and JFreeChart refuses it: give it a decade either side.
     */
    private static void widenIfFlat(LogAxis axis, double lo, double hi) {
        if (lo == hi && lo > 0) {
            axis.setAutoRange(false);
            axis.setRange(lo / 10, hi * 10);
        }
    }

    static void chart(List<Point> points, int size, Path png) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        Map<String, XYSeries> series = new LinkedHashMap<>();
        for (Point p : points) {
            if (p.size() == size && p.deliveriesPerSecond() > 0) {
                series.computeIfAbsent(p.peer(), k -> new XYSeries(label(k)))
                        .add(p.subscribers(), p.deliveriesPerSecond());
            }
        }
        series.values().forEach(data::addSeries);
        JFreeChart chart = ChartFactory.createXYLineChart(
                "TCP fan-out, " + size + "-byte lines (loopback, one server thread)",
                "subscribers", "delivered messages per second", data, PlotOrientation.VERTICAL,
                true, false, false);
        XYPlot plot = chart.getXYPlot();
        LogAxis x = new LogAxis("subscribers");
        x.setBase(10);
        x.setTickUnit(new NumberTickUnit(1)); // one tick per power of ten
        x.setNumberFormatOverride(new DecimalFormat("#,##0"));
        LogAxis y = new LogAxis("delivered messages per second");
        y.setBase(10);
        y.setTickUnit(new NumberTickUnit(1));
        y.setNumberFormatOverride(new DecimalFormat("#,##0"));
        if (data.getSeriesCount() > 0) {
            widenIfFlat(x, data.getDomainLowerBound(false), data.getDomainUpperBound(false));
            widenIfFlat(y, data.getRangeLowerBound(false), data.getRangeUpperBound(false));
        }
        plot.setDomainAxis(x);
        plot.setRangeAxis(y);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        Color[] colors = {new Color(0xD62728), new Color(0x1F77B4), new Color(0x2CA02C),
            new Color(0x9467BD), new Color(0x8C564B), new Color(0x7F7F7F), new Color(0xFF7F0E)};
        for (int i = 0; i < data.getSeriesCount(); i++) {
            renderer.setSeriesStroke(i, new BasicStroke(i == 0 ? 3f : 1.5f));
            renderer.setSeriesPaint(i, colors[i % colors.length]);
        }
        plot.setRenderer(renderer);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 560);
    }
}
