#!/usr/bin/env bash
# The whole test suite: build once, then run it on this machine's Node (20), 22 and 24,
# and close with one line of totals over the three runs. The tests whose subject does not
# depend on the Node version (the soak run, the real-Prometheus end-to-end run, the
# promtool rule tests, the demo) run once, on the newest Node, and so do the tests of the
# Redis clients' older majors (ioredis 5, node-redis 4: test/compat/modules.ts
# olderRedisMajors): the same assertions three times would only add minutes to CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# Other majors of the clients (redis 4, ioredis 5, undici 6 and 8) for the compatibility tests,
# and the OpenTelemetry SDK lines an application brings (test/register/existing-otel.test.ts):
# installed beside the build (each set in its own folder), and Node 22 and 24 fetched meanwhile.
installs=()
for set in test/compat/older test/compat/newer test/compat/otel-sdk2 test/compat/otel-sdk3; do
  if [ ! -d "$set/node_modules" ]; then
    npm ci --prefix "$set" --no-audit --no-fund --loglevel=error &
    installs+=($!)
  fi
done
bash scripts/node-versions.sh > /dev/null &
installs+=($!)
npm run --silent build:test
for pid in "${installs[@]}"; do wait "$pid"; done
mapfile -t nodes < <(bash scripts/node-versions.sh)
status=0 passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ONCE=(build/test/soak build/test/e2e build/test/collector build/test/examples)
last=$(( ${#nodes[@]} - 1 ))
for i in "${!nodes[@]}"; do
  node=${nodes[$i]}
  ignore=()
  older_redis=1
  if [ "$i" -ne "$last" ]; then
    for dir in "${ONCE[@]}"; do ignore+=(--ignore "$dir/**"); done
    older_redis=0  # ioredis 5 and node-redis 4 beside the project's own: on the last Node only
  fi
  echo "=== tests on Node $("$node" -v)${ignore:+ (without ${ONCE[*]} and the older Redis client majors: they run on the last Node)}"
  TEST_OLDER_REDIS_MAJORS=$older_redis "$node" node_modules/mocha/bin/mocha.js --config .mocharc.cjs "${ignore[@]}" "$@" 2>&1 | tee "$log" || status=1
  p=$(grep -Eo '^ +[0-9]+ passing' "$log" | grep -Eo '[0-9]+' || echo 0)
  f=$(grep -Eo '^ +[0-9]+ failing' "$log" | grep -Eo '[0-9]+' || echo 0)
  [ "$p" -gt 0 ] || status=1  # a run that executed no test is a failure
  passed=$((passed + p)) failed=$((failed + f))
done
echo "tests: $passed passed, $failed failed"
exit $status
