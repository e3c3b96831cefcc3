#!/usr/bin/env bash
# The whole test suite: build once, then run it on Node 20 (this machine), 22 and 24
# (binaries from the node22/node24 dev dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build:test
status=0
for node in node node_modules/node22/bin/node node_modules/node24/bin/node; do
  echo "=== tests on Node $("$node" -v)"
  "$node" node_modules/mocha/bin/mocha.js --config .mocharc.cjs "$@" || status=1
done
exit $status
