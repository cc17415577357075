#!/usr/bin/env bash
# The gateway benchmark: a stub upstream, `tollgate gateway` in front of it, and the same load
# sent direct-to-stub and through Tollgate. Prints a markdown report; raw data goes to
# bench/out/<timestamp>-run/.
#
#   bash bench/run.sh
#
# Knobs (environment): BENCH_DURATION (per load phase, default 10s), BENCH_REPEATS (default 3;
# every figure is the median over repeats), BENCH_CONCURRENCY (default "1 16 64"),
# BENCH_TTFB_N (sequential requests per target for time to first chunk, default 2000),
# BENCH_CHUNKS (SSE chunks per streamed answer, default 10), BENCH_STUB_PORT and
# BENCH_GW_PORT (default: free ports), BENCH_SKIP_BUILD=1 (use the binaries already built),
# BENCH_KEY_FLAGS (limits on the benchmark key, as `tollgate keys create` takes them) and
# BENCH_REDIS_URL (count those limits in Redis). Spend logging is always on (SQLite).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${BENCH_DURATION:-10s}"
REPEATS="${BENCH_REPEATS:-3}"
CONCURRENCY="${BENCH_CONCURRENCY:-1 16 64}"
TTFB_N="${BENCH_TTFB_N:-2000}"

build_all
setup_dirs run
start_servers 10

sleep 1
rss() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }
# user + nice + system of all CPUs (not irq/softirq: loopback traffic lands there, unattributed).
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4}' /proc/stat; }
# CPU used by this shell's finished children (oha), in seconds, into $CHILD_CPU. `times` must
# run in this shell, not in a `$(...)` subshell, which has no finished children of its own.
children_cpu() {
  times >"$WORK/times"
  CHILD_CPU="$(awk 'NR == 2 {gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4}' "$WORK/times")"
}
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a - b}'; }

{
  echo "command=bash bench/run.sh"
  echo "env=BENCH_DURATION=$DURATION BENCH_REPEATS=$REPEATS BENCH_CONCURRENCY=\"$CONCURRENCY\" BENCH_TTFB_N=$TTFB_N BENCH_CHUNKS=$CHUNKS"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "mem_gib=$(awk '/^MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
  echo "clk_tck=$(getconf CLK_TCK)"
  echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rss_idle_kib=$RSS_START_KIB"
  echo "rss_first_use_kib=$(rss "$GW_PID" VmRSS)"
} >"$OUT/meta.txt"

# The load average, every 5 s, for the report.
(while sleep 5; do echo "$(date +%s) $(cut -d' ' -f1 /proc/loadavg)"; done) >"$OUT/loadavg.log" &
PIDS+=("$!")

oha_run() { # url body concurrency duration json-out
  "$OHA" --no-tui --output-format json -z "$4" -c "$3" --wait-ongoing-requests-after-deadline \
    -m POST -H "Authorization: Bearer $KEY" -T application/json -d "$2" "$1" >"$5"
}

log "warm-up"
oha_run "$DIRECT_URL" "$BODY_PLAIN" 16 2s "$OUT/warmup-direct.json"
oha_run "$GW_URL" "$BODY_PLAIN" 16 2s "$OUT/warmup-gateway.json"
oha_run "$GW_URL" "$BODY_STREAM" 16 2s "$OUT/warmup-gateway-stream.json"

# One load phase: oha against one target; CPU of gateway, stub, oha and everything else.
echo -e "repeat\tmode\tconc\ttarget\tseconds\tgw_ticks\tgw_user_ticks\tstub_ticks\toha_cpu_s\tbusy_ticks\tstub_requests\tjson" \
  >"$OUT/phases.tsv"
phase() { # repeat mode conc target url body
  local json="$OUT/oha-r$1-$2-c$3-$4.json"
  local gw0 gwu0 stub0 oha0 busy0 req0 t0 gw1 gwu1 stub1 oha1 busy1 req1 t1
  req0="$(curl -fsS "http://127.0.0.1:$STUB_PORT/stats" | tr -dc 0-9)"
  children_cpu
  oha0="$CHILD_CPU" gw0="$(cpu_ticks "$GW_PID")" gwu0="$(user_ticks "$GW_PID")"
  stub0="$(cpu_ticks "$STUB_PID")"
  busy0="$(busy_ticks)" t0="$(date +%s.%N)"
  oha_run "$5" "$6" "$3" "$DURATION" "$json"
  t1="$(date +%s.%N)" busy1="$(busy_ticks)"
  gw1="$(cpu_ticks "$GW_PID")" gwu1="$(user_ticks "$GW_PID")" stub1="$(cpu_ticks "$STUB_PID")"
  children_cpu
  oha1="$CHILD_CPU"
  req1="$(curl -fsS "http://127.0.0.1:$STUB_PORT/stats" | tr -dc 0-9)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" \
    "$(sub "$t1" "$t0")" "$((gw1 - gw0))" "$((gwu1 - gwu0))" "$((stub1 - stub0))" \
    "$(sub "$oha1" "$oha0")" "$((busy1 - busy0))" \
    "$((req1 - req0))" "$(basename "$json")" >>"$OUT/phases.tsv"
}

for r in $(seq "$REPEATS"); do
  for mode in plain stream; do
    body="$BODY_PLAIN"
    [[ "$mode" == stream ]] && body="$BODY_STREAM"
    for c in $CONCURRENCY; do
      log "repeat $r/$REPEATS: $mode, concurrency $c"
      # Back to back, so both see the same neighbours.
      phase "$r" "$mode" "$c" direct "$DIRECT_URL" "$body"
      phase "$r" "$mode" "$c" gateway "$GW_URL" "$body"
    done
    log "repeat $r/$REPEATS: $mode, sequential time to first chunk"
    "$TTFB" --direct "$DIRECT_URL" --gateway "$GW_URL" --key "$KEY" --body "$body" \
      -n "$TTFB_N" --warmup 200 >"$OUT/ttfb-r$r-$mode.txt"
  done
done

{
  echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rss_after_kib=$(rss "$GW_PID" VmRSS)"
  echo "rss_peak_kib=$(rss "$GW_PID" VmHWM)"
  echo "threads=$(rss "$GW_PID" Threads)"
} >>"$OUT/meta.txt"

python3 "$BENCH_DIR/report.py" "$OUT" | tee "$OUT/report.md"
log "raw data in $OUT"
