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
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="$(free_port)"

build_tollgate
setup_dirs disable
DB_ARGS=()
if [[ "${BENCH_BACKEND:-sqlite}" == postgres ]]; then
  DROP_DB="tollgate_bench_disable_$$"
  psql "$BENCH_ADMIN_URL" -qX -c "CREATE DATABASE $DROP_DB" >/dev/null
  DB_ARGS=(--database-url "${BENCH_ADMIN_URL%/*}/$DROP_DB")
fi
print_header disable.sh "backend ${BENCH_BACKEND:-sqlite}"

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
  >"$OUT/serve.log" 2>&1 &
PIDS+=($!)
wait_ready "$PORT" "$!" "$OUT/serve.log"
python3 "$BENCH_DIR/disable_time.py" --port "$PORT" --master-key "$MASTER_KEY" --rounds "${BENCH_ROUNDS:-20}"
