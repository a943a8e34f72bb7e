#!/usr/bin/env bash
# The connection storm of storm.sh against Redis pub/sub, with the same load generator: starts a
# redis-server of its own on a free loopback port (Debian's redis-server: apt-get install
# redis-server), N subscribers, M publishes, then stops it. By hand, not in CI.
# Usage: storm-redis.sh [N] [M]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
m=${2:-100}
ulimit -n "$(( n + 1024 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$dir" \
    --maxclients "$(( n + 100 ))" --client-output-buffer-limit 'pubsub 0 0 0' --daemonize no \
    > "$dir/redis.log" 2>&1 &
redis=$!
trap 'kill "$redis" 2>/dev/null; wait "$redis" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
done
redis-server --version
java -Xms2g -Xmx2g -cp chat-bench/target/benchmarks.jar org.chatloop.bench.RedisStormProbe "$port" "$n" "$m"
