# Sourced by the benchmark scripts: the lines every benchmark report starts with, and
# the run of one harness on each Node in the `nodes` array with the time it took.

# bench_header NAME ARGS...: the command (npm run NAME with ARGS), the date and the machine.
bench_header() {
  local name=$1
  shift
  local model
  model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
  echo "Command: \`npm run $name${*:+ -- $*}\`, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: ${model:-unknown CPU}, $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r)"
  echo
}

# bench_each_node SCRIPT ARGS...: SCRIPT with ARGS on every Node of "${nodes[@]}", then the elapsed time.
bench_each_node() {
  local started=$SECONDS node
  for node in "${nodes[@]}"; do
    "$node" "$@"
    echo
  done
  local elapsed=$((SECONDS - started))
  echo "Elapsed (all Node versions, build excluded): $((elapsed / 60)) min $((elapsed % 60)) s"
}

# bench_nodes: the `nodes` array for a long benchmark: this machine's Node only, or with
# BENCH_ALL_NODES=1 Node 22 and 24 too.
bench_nodes() {
  if [ "${BENCH_ALL_NODES:-}" = 1 ]; then
    mapfile -t nodes < <(bash scripts/node-versions.sh)
  else
    nodes=("${npm_node_execPath:-$(command -v node)}")
  fi
}
