#!/usr/bin/env bash
# npm run bench:adapters: the adapter benchmark (bench/adapters/run.ts) once per Node
# (this machine's, 22 and 24), printing Markdown for BENCHMARKS.md. Arguments pick
# clients (http fetch pg ioredis redis); BENCH_WARMUP, BENCH_CALLS and BENCH_ROUNDS
# shorten a run (defaults 5000, 20000, 5).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build:test
mapfile -t nodes < <(bash scripts/node-versions.sh)
started=$SECONDS
model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "Command: \`npm run bench:adapters${*:+ -- $*}\`, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: ${model:-unknown CPU}, $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r)"
echo
for node in "${nodes[@]}"; do
  "$node" build/bench/adapters/run.js "$@"
  echo
done
elapsed=$((SECONDS - started))
echo "Elapsed (all Node versions, build excluded): $((elapsed / 60)) min $((elapsed % 60)) s"
