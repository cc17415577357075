#!/usr/bin/env bash
# Spend analytics at scale (issue 6): fills a Postgres database with BENCH_ROWS requests
# (bench/analytics_gen.sh), starts the release `tollgate portal` on it with a master key, and
# times the dashboard, the spend page's queries and the request log's pages
# (bench/analytics_time.py). Target: p95 under 50 ms each. Prints markdown; raw data goes to
# bench/out/<timestamp>-analytics/.
#
#   bash bench/analytics.sh                      # 10M requests (generation takes a while)
#   BENCH_ROWS=200000 bash bench/analytics.sh    # a quick run
#
# Environment (besides analytics_gen.sh's BENCH_ROWS, BENCH_DATABASE_URL, BENCH_DB):
#   BENCH_SKIP_BUILD=1  do not build tollgate (release)
#   BENCH_SKIP_GEN=1    time the database BENCH_DB as it is (kept by an earlier BENCH_KEEP_DB=1)
#   BENCH_KEEP_DB=1     do not drop the database at the end
#   BENCH_REPS (50), BENCH_WARMUP (5), BENCH_DEEP_PAGES (200): see analytics_time.py
#   BENCH_PORT          the portal's port (default: a free one)
#   TOLLGATE            the binary (default: the release build in /root/.cache/tollgate/target)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ADMIN="$BENCH_ADMIN_URL"
DB="${BENCH_DB:-tollgate_bench_analytics}"
URL="${ADMIN%/*}/$DB"
PORT="${BENCH_PORT:-$(free_port)}"

build_tollgate
setup_dirs analytics
DROP_DB="$DB"
print_header analytics.sh "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(psql "$ADMIN" -qAtX -c 'SHOW server_version')"

if [[ "${BENCH_SKIP_GEN:-0}" != 1 ]]; then
  TOLLGATE="$TOLLGATE" bash "$BENCH_DIR/analytics_gen.sh" 2>&1 | tee "$OUT/gen.log" |
    grep -E '^(gen:|rows|check|errors|size|database size)' || true
  grep -q '^gen: done' "$OUT/gen.log" || { log "generation failed; see $OUT/gen.log"; exit 1; }
else
  log "BENCH_SKIP_GEN=1: timing $DB as it is"
  psql "$URL" -qAtX -F ' | ' -c "SELECT 'rows', (SELECT count(*) FROM spend_logs), (SELECT count(*) FROM spend_daily), (SELECT count(*) FROM spend_hourly)"
fi

# The keys and team the filtered queries use: the busiest key, a key of median traffic, the
# busiest team.
read -r HEAVY_KEY LIGHT_KEY TEAM < <(psql "$URL" -qAtX -F ' ' <<'SQL'
WITH k AS (SELECT key_id, SUM(requests) AS n FROM spend_daily GROUP BY key_id),
     r AS (SELECT key_id, row_number() OVER (ORDER BY n DESC, key_id) AS i, count(*) OVER () AS c FROM k)
SELECT (SELECT key_id FROM r WHERE i = 1), (SELECT key_id FROM r WHERE i = c / 2 + 1),
       (SELECT team_id FROM spend_daily WHERE team_id <> '00000000-0000-0000-0000-000000000000'
        GROUP BY team_id ORDER BY SUM(requests) DESC LIMIT 1);
SQL
)

MASTER_KEY="bench-master-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
log "starting tollgate portal on 127.0.0.1:$PORT"
# Retention off: the 90 days of data must stay whole while the portal runs.
(cd "$WORK" && RUST_LOG=warn TOLLGATE_MASTER_KEY="$MASTER_KEY" TOLLGATE_SPEND__RETENTION_DAYS=0 \
  exec "$TOLLGATE" portal --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --database-url "$URL") \
  >"$OUT/portal.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_ready "$PORT" "$SERVER_PID" "$OUT/portal.log"

log "timing (busiest key $HEAVY_KEY, median key $LIGHT_KEY, team $TEAM)"
# The neighbours' load: this machine is shared, and the timings depend on it.
echo "load average before timing: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$BENCH_DIR/analytics_time.py" --port "$PORT" --master-key "$MASTER_KEY" \
  --reps "${BENCH_REPS:-50}" --warmup "${BENCH_WARMUP:-5}" --deep-pages "${BENCH_DEEP_PAGES:-200}" \
  --heavy-key "$HEAVY_KEY" --light-key "$LIGHT_KEY" --team "$TEAM" --raw "$OUT/samples.json" |
  tee "$OUT/report.md"
echo "load average after timing: $(cut -d' ' -f1-3 /proc/loadavg)"

# The plans of the same statements, each run once more by psql (bench/analytics_explain.sql).
read -r NOW_MS CURSOR_TS CURSOR_ID < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ts, rid = d["deep_cursor"].split("_", 1)
print(d["now_ms"], ts, rid)' "$OUT/samples.json")
psql "$URL" -X -v ON_ERROR_STOP=1 -v now="$NOW_MS" -v heavy_key="'$HEAVY_KEY'" -v team="'$TEAM'" \
  -v cursor_ts="$CURSOR_TS" -v cursor_id="'$CURSOR_ID'" -f "$BENCH_DIR/analytics_explain.sql" \
  >"$OUT/explain.txt" 2>&1 || log "EXPLAIN failed; see $OUT/explain.txt"
echo
echo "EXPLAIN ANALYZE execution times (psql, one run each; plans in ${OUT#"$ROOT"/}/explain.txt):"
awk '/^--- / {sub(/^--- /, ""); name = $0} /Execution Time/ {printf "- %s: %s %s\n", name, $3, $4}' "$OUT/explain.txt"
echo
echo "portal RSS after the run: $(awk '$1 == "VmRSS:" {printf "%.1f MiB", $2 / 1024}' "/proc/$SERVER_PID/status"); raw data in ${OUT#"$ROOT"/}"
