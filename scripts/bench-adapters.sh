#!/usr/bin/env bash
# npm run bench:adapters: the adapter benchmark (bench/adapters/run.ts) once per Node
# (this machine's, 22 and 24), printing Markdown for BENCHMARKS.md. Arguments pick
# clients (http fetch pg ioredis redis); BENCH_WARMUP, BENCH_CALLS and BENCH_ROUNDS
# shorten a run (defaults 5000, 20000, 5).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
npm run --silent build:test
mapfile -t nodes < <(bash scripts/node-versions.sh)
bench_header bench:adapters "$@"
bench_each_node build/bench/adapters/run.js "$@"
