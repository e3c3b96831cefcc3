#!/usr/bin/env bash
# npm run bench: the benchmark on Node 22 and 24 (cockatiel 4 and opossum 10, the peers
# compared against, need Node 22+), printing Markdown for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build:test
mapfile -t nodes < <(bash scripts/node-versions.sh)
echo "Command: npm run bench ($(date -u +%Y-%m-%d), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB)"
echo
for node in "${nodes[@]:1}"; do
  "$node" build/bench/run.js
  echo
done
