#!/usr/bin/env bash
# The spend writer's sustained rate into Postgres (target: 10k events/s with the flush lag
# under 2 s). Creates a fresh database, runs the writer at the given rate, prints the report.
#
#   bash bench/spend.sh [RATE] [SECONDS]      (default 10000 30)
#
# Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres: a
# database named tollgate_bench_spend is created there, and dropped afterwards).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RATE="${1:-10000}"
SECS="${2:-30}"
ADMIN="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB="tollgate_bench_spend_$$"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tollgate/target}"
cd "$ROOT"
cargo build --release -q -p tollgate-gateway --example spend_writer_bench
psql "$ADMIN" -qc "CREATE DATABASE $DB"
trap 'psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
echo "command=bash bench/spend.sh $RATE $SECS"
echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) commit=$(git rev-parse --short HEAD)"
"$CARGO_TARGET_DIR/release/examples/spend_writer_bench" "${ADMIN%/*}/$DB" "$RATE" "$SECS"
