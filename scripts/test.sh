#!/usr/bin/env bash
# The whole test suite: build once, then run it on this machine's Node (20), 22 and 24,
# and close with one line of totals over the runs. The tests whose subject does not
# depend on the Node version (the soak run, the real-Prometheus and fleet end-to-end runs,
# the promtool rule tests, the demo) run once, on the newest Node, and so do the tests of
# the Redis clients' older majors (ioredis 5, node-redis 4: test/compat/modules.ts
# olderRedisMajors): the same assertions three times would only add minutes to CI.
#
# Two lanes run side by side, each a sequence of mocha processes, balanced to take about
# as long (4 minutes per run): Node 20 then 22; the newest Node, then the run-once tests
# on it. Most of a run's time is spent waiting (servers, child processes, timers), so two
# lanes on two cores finish in little more than one lane's time. Every run starts its own
# servers on free ports and its own temporary directories: the lanes share nothing.
# A lane's output is printed whole when both are done, so the log reads run by run.
set -euo pipefail
cd "$(dirname "$0")/.."
# Other majors of the clients (redis 4, ioredis 5, undici 6 and 8) for the compatibility tests,
# and the OpenTelemetry SDK lines an application brings (test/register/existing-otel.test.ts):
# each set's package.json and lockfile live in test/compat/<set>, and the set is installed
# under node_modules/.breakwater-compat/<set> (test/compat/modules.ts), with the project's
# other third-party code rather than inside the test tree; Node 22 and 24 fetched meanwhile.
installs=()
for set in older newer otel-sdk2 otel-sdk3; do
  dest=node_modules/.breakwater-compat/$set
  # Reinstalled when its lockfile changed since the last install.
  if [ ! -d "$dest/node_modules" ] || ! cmp -s "test/compat/$set/package-lock.json" "$dest/package-lock.json"; then
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "test/compat/$set/package.json" "test/compat/$set/package-lock.json" "$dest/"
    npm ci --prefix "$dest" --no-audit --no-fund --loglevel=error &
    installs+=($!)
  fi
done
bash scripts/node-versions.sh > /dev/null &
installs+=($!)
npm run --silent build:test
for pid in "${installs[@]}"; do wait "$pid"; done
mapfile -t nodes < <(bash scripts/node-versions.sh)
newest=${nodes[-1]}
ONCE=(build/test/soak build/test/e2e build/test/collector build/test/examples)
without_once=()
for dir in "${ONCE[@]}"; do without_once+=(--ignore "$dir/**"); done
only_once=$(printf '%s/**/*.test.js,' "${ONCE[@]}")
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# run <log> <title> <node> <older Redis majors 0|1> <mocha arguments...>
run() {
  local log=$1 title=$2 node=$3 older=$4
  shift 4
  {
    echo "=== tests on Node $("$node" -v): $title"
    TEST_OLDER_REDIS_MAJORS=$older "$node" node_modules/mocha/bin/mocha.js --config .mocharc.cjs "$@" 2>&1 || echo "=== mocha exited $?"
  } > "$log"
  echo "--- done: Node $("$node" -v), $title ($(grep -Eo '^ +[0-9]+ (passing|failing)' "$log" | xargs echo))" >&2
}

lane_older() {
  for i in "${!nodes[@]}"; do
    [ "$i" -lt $(( ${#nodes[@]} - 1 )) ] || continue
    run "$logs/1-$i" "without ${ONCE[*]} and the older Redis client majors (they run on the newest Node)" "${nodes[$i]}" 0 "${without_once[@]}" "$@"
  done
}
lane_newest() {
  run "$logs/2-a" "without ${ONCE[*]}" "$newest" 1 "${without_once[@]}" "$@"
  TEST_SPEC=${only_once%,} run "$logs/2-b" "${ONCE[*]} only" "$newest" 0 "$@"
}
lane_older "$@" &
older_pid=$!
lane_newest "$@" &
newest_pid=$!
wait "$older_pid" || true
wait "$newest_pid" || true

status=0 passed=0 failed=0 runs=0
for log in "$logs"/*; do
  cat "$log"
  runs=$((runs + 1))
  p=$(grep -Eo '^ +[0-9]+ passing' "$log" | grep -Eo '[0-9]+' || echo 0)
  f=$(grep -Eo '^ +[0-9]+ failing' "$log" | grep -Eo '[0-9]+' || echo 0)
  [ "$p" -gt 0 ] || status=1  # a run that executed no test is a failure
  [ "$f" -eq 0 ] || status=1
  ! grep -q '^=== mocha exited' "$log" || status=1
  passed=$((passed + p)) failed=$((failed + f))
done
[ "$runs" -eq $(( ${#nodes[@]} + 1 )) ] || status=1  # every run left its log
echo "tests: $passed passed, $failed failed"
exit $status
