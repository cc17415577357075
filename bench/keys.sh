#!/usr/bin/env bash
# The key list at scale (issue 5: "pagination that stays fast at 100k keys"): fills a Postgres
# database with BENCH_KEYS virtual keys over 200 teams and 2,000 users (10% expiring within a
# week, 2% blocked), starts `tollgate portal` on it with a master key, and times
# `GET /api/v1/keys` (the Keys page's server function runs the same code): the first page, a
# page 1,000 pages deep (keyset), by team, by owner, blocked, expiring within 7 days, and
# searches that match one key, a display prefix, and nothing. Target: p95 under 50 ms each.
# Prints markdown; raw data goes to bench/out/<timestamp>-keys/.
#
#   bash bench/keys.sh                     # 100,000 keys
#   BENCH_KEYS=10000 bash bench/keys.sh    # a quick run
#
# Environment: BENCH_DATABASE_URL (the server, default the local one), BENCH_DB, BENCH_KEEP_DB,
# BENCH_SKIP_BUILD, BENCH_REPS (50), BENCH_WARMUP (5), TOLLGATE (the binary; default the release
# build), as in bench/analytics.sh; bench/lib.sh holds what they share.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ADMIN="$BENCH_ADMIN_URL"
DB="${BENCH_DB:-tollgate_bench_keys}"
URL="${ADMIN%/*}/$DB"
KEYS="${BENCH_KEYS:-100000}"
PORT="$(free_port)"

build_tollgate
setup_dirs keys
DROP_DB="$DB"
print_header keys.sh "binary $TOLLGATE, $(psql "$ADMIN" -qAtX -c 'SHOW server_version')"

psql "$ADMIN" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
(cd "$WORK" && "$TOLLGATE" migrate --data-dir "$WORK/data" --database-url "$URL") >"$OUT/migrate.log" 2>&1
log "generating $KEYS keys"
START=$(date +%s.%N)
# Ids are UUID v7-shaped (the time in the first 48 bits), as the application makes them, so
# "newest first" is "by id, descending".
psql "$URL" -qX -v ON_ERROR_STOP=1 -v keys="$KEYS" >"$OUT/gen.log" 2>&1 <<'SQL'
CREATE TEMP TABLE t AS SELECT i, gen_random_uuid() AS id FROM generate_series(1, 200) i;
INSERT INTO teams (id, name, spend, created_at, updated_at)
  SELECT id, 'team ' || i, 0, 0, 0 FROM t;
CREATE TEMP TABLE u AS SELECT i, gen_random_uuid() AS id FROM generate_series(1, 2000) i;
INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at)
  SELECT id, 'user' || i || '@example.com', 'user ' || i, 'user', 'x', 0, 0 FROM u;
INSERT INTO team_members (team_id, user_id, role, added_at)
  SELECT t.id, u.id, 'member', 0 FROM u JOIN t ON t.i = (u.i % 200) + 1;
INSERT INTO virtual_keys (id, key_hash, key_prefix, key_suffix, alias, team_id, user_id,
                          max_budget, rpm_limit, expires_at, blocked, spend, last_used_at,
                          version, created_at, updated_at)
SELECT
  (lpad(to_hex(1760000000000 + k * 1000), 12, '0') || '7' || substr(md5(k::text), 1, 3) || '8'
   || substr(md5(k::text), 4, 15))::uuid,
  md5('secret' || k) || md5('more' || k),
  'sk-tg-' || substr(md5('p' || k), 1, 4),
  substr(md5('s' || k), 1, 4),
  'key ' || k || ' of ' || (CASE k % 4 WHEN 0 THEN 'ci' WHEN 1 THEN 'laptop' WHEN 2 THEN 'batch' ELSE 'prod' END),
  t.id, u.id,
  CASE WHEN k % 3 = 0 THEN 25000000 END,
  CASE WHEN k % 5 = 0 THEN 600 END,
  CASE WHEN k % 10 = 0 THEN (extract(epoch FROM now()) * 1000)::bigint + (k % 7)::bigint * 86400000
       WHEN k % 10 = 1 THEN (extract(epoch FROM now()) * 1000)::bigint + 90::bigint * 86400000 END,
  k % 50 = 0,
  -- Spend on three keys in four, and a last use on two in three, spread out (for the sorts).
  CASE WHEN k % 4 <> 0 THEN (k::bigint * 7919) % 50000000 ELSE 0 END,
  CASE WHEN k % 3 <> 2 THEN 1760000000000 + k * 1000 + (k::bigint * 37) % 86400000 END,
  0, 1760000000000 + k * 1000, 1760000000000 + k * 1000
FROM generate_series(1, :keys) k
JOIN u ON u.i = (k % 2000) + 1
JOIN t ON t.i = (u.i % 200) + 1;
ANALYZE;
SQL
log "generated in $(python3 -c "import time; print(round(time.time() - $START, 1))") s: $(psql "$URL" -qAtX -c 'SELECT count(*) FROM virtual_keys') keys"

read -r TEAM USER DEEP < <(psql "$URL" -qAtX -F ' ' -c "SELECT (SELECT id FROM teams ORDER BY name LIMIT 1), (SELECT id FROM users ORDER BY email LIMIT 1), (SELECT id FROM virtual_keys ORDER BY id DESC OFFSET $((KEYS / 2)) LIMIT 1)")

MASTER_KEY="bench-master-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
(cd "$WORK" && RUST_LOG=warn TOLLGATE_MASTER_KEY="$MASTER_KEY" \
  exec "$TOLLGATE" portal --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --database-url "$URL") \
  >"$OUT/portal.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_ready "$PORT" "$SERVER_PID" "$OUT/portal.log"
echo "load average before timing: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$BENCH_DIR/keys_time.py" --port "$PORT" --master-key "$MASTER_KEY" \
  --reps "${BENCH_REPS:-50}" --warmup "${BENCH_WARMUP:-5}" \
  --team "$TEAM" --user "$USER" --deep "$DEEP" --raw "$OUT/samples.json" | tee "$OUT/report.md"
echo "load average after timing: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "portal RSS after the run: $(awk '$1 == "VmRSS:" {printf "%.1f MiB", $2 / 1024}' "/proc/$SERVER_PID/status"); raw data in ${OUT#"$ROOT"/}"
