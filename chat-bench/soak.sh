#!/usr/bin/env bash
# Mixed soak of one chatloop TCP server (readers checking every line, churn with quit/EOF/reset,
# floods, never-reading clients), then heap/threads/descriptors against the start. Bounded: it stops
# after SECONDS (default 600). Run by hand or nightly, not in CI. Usage: soak.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
java -Xms1g -Xmx1g -cp chat-bench/target/benchmarks.jar org.chatloop.bench.SoakProbe "${1:-600}"
