#!/usr/bin/env bash
# The whole test suite: build once, then run it on this machine's Node (20), 22 and 24.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build:test
mapfile -t nodes < <(bash scripts/node-versions.sh)
status=0
for node in "${nodes[@]}"; do
  echo "=== tests on Node $("$node" -v)"
  "$node" node_modules/mocha/bin/mocha.js --config .mocharc.cjs "$@" || status=1
done
exit $status
