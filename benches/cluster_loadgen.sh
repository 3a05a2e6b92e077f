#!/usr/bin/env bash
# One node vs a three-node loopback cluster, side by side in one run, on one
# PostgreSQL: the same `autoglm loadgen --mix orders` against each, then the
# time from `kill -9` of one member until the survivors run all its workers.
#
#   ./dev cargo build --release && benches/cluster_loadgen.sh [RATE] [SECS] [WORKERS]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), curl and jq. It
# creates (and drops again) the databases autoglm_bench_one and
# autoglm_bench_three, and uses loopback ports 18081, 18091-18093 and 14701-14703.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RATE=${1:-1500}
SECS=${2:-15}
WORKERS=${3:-240}
BIN=$PWD/target/release/autoglm
[[ -x $BIN ]] || { echo "build first: ./dev cargo build --release" >&2; exit 1; }
for tool in psql curl jq; do command -v $tool >/dev/null || { echo "$tool is required" >&2; exit 1; }; done
B=$(mktemp -d /tmp/autoglm-cluster-bench.XXXXXX)
export AUTOGLM_CLUSTER_COOKIE=bench-cookie-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for d in autoglm_bench_one autoglm_bench_three; do psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $d" postgres; done
  rm -rf "$B"
}
trap cleanup EXIT
fresh_db() { psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" postgres >/dev/null; }
node_cfg() { printf 'version = 1\nnode_id = %s\n[database]\nurl = "postgres://postgres@127.0.0.1:5432/%s"\n' "$1" "$2" > "$B/n$1-$2.toml"; }
clu_cfg() {
  printf 'version = 1\n[node]\nname = "node-%s"\nlisten = "127.0.0.1:%s"\n[security]\ncookie_env = "AUTOGLM_CLUSTER_COOKIE"\n[membership]\nseeds = [%s]\n' \
    "$1" "$2" "$3" > "$B/c$1.toml"
}
wait_ready() { for _ in $(seq 1 300); do curl -sf "$1/readyz" >/dev/null && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }
summary() { jq -c '{orders_per_s: (.throughput*10|round/10), p50_ms, p99_ms, p999_ms, ok, errors: (.errors|length),
                    double_bookings: .invariants.double_bookings, by_state: .invariants.by_state}' "$1"; }

echo "=== one node ($WORKERS workers, $RATE orders/s for $SECS s)"
fresh_db autoglm_bench_one; mkdir -p "$B/d1"; node_cfg 1 autoglm_bench_one
"$BIN" serve --config "$B/n1-autoglm_bench_one.toml" --listen 127.0.0.1:18081 --data-dir "$B/d1" --demo \
  --demo-workers "$WORKERS" > "$B/one.log" 2>&1 & PIDS+=($!)
wait_ready http://127.0.0.1:18081
"$BIN" loadgen --target http://127.0.0.1:18081 --rate "$RATE" --duration "$SECS" --data-dir "$B/d1" --json > "$B/one.json"
summary "$B/one.json"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null; PIDS=()

echo "=== three-node cluster (same workers, rate and duration; load round-robin over the three edges)"
fresh_db autoglm_bench_three; mkdir -p "$B/d3"
SEEDS='"127.0.0.1:14701", "127.0.0.1:14702", "127.0.0.1:14703"'
for i in 1 2 3; do node_cfg $i autoglm_bench_three; clu_cfg $i 1470$i "$SEEDS"; done
"$BIN" serve --config "$B/n1-autoglm_bench_three.toml" --cluster "$B/c1.toml" --listen 127.0.0.1:18091 --data-dir "$B/d3" \
  --demo --demo-workers "$WORKERS" > "$B/three-1.log" 2>&1 & PIDS+=($!)
wait_ready http://127.0.0.1:18091
for i in 2 3; do
  "$BIN" serve --config "$B/n$i-autoglm_bench_three.toml" --cluster "$B/c$i.toml" --listen 127.0.0.1:1809$i \
    --data-dir "$B/d3" > "$B/three-$i.log" 2>&1 & PIDS+=($!)
done
wait_ready http://127.0.0.1:18092; wait_ready http://127.0.0.1:18093
T=$("$BIN" token --role admin --subject ops --data-dir "$B/d3")
owned() { local n=0 p; for p in "$@"; do n=$((n + $(curl -s -H "Authorization: Bearer $T" "http://127.0.0.1:$p/ops/cluster" | jq '.workers_owned // 0'))); done; echo $n; }
for _ in $(seq 1 300); do [[ $(owned 18091 18092 18093) == "$WORKERS" ]] && break; sleep 0.2; done
"$BIN" ops cluster --url http://127.0.0.1:18091 --token "$T"
"$BIN" loadgen --target http://127.0.0.1:18091,http://127.0.0.1:18092,http://127.0.0.1:18093 --rate "$RATE" \
  --duration "$SECS" --data-dir "$B/d3" --json > "$B/three.json"
summary "$B/three.json"

echo "=== kill -9 node-3 (default timings: heartbeats every 500 ms, down after 3000 ms, leases of 5000 ms)"
kill -9 "${PIDS[2]}"; t0=$(date +%s%N)
for _ in $(seq 1 600); do
  up=$(curl -s -H "Authorization: Bearer $T" http://127.0.0.1:18091/ops/cluster | jq .up)
  [[ $(owned 18091 18092) == "$WORKERS" && $up == 2 ]] && break
  sleep 0.05
done
t1=$(date +%s%N)
echo "takeover: $(( (t1 - t0) / 1000000 )) ms until the survivors run all $WORKERS workers ($(owned 18091 18092) owned)"
inv=$(curl -s -H "Authorization: Bearer $T" http://127.0.0.1:18091/ops/invariants)
echo "invariants after the kill: $(echo "$inv" | jq -c '{double_bookings, holding_without_reservation, by_state}')"
