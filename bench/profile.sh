#!/usr/bin/env bash
# Where the gateway's CPU goes: the gateway under `valgrind --tool=callgrind`, instrumentation on
# only while a short sequential load runs (ttfb, interleaved with direct requests that callgrind
# does not see). Writes the callgrind file and the top functions (inclusive and self) to
# bench/out/<timestamp>-profile/.
#
#   bash bench/profile.sh               # non-streaming, 2000 requests
#   BENCH_PROFILE_MODE=stream bash bench/profile.sh
#   BENCH_PROFILE_TOOL=syscalls bash bench/profile.sh   # kernel side: syscalls per request
#
# Callgrind counts instructions (Ir), not time, and is immune to the neighbours' load; it runs
# the gateway ~50x slower, so only the split matters, not the absolute speed. Use it where the
# machine has no hardware counters (`perf stat -e instructions true` says "not supported").
# The syscalls tool instead runs the gateway natively under `perf stat` with tracepoints and
# software events (no hardware counters needed): syscalls by kind and context switches.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${BENCH_PROFILE_N:-2000}"
MODE="${BENCH_PROFILE_MODE:-plain}"
TOOL="${BENCH_PROFILE_TOOL:-callgrind}"
body="$BODY_PLAIN"
[[ "$MODE" == stream ]] && body="$BODY_STREAM"

if [[ "$TOOL" == syscalls ]]; then
  command -v perf >/dev/null || { log "perf missing: apt-get install -y linux-perf"; exit 1; }
  build_all no-oha
  setup_dirs "syscalls-$MODE"
  start_servers 10
  "$TTFB" --direct "$DIRECT_URL" --gateway "$GW_URL" --key "$KEY" --body "$body" -n 200 \
    --warmup 0 >/dev/null
  events=raw_syscalls:sys_enter,context-switches,task-clock
  for sc in epoll_wait futex read write writev recvfrom sendto sendmsg recvmsg sched_yield; do
    events+=",syscalls:sys_enter_$sc"
  done
  perf stat -e "$events" -p "$GW_PID" -o "$OUT/perf-stat.txt" &
  perf_pid=$!
  sleep 0.5
  "$TTFB" --direct "$DIRECT_URL" --gateway "$GW_URL" --key "$KEY" --body "$body" -n "$N" \
    --warmup 0 >"$OUT/ttfb.txt"
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  # Counts per request (the 0.5 s before the load adds a few idle wake-ups).
  awk -v n="$N" '$1 ~ /^[0-9,.]+$/ && $2 != "msec" && $2 != "seconds" {gsub(/,/, "", $1); printf "%-40s %10.1f per request\n", $2, $1 / n}
    $2 == "msec" {gsub(/,/, "", $1); printf "%-40s %10.4f ms per request\n", $3, $1 / n}' \
    "$OUT/perf-stat.txt" | tee "$OUT/summary.txt"
  log "raw perf stat in $OUT/perf-stat.txt"
  exit 0
fi

command -v valgrind >/dev/null || { log "valgrind missing: apt-get install -y valgrind"; exit 1; }

build_all no-oha
setup_dirs "profile-$MODE"
GW_WRAPPER="valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$OUT/callgrind.out"
start_servers 120

# Warm the connection pool uninstrumented, then count exactly N requests.
"$TTFB" --direct "$DIRECT_URL" --gateway "$GW_URL" --key "$KEY" --body "$body" -n 200 --warmup 0 \
  >/dev/null
callgrind_control -i on "$GW_PID" >/dev/null
"$TTFB" --direct "$DIRECT_URL" --gateway "$GW_URL" --key "$KEY" --body "$body" -n "$N" \
  --warmup 0 >"$OUT/ttfb.txt"
callgrind_control -i off "$GW_PID" >/dev/null
callgrind_control -d "$GW_PID" >/dev/null
sleep 2

file="$(ls -t "$OUT"/callgrind.out* | head -1)"
total="$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(/,/, "", $1); print $1}')"
{
  echo "requests=$N mode=$MODE"
  echo "instructions_total=$total"
  awk -v t="$total" -v n="$N" 'BEGIN {printf "instructions_per_request=%.0f\n", t / n}'
} >"$OUT/summary.txt"
callgrind_annotate --inclusive=yes "$file" >"$OUT/inclusive-full.txt" 2>/dev/null
callgrind_annotate "$file" >"$OUT/self-full.txt" 2>/dev/null
sed -n 1,80p "$OUT/inclusive-full.txt" >"$OUT/inclusive.txt"
sed -n 1,60p "$OUT/self-full.txt" >"$OUT/self.txt"
cat "$OUT/summary.txt"
log "top functions in $OUT/inclusive.txt and $OUT/self.txt"
