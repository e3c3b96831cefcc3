#!/usr/bin/env bash
# npm run bench:fleet: fleet mode's cost (bench/fleet/run.ts) against a redis-server on
# loopback, printing Markdown for BENCHMARKS.md: per-call time in local mode, in fleet
# mode with Redis healthy and with Redis unreachable, and Redis operations per instance
# per second at fixed call rates. About 2 minutes on this machine's Node; BENCH_ALL_NODES=1
# adds Node 22 and 24. BENCH_WARMUP, BENCH_CALLS, BENCH_ROUNDS and BENCH_SECONDS change
# the run (defaults 5000, 200000, 5, 10).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
npm run --silent build:test
bench_nodes
bench_header bench:fleet "$@"
bench_each_node build/bench/fleet/run.js "$@"
