#!/usr/bin/env bash
# How soon a disabled user's keys stop at the gateway (issue 5: within 1 s): a release
# `tollgate serve` (portal, admin API and gateway in one process) with a stub upstream, on
# SQLite (the default) or Postgres (BENCH_BACKEND=postgres: a fresh database on
# BENCH_DATABASE_URL), timed by bench/disable_time.py.
#
#   bash bench/disable.sh                          # SQLite, 20 rounds
#   BENCH_BACKEND=postgres bash bench/disable.sh
#
# Environment: BENCH_SKIP_BUILD=1, BENCH_ROUNDS (20), TOLLGATE (the binary).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
TOLLGATE="${TOLLGATE:-/root/.cache/tollgate/target/release/tollgate}"
ADMIN="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB="tollgate_bench_disable_$$"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
STUB_PORT="$(free_port)"
WORK="$(mktemp -d /tmp/tollgate-bench-disable.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ "${BENCH_BACKEND:-sqlite}" == postgres ]] &&
    psql "$ADMIN" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  # shellcheck source=/dev/null
  (source "$ROOT/scripts/lib.sh" && cd "$ROOT" && cargo build --release -q -p tollgate --bin tollgate)
fi
for v in $(compgen -e | grep '^TOLLGATE_' || true); do unset "$v"; done

DB_ARGS=()
if [[ "${BENCH_BACKEND:-sqlite}" == postgres ]]; then
  psql "$ADMIN" -qX -c "CREATE DATABASE $DB" >/dev/null
  DB_ARGS=(--database-url "${ADMIN%/*}/$DB")
fi
echo "command: $(for v in $(compgen -e | grep '^BENCH_' || true); do printf '%s=%q ' "$v" "${!v}"; done)bash bench/disable.sh"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), nproc $(nproc), backend ${BENCH_BACKEND:-sqlite}, commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+dirty')"

python3 "$BENCH_DIR/disable_time.py" --start-stub "$STUB_PORT" &
PIDS+=($!)
cat >"$WORK/tollgate.toml" <<TOML
[[routes]]
model_name = "ping"
[[routes.deployments]]
provider = "openai"
upstream_model = "ping"
api_base = "http://127.0.0.1:$STUB_PORT/v1"
TOML
MASTER_KEY="bench-master-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
(cd "$WORK" && RUST_LOG=warn TOLLGATE_MASTER_KEY="$MASTER_KEY" KUBECONFIG=/nonexistent \
  exec "$TOLLGATE" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" "${DB_ARGS[@]}") \
  >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do
  curl -fsS "http://127.0.0.1:$PORT/health/readiness" >/dev/null 2>&1 && break
  sleep 0.1
done
python3 "$BENCH_DIR/disable_time.py" --port "$PORT" --master-key "$MASTER_KEY" --rounds "${BENCH_ROUNDS:-20}"
