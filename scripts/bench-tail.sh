#!/usr/bin/env bash
# npm run bench:tail: tail latency with hedging (bench/tail/run.ts), printing Markdown
# for BENCHMARKS.md and writing bench/results/tail-<client>.png. Arguments pick clients
# (http pg). At its defaults one Node takes about 18 minutes (a constant rate cannot be
# hurried), so it runs on this machine's Node only; BENCH_ALL_NODES=1 adds Node 22 and
# 24, whose charts replace the earlier ones. BENCH_WARMUP, BENCH_CALLS, BENCH_ROUNDS and
# BENCH_RATE change the run (defaults 1000, 10000, 3, 200 calls/s).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
npm run --silent build:test
bench_nodes
bench_header bench:tail "$@"
bench_each_node build/bench/tail/run.js "$@"
