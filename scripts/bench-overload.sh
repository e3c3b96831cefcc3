#!/usr/bin/env bash
# npm run bench:overload: overload protection (bench/overload/run.ts), printing Markdown
# for BENCHMARKS.md and writing bench/results/overload-<dependency>.png. Arguments pick
# parts (http pg rate). At its defaults it takes about 10 minutes (offered load at a
# constant rate cannot be hurried), so it runs on this machine's Node only.
# BENCH_WARMUP_SECONDS, BENCH_SECONDS and BENCH_RATE_SECONDS change the run (defaults
# 4, 10, 10); BREAKWATER_* variables pass through to every variant.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
npm run --silent build:test
nodes=("${npm_node_execPath:-$(command -v node)}")
bench_header bench:overload "$@"
bench_each_node build/bench/overload/run.js "$@"
