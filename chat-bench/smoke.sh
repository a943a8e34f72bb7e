#!/usr/bin/env bash
# Runs every benchmark once in smoke mode (one fork, no warm-up, one short iteration) so that none
# can rot. It checks that each benchmark runs and that its no-loss checks hold (a fan-out run with a
# lost, repeated or reordered message throws, and -foe turns that into a failure); it asserts no
# speed. Needs chat-bench/target/benchmarks.jar (mvn -q -DskipTests package).
set -euo pipefail
cd "$(dirname "$0")/.."
jar=chat-bench/target/benchmarks.jar
out=$(mktemp -d)
java -jar "$jar" -f 1 -wi 0 -i 1 -r 1s -foe true -e 'Tls' -e 'WebSocket' -e 'Cluster' -rf json \
    -rff "$out/smoke.json"
# The TLS benchmarks on a small parameter set (every case makes its clients handshake first).
java -jar "$jar" 'Tls' -f 1 -wi 0 -i 1 -r 1s -foe true -p subscribers=10 -p size=64 \
    -rf json -rff "$out/smoke-tls.json"
# The WebSocket fan-out on one room size and line size (every client upgrades first).
java -jar "$jar" 'WebSocketFanOutBenchmark' -f 1 -wi 0 -i 1 -r 1s -foe true -p subscribers=10 \
    -p size=64 -rf json -rff "$out/smoke-ws.json"
# chatloop on two loops (not among the default peers): one small room that spans both loops.
java -jar "$jar" 'TcpFanOutBenchmark' -f 1 -wi 0 -i 1 -r 1s -foe true -p peer=CHATLOOP_2_LOOPS \
    -p subscribers=10 -p size=64 -rf json -rff "$out/smoke-loops.json"
# The cluster fan-out (servers joined over a Redis it starts) on one small room: a single node
# beside two nodes, the subscribers split across them.
java -jar "$jar" 'ClusterFanOutBenchmark' -f 1 -wi 0 -i 1 -r 1s -foe true -p subscribers=100 \
    -p size=64 -p peer=SINGLE_NODE,TWO_NODES -rf json -rff "$out/smoke-cluster.json"
# Two nodes publish each message to Redis exactly once (PUBLISH calls per message, INFO commandstats).
publishes=$(grep -A1 '"redisPublishesPerMessage"' "$out/smoke-cluster.json" | grep '"score"' \
    | grep -v NaN || true)
if [ -z "$publishes" ] || ! awk '{ v = $3 + 0; if (v < 0.99 || v > 1.01) exit 1 }' <<< "$publishes"; then
    echo "two nodes did not make one Redis PUBLISH per message: $publishes" >&2
    exit 1
fi
java -cp "$jar" org.chatloop.bench.report.Report "$out/smoke.json" "$out" > /dev/null
java -cp "$jar" org.chatloop.bench.report.Report "$out/smoke-loops.json" "$out/loops" > /dev/null
# Every TCP fan-out point reports its server's CPU per delivery as a number (not NaN).
for f in "$out/smoke.json" "$out/smoke-loops.json"; do
    scores=$(grep -A1 '"loopCpuNanosPerDelivery"' "$f" | grep '"score"' || true)
    if [ -z "$scores" ] || grep -qv '"score" : [0-9]' <<< "$scores"; then
        echo "a TCP fan-out point has no server CPU per delivery in $f" >&2
        exit 1
    fi
done
java -cp "$jar" org.chatloop.bench.LatencyProbe --seconds 1 --warmup 0 --rate 2000 --subscribers 10
java -cp "$jar" org.chatloop.bench.LatencyProbe --seconds 1 --warmup 0 --rate 1000 --subscribers 10 \
    SINGLE_NODE TWO_NODES
java -Xmx512m -cp "$jar" org.chatloop.bench.IdleMemoryProbe 200
echo "benchmark smoke run passed (reports in $out)"
