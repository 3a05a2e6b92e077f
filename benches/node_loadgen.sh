#!/usr/bin/env bash
# One node, the same `autoglm loadgen --mix orders` against SQLite and then
# against PostgreSQL, side by side in one run; per backend: orders/s,
# latency, errors, the invariants, the writer's batches, the node's CPU
# seconds and its peak resident memory.
#
#   ./dev cargo build --release && benches/node_loadgen.sh [RATE] [SECS] [WORKERS] [BACKENDS]
#   (AUTOGLM_BIN=path: another build of the binary, e.g. an older commit, to compare)
#
# BACKENDS: "sqlite pg" (default), or one of them. MIX=chat runs
# conversations instead (RATE is conversations/s; the NLU model in
# data/models is used when there is one: `./dev run` or `autoglm train`
# makes it), with SESSIONS=memory (default) or redis (127.0.0.1:6379).
# EXTRA_TOML is appended to the node's config (A/B runs of a setting, e.g.
# EXTRA_TOML=$'[actors]\norder_idle_ms = 2000').
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), curl and jq.
# Creates (and drops again) the database autoglm_bench_node; uses loopback
# port 18181.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RATE=${1:-2000}
SECS=${2:-10}
WORKERS=${3:-240}
BACKENDS=${4:-sqlite pg}
MIX=${MIX:-orders}
SESSIONS=${SESSIONS:-memory}
BIN=${AUTOGLM_BIN:-$PWD/target/release/autoglm}
PORT=18181
[[ -x $BIN ]] || { echo "build first: ./dev cargo build --release" >&2; exit 1; }
for tool in psql curl jq /usr/bin/time; do command -v $tool >/dev/null || { echo "$tool is required" >&2; exit 1; }; done
B=$(mktemp -d /tmp/autoglm-node-bench.XXXXXX)
PID=
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null
  wait 2>/dev/null
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS autoglm_bench_node" postgres 2>/dev/null
  rm -rf "$B"
}
trap cleanup EXIT
wait_ready() { for _ in $(seq 1 600); do curl -sf "$1/readyz" >/dev/null && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
# CPU seconds of every process named $1 (its backends, for a database server).
cpu_all() {
  local total=0 p
  for p in $(pgrep -x "$1"); do total=$(awk -v t="$total" -v hz="$(getconf CLK_TCK)" '{printf "%.2f", t + ($14 + $15) / hz}' "/proc/$p/stat" 2>/dev/null || echo "$total"); done
  echo "$total"
}

for backend in $BACKENDS; do
  dir=$B/$backend
  mkdir -p "$dir"
  printf 'version = 1\n' > "$dir/node.toml"
  case $backend in
    sqlite) ;;
    pg)
      psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS autoglm_bench_node" -c "CREATE DATABASE autoglm_bench_node" postgres >/dev/null
      printf '[database]\nurl = "postgres://postgres@127.0.0.1:5432/autoglm_bench_node"\n' >> "$dir/node.toml"
      ;;
    *) echo "unknown backend $backend (sqlite, pg)" >&2; exit 1 ;;
  esac
  if [[ $MIX == chat ]]; then
    [[ -d data/models ]] && cp -r data/models "$dir/models"
    [[ $SESSIONS == redis ]] && printf '[redis]\nurl = "redis://127.0.0.1:6379"\n' >> "$dir/node.toml"
    printf '[chat]\nsessions = "%s"\n' "$SESSIONS" >> "$dir/node.toml"
  fi
  [[ -n ${EXTRA_TOML:-} ]] && printf '%s\n' "$EXTRA_TOML" >> "$dir/node.toml"
  args=(--config "$dir/node.toml")
  what="$RATE orders/s"
  [[ $MIX == chat ]] && what="$RATE conversations/s, $SESSIONS sessions"
  echo "=== $backend: $WORKERS workers, $what for $SECS s"
  "$BIN" serve "${args[@]}" --listen 127.0.0.1:$PORT --data-dir "$dir" --demo --demo-workers "$WORKERS" > "$dir/node.log" 2>&1 &
  PID=$!
  wait_ready http://127.0.0.1:$PORT
  before=$(cpu_secs $PID); pg_before=$(cpu_all postgres); redis_before=$(cpu_all redis-server)
  /usr/bin/time -o "$dir/loadgen.time" -f '%U %S' \
    "$BIN" loadgen --target http://127.0.0.1:$PORT --mix "$MIX" --rate "$RATE" --duration "$SECS" --data-dir "$dir" --json > "$dir/out.json"
  after=$(cpu_secs $PID); pg_after=$(cpu_all postgres); redis_after=$(cpu_all redis-server)
  if [[ $MIX == chat ]]; then
    jq -c '{turns_per_s: (.throughput*10|round/10), conversations_per_s: (.conversations_per_sec*10|round/10), p50_ms, p99_ms,
            p999_ms, turns: .ok, errors, double_bookings: .invariants.double_bookings, by_state: .invariants.by_state}' "$dir/out.json"
  else
    jq -c '{orders_per_s: (.throughput*10|round/10), p50_ms, p99_ms, p999_ms, ok, errors: (.errors|length),
            double_bookings: .invariants.double_bookings, by_state: .invariants.by_state}' "$dir/out.json"
  fi
  batches=$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^autoglm_writer_batches_total/ {print $2}')
  hwm=$(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' /proc/$PID/status)
  echo "node: $(awk -v a="$after" -v b="$before" 'BEGIN {printf "%.2f", a - b}') CPU seconds under load, peak RSS $hwm, writer batches $batches"
  echo "CPU seconds besides: loadgen $(awk '{printf "%.2f", $1 + $2}' "$dir/loadgen.time"), postgres $(awk -v a="$pg_after" -v b="$pg_before" 'BEGIN {printf "%.2f", a - b}'), redis $(awk -v a="$redis_after" -v b="$redis_before" 'BEGIN {printf "%.2f", a - b}')"
  kill "$PID"; wait "$PID" 2>/dev/null; PID=
done
