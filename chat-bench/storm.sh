#!/usr/bin/env bash
# Connection storm: N TCP connections into one lobby on one chatloop server, then M broadcasts to
# all of them. Prints connect time, heap, descriptors and delivery rate. Bounded (the client side
# gives up after two minutes). Run by hand or nightly, not in CI. Usage: storm.sh [N] [M] [burst|paced] [ANNOUNCE_LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
m=${2:-100}
mode=${3:-burst}
limit=${4:-100}
# Each side of the storm is its own process and needs N descriptors plus some.
ulimit -n "$(( n + 1024 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
java -Xms2g -Xmx2g -cp chat-bench/target/benchmarks.jar org.chatloop.bench.StormProbe "$n" "$m" "$mode" "$limit"
