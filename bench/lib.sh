# Shared by the benchmarks: paths, builds, the report's header, output and work folders, and
# (for run.sh and profile.sh) starting the stub and the gateway on a fresh data dir with one
# key. Sourced, not run.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
CHUNKS="${BENCH_CHUNKS:-10}"
# Free ports picked by the kernel unless given: other engineers' servers share this loopback.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
STUB_PORT="${BENCH_STUB_PORT:-$(free_port)}"
GW_PORT="${BENCH_GW_PORT:-$(free_port)}"

TARGET_DIR=/root/.cache/tollgate/target
BENCH_TARGET_DIR=/root/.cache/tollgate/target-bench
CARGO_BIN_ROOT=/root/.cache/tollgate/cargo-bin
TOLLGATE="${TOLLGATE:-$TARGET_DIR/release/tollgate}"
STUB="$BENCH_TARGET_DIR/release/stub"
TTFB="$BENCH_TARGET_DIR/release/ttfb"
OHA="$CARGO_BIN_ROOT/bin/oha"

DIRECT_URL="http://127.0.0.1:$STUB_PORT/v1/chat/completions"
GW_URL="http://127.0.0.1:$GW_PORT/v1/chat/completions"
BODY_PLAIN='{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}]}'
BODY_STREAM='{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}],"stream":true,"stream_options":{"include_usage":true}}'

log() { echo "bench: $*" >&2; }

# `tollgate` refuses TOLLGATE_* variables it does not know; the benchmark wants none at all.
for v in $(compgen -e | grep '^TOLLGATE_' || true); do unset "$v"; done

# Release builds of tollgate, the stub and ttfb, and oha if missing (BENCH_SKIP_BUILD=1 skips).
# `build_all no-oha` leaves oha out.
build_all() {
  local bins=("$TOLLGATE" "$STUB" "$TTFB")
  [[ "${1:-}" == no-oha ]] || bins+=("$OHA")
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building tollgate (release)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --quiet -p tollgate)
    log "building the stub and ttfb (release)"
    CARGO_TARGET_DIR="$BENCH_TARGET_DIR" cargo build --release --quiet \
      --manifest-path "$BENCH_DIR/stub/Cargo.toml"
    if [[ "${1:-}" != no-oha && ! -x "$OHA" ]]; then
      log "installing oha into $CARGO_BIN_ROOT (slow the first time)"
      cargo install oha --locked --quiet --root "$CARGO_BIN_ROOT" \
        --target-dir /root/.cache/tollgate/target-oha
    fi
  fi
  for bin in "${bins[@]}"; do
    [[ -x "$bin" ]] || { log "missing $bin (run without BENCH_SKIP_BUILD)"; exit 1; }
  done
}

# The release tollgate alone (BENCH_SKIP_BUILD=1 skips), for the benchmarks of the portal.
build_tollgate() {
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building tollgate (release)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --quiet -p tollgate --bin tollgate)
  fi
  [[ -x "$TOLLGATE" ]] || { log "missing $TOLLGATE (run without BENCH_SKIP_BUILD)"; exit 1; }
}

# The report's first lines: the command with its BENCH_* settings, then the date, machine,
# commit and the details given.
print_header() { # script-name [details]
  echo "command: $(for v in $(compgen -e | grep '^BENCH_' || true); do printf '%s=%q ' "$v" "${!v}"; done)bash bench/$1"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), nproc $(nproc), commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+dirty')${2:+, $2}"
}

# Waits up to 60 s for tollgate's readiness on 127.0.0.1:PORT while PID lives.
wait_ready() { # port pid log-file
  for _ in $(seq 600); do
    curl -fsS "http://127.0.0.1:$1/health/readiness" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { log "tollgate exited; see $3"; exit 1; }
    sleep 0.1
  done
  log "tollgate not ready after 60 s; see $3"
  exit 1
}

# Makes $OUT (raw data) and $WORK (data dir, config; removed on exit) and the exit trap.
setup_dirs() { # name
  OUT="$BENCH_DIR/out/$(date -u +%Y%m%dT%H%M%SZ)-$1"
  WORK="$(mktemp -d /tmp/tollgate-bench.XXXXXX)"
  mkdir -p "$OUT"
  PIDS=()
  trap cleanup EXIT
}

# Stops what was started, removes $WORK, and drops the database $DROP_DB (on the server
# $BENCH_ADMIN_URL) when one was set, unless BENCH_KEEP_DB=1.
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n "${DROP_DB:-}" && "${BENCH_KEEP_DB:-0}" != 1 ]]; then
    psql "$BENCH_ADMIN_URL" -qX -c "DROP DATABASE IF EXISTS $DROP_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}

# The Postgres server the database benchmarks use.
BENCH_ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

# Starts the stub ($STUB_PID), creates a key ($KEY) and starts the gateway ($GW_PID), each
# command of $GW_WRAPPER (e.g. valgrind) put in front of it; waits up to $1 s for readiness.
start_servers() { # readiness-timeout-seconds
  for port in "$STUB_PORT" "$GW_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      log "port $port is already in use; set BENCH_STUB_PORT / BENCH_GW_PORT"
      exit 1
    fi
  done
  cat >"$WORK/tollgate.toml" <<EOF
[[routes]]
model_name = "bench-model"
[[routes.deployments]]
provider = "openai"
upstream_model = "bench-upstream"
api_base = "http://127.0.0.1:$STUB_PORT/v1"
EOF
  "$STUB" --listen "127.0.0.1:$STUB_PORT" --chunks "$CHUNKS" 2>"$OUT/stub.log" &
  STUB_PID=$!
  PIDS+=("$STUB_PID")

  (cd "$WORK" && "$TOLLGATE" migrate --data-dir "$WORK/data" >/dev/null 2>&1)
  # BENCH_KEY_FLAGS: limits on the key (e.g. "--rpm 100000000 --max-budget 1000000").
  # shellcheck disable=SC2086
  KEY="$(cd "$WORK" && RUST_LOG=warn "$TOLLGATE" keys create --alias bench ${BENCH_KEY_FLAGS:-} --data-dir "$WORK/data" |
    awk '/^key:/ {print $2}')"
  [[ "$KEY" == sk-tg-* ]] || { log "could not create a key"; exit 1; }

  # `exec`, so that $GW_PID is the gateway itself (or valgrind running it), not a subshell.
  # BENCH_REDIS_URL: count the key's limits in Redis instead of in process.
  # `env` execs the gateway in place, so $GW_PID stays the gateway's.
  (cd "$WORK" && RUST_LOG=warn exec env ${BENCH_REDIS_URL:+TOLLGATE_REDIS_URL="$BENCH_REDIS_URL"} ${GW_WRAPPER:-} "$TOLLGATE" gateway \
    --listen "127.0.0.1:$GW_PORT" --data-dir "$WORK/data") 2>"$OUT/gateway.log" &
  GW_PID=$!
  PIDS+=("$GW_PID")

  local tries=$(($1 * 10)) port
  for _ in $(seq "$tries"); do
    curl -fsS "http://127.0.0.1:$GW_PORT/health/readiness" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$GW_PORT/health/readiness" >/dev/null ||
    { log "gateway not ready; see $OUT/gateway.log"; exit 1; }
  # Idle memory before any proxied request: a second to settle after readiness.
  sleep 1
  RSS_START_KIB="$(awk '$1 == "VmRSS:" {print $2}' "/proc/$GW_PID/status")"

  # One request each way, checked, before anything is measured.
  local check
  for check in "$BODY_PLAIN" "$BODY_STREAM"; do
    curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
      -d "$check" "$GW_URL" || { log "the gateway does not answer; see $OUT/gateway.log"; exit 1; }
  done
}
