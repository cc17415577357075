#!/usr/bin/env bash
# Fills a fresh Postgres database with 90 days of realistic spend data for the analytics
# benchmark (issue 6): the schema from `tollgate migrate`, then teams, users, keys, routes and
# deployments as real rows, BENCH_ROWS requests in spend_logs (made in SQL, not row by row),
# spend_daily and spend_hourly summed from the log with the store writer's own expressions,
# the spend counters, and VACUUM ANALYZE. Prints how long each step and the whole took.
#
#   bash bench/analytics_gen.sh                    # 10,000,000 requests
#   BENCH_ROWS=200000 bash bench/analytics_gen.sh  # a quick run
#
# Environment:
#   BENCH_ROWS          requests in spend_logs (default 10000000)
#   BENCH_DATABASE_URL  an existing database to connect to for CREATE/DROP DATABASE
#                       (default postgres://postgres@127.0.0.1:5432/postgres)
#   BENCH_DB            the database made (default tollgate_bench_analytics); DROPPED first
#   BENCH_NOW_MS        the end of the data, unix ms (default: now); the data covers the 90
#                       UTC days up to it, today included
#   TOLLGATE            the binary (default: the release build in /root/.cache/tollgate/target)
#
# The shape of the data (drawn with a fixed seed: two runs of the same size and end time agree
# but for the random part of the request ids):
#   - 50 teams, 300 users (6 per team, each a member), 1,000 virtual keys: 90% in a team, 70%
#     owned by a user, 70% with an alias; 5 instances with 3 pods each; 30 model routes with
#     one deployment each and a second (another provider, 30% of the traffic) for three.
#   - Keys by a power law: key rank r carries traffic like r^(-2/3) (P(rank < x) = (x/1000)^(1/3)):
#     the top key about 10% of requests, the top 10 about 22%, the top 100 about 46%.
#   - Each key has a main model (60% of its requests); the rest go by a power law over the
#     30 models (P(rank < x) = (x/30)^0.4). Each key has a home instance (95% of its requests).
#   - Time: traffic grows over the 90 days (day density ~ d^0.25), 65% of each day's requests
#     peak around 14:00 UTC, the rest are spread evenly; today ends at BENCH_NOW_MS.
#   - Errors: 1-5% per model (429, 5xx, 400), no tokens and no cost, short or long latencies by
#     kind. Tokens log-normal (prompt median 800, completion median 250), 25% with cached
#     prompt tokens, 60% streamed (with a time to first token), 0.1% without a latency.
#   - Cost in integer micro-dollars from each model's price per million tokens; one self-hosted
#     model is unpriced (cost 0, `unpriced` true).
set -euo pipefail
ROWS="${BENCH_ROWS:-10000000}"
ADMIN="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB="${BENCH_DB:-tollgate_bench_analytics}"
URL="${ADMIN%/*}/$DB"
NOW_MS="${BENCH_NOW_MS:-$(($(date +%s%3N)))}"
TOLLGATE="${TOLLGATE:-/root/.cache/tollgate/target/release/tollgate}"

[[ "$ROWS" =~ ^[0-9]+$ && "$ROWS" -gt 0 ]] || { echo "BENCH_ROWS: a positive integer" >&2; exit 1; }
[[ "$DB" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "BENCH_DB: lower-case letters, digits and _" >&2; exit 1; }
[[ -x "$TOLLGATE" ]] || { echo "missing $TOLLGATE (build it: see bench/analytics.sh)" >&2; exit 1; }
# `tollgate` refuses TOLLGATE_* variables it does not know.
for v in $(compgen -e | grep '^TOLLGATE_' || true); do unset "$v"; done

log() { echo "gen: $*" >&2; }
T0=$(date +%s.%N)

log "database $DB (dropped first if present), $ROWS requests, data up to $NOW_MS"
psql "$ADMIN" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
WORK="$(mktemp -d /tmp/tollgate-bench-gen.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && RUST_LOG=warn "$TOLLGATE" migrate --data-dir "$WORK/data" --database-url "$URL" >/dev/null)
log "migrated ($(psql "$URL" -qAtX -c "SELECT count(*) FROM _sqlx_migrations" 2>/dev/null || echo '?') migrations)"

# The one-dimension rollups are filled from the full ones by the migrations' own statements:
# 0005's per team, then 0009's sums over every team (from 0005's rows).
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The rows go in in bucket order, as the writer adds them over time (the statements' GROUP BY
# alone would scatter each day's rows over the whole table).
for m in 0005_rollup_dims 0009_all_teams_dims; do
  sed -n '/^-- fill:begin/,/^-- fill:end/p' "$HERE/../migrations/postgres/$m.sql" |
    sed -E 's/^(GROUP BY (day|hour)[^;]*);$/\1 ORDER BY \2;/'
done >"$WORK/dims.sql"
grep -q 'INSERT INTO spend_daily_dims' "$WORK/dims.sql" || { echo "no fill statements in the migrations" >&2; exit 1; }
[[ "$(grep -c 'ORDER BY' "$WORK/dims.sql")" == 16 ]] || { echo "expected 16 fill statements to order" >&2; exit 1; }

# One psql session: the seed, the temp tables and the session settings hold throughout.
psql "$URL" -qX -v ON_ERROR_STOP=1 -v rows="$ROWS" -v now_ms="$NOW_MS" -v dims_sql="$WORK/dims.sql" <<'SQL'
\timing on
-- Session settings for a bulk load on a small machine; the server's own settings are untouched.
SET synchronous_commit = off;
SET work_mem = '512MB';
SET maintenance_work_mem = '1GB';
SET max_parallel_maintenance_workers = 1;
SELECT setseed(0.42);

-- The end of the data, the first day (UTC midnight, 89 days before today's), a creation time.
CREATE TEMP TABLE b_time AS
SELECT :now_ms::bigint AS now_ms,
       (:now_ms::bigint / 86400000 - 89) * 86400000 AS start_ms,
       (:now_ms::bigint / 86400000 - 120) * 86400000 AS created_ms;

-- A uniform number in [0, 1) from a label, for per-object choices that must not depend on the
-- order rows are drawn in.
CREATE FUNCTION pg_temp.h01(t text) RETURNS float8 LANGUAGE sql IMMUTABLE AS
$$ SELECT ('x' || substr(md5(t), 1, 8))::bit(32)::bigint / 4294967296.0 $$;

\echo 'gen: teams, users, instances, routes, deployments, keys'
INSERT INTO teams (id, name, max_budget, budget_duration, spend, created_at, updated_at)
SELECT md5('bench-team-' || i)::uuid,
       (ARRAY['platform','search','support','billing','growth','data','mobile','web','infra',
              'research'])[i % 10 + 1] || '-' || lpad(i::text, 2, '0'),
       CASE WHEN i % 3 = 0 THEN 5000000000 END, CASE WHEN i % 3 = 0 THEN '1mo' END, 0,
       t.created_ms, t.created_ms
FROM generate_series(0, 49) i, b_time t;

-- User u belongs to team u % 50; the first of each team administers it.
INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at)
SELECT md5('bench-user-' || u)::uuid, 'user' || lpad(u::text, 3, '0') || '@bench.example',
       'Bench User ' || u, CASE WHEN u < 3 THEN 'admin' WHEN u < 6 THEN 'viewer' ELSE 'user' END,
       'bench: no sign-in', t.created_ms, t.created_ms
FROM generate_series(0, 299) u, b_time t;
INSERT INTO team_members (team_id, user_id, role, added_at)
SELECT md5('bench-team-' || (u % 50))::uuid, md5('bench-user-' || u)::uuid,
       CASE WHEN u < 50 THEN 'team_admin' ELSE 'member' END, t.created_ms
FROM generate_series(0, 299) u, b_time t;

CREATE TEMP TABLE b_instances (idx int PRIMARY KEY, name text NOT NULL);
INSERT INTO b_instances VALUES (0, 'prod-us'), (1, 'prod-eu'), (2, 'prod-ap'), (3, 'batch'),
    (4, 'staging');
INSERT INTO instances (name, description, created_at)
SELECT name, 'bench instance ' || name, t.created_ms FROM b_instances, b_time t;
CREATE TEMP TABLE b_pods AS
SELECT i.idx AS inst, p, i.name AS instance,
       i.name || '-gateway-' || substr(md5(i.name), 1, 10) || '-' || substr(md5(i.name || p), 1, 5)
           AS pod
FROM b_instances i, generate_series(0, 2) p;
ALTER TABLE b_pods ADD PRIMARY KEY (inst, p);

-- The 30 models by popularity (rank 0 first): provider, upstream model, micro-dollars per
-- million input / output tokens, milliseconds per output token, error rate.
CREATE TEMP TABLE b_models (idx int PRIMARY KEY, name text, provider text, upstream text,
    in_price bigint, out_price bigint, ms_per_tok float8, err_rate float8, unpriced boolean,
    route_id uuid, dep_a uuid, prov_b text, upstream_b text, dep_b uuid);
INSERT INTO b_models (idx, name, provider, upstream, in_price, out_price, ms_per_tok, err_rate,
    unpriced)
VALUES
 (0, 'gpt-4o-mini', 'openai', 'gpt-4o-mini-2024-07-18', 150000, 600000, 8, 0.010, false),
 (1, 'gpt-4o', 'openai', 'gpt-4o-2024-08-06', 2500000, 10000000, 12, 0.015, false),
 (2, 'claude-sonnet-4', 'anthropic', 'claude-sonnet-4-20250514', 3000000, 15000000, 14, 0.020, false),
 (3, 'gemini-2.0-flash', 'gemini', 'gemini-2.0-flash', 100000, 400000, 6, 0.020, false),
 (4, 'claude-haiku-3.5', 'anthropic', 'claude-3-5-haiku-20241022', 800000, 4000000, 8, 0.012, false),
 (5, 'text-embedding-3-small', 'openai', 'text-embedding-3-small', 20000, 0, 0.5, 0.010, false),
 (6, 'gpt-4.1-mini', 'openai', 'gpt-4.1-mini-2025-04-14', 400000, 1600000, 8, 0.010, false),
 (7, 'gpt-4.1', 'openai', 'gpt-4.1-2025-04-14', 2000000, 8000000, 12, 0.012, false),
 (8, 'llama-3.1-8b', 'groq', 'llama-3.1-8b-instant', 50000, 80000, 2, 0.030, false),
 (9, 'o3-mini', 'openai', 'o3-mini-2025-01-31', 1100000, 4400000, 20, 0.015, false),
 (10, 'internal-summarizer', 'vllm', 'Qwen/Qwen2.5-7B-Instruct', 0, 0, 10, 0.040, true),
 (11, 'gemini-2.5-pro', 'gemini', 'gemini-2.5-pro', 1250000, 10000000, 15, 0.025, false),
 (12, 'mistral-small', 'mistral', 'mistral-small-latest', 200000, 600000, 7, 0.015, false),
 (13, 'deepseek-chat', 'deepseek', 'deepseek-chat', 270000, 1100000, 15, 0.040, false),
 (14, 'llama-3.3-70b', 'groq', 'llama-3.3-70b-versatile', 590000, 790000, 4, 0.030, false),
 (15, 'claude-opus-4', 'anthropic', 'claude-opus-4-20250514', 15000000, 75000000, 25, 0.030, false),
 (16, 'text-embedding-3-large', 'openai', 'text-embedding-3-large', 130000, 0, 0.5, 0.010, false),
 (17, 'mistral-large', 'mistral', 'mistral-large-latest', 2000000, 6000000, 12, 0.015, false),
 (18, 'deepseek-reasoner', 'deepseek', 'deepseek-reasoner', 550000, 2190000, 30, 0.050, false),
 (19, 'command-r', 'cohere', 'command-r-08-2024', 150000, 600000, 8, 0.015, false),
 (20, 'gpt-3.5-turbo', 'openai', 'gpt-3.5-turbo-0125', 500000, 1500000, 6, 0.010, false),
 (21, 'gemini-1.5-flash', 'gemini', 'gemini-1.5-flash-002', 75000, 300000, 6, 0.020, false),
 (22, 'command-r-plus', 'cohere', 'command-r-plus-08-2024', 2500000, 10000000, 12, 0.015, false),
 (23, 'qwen-2.5-72b', 'together', 'Qwen/Qwen2.5-72B-Instruct-Turbo', 1200000, 1200000, 10, 0.025, false),
 (24, 'gpt-4-turbo', 'openai', 'gpt-4-turbo-2024-04-09', 10000000, 30000000, 20, 0.010, false),
 (25, 'gemini-1.5-pro', 'gemini', 'gemini-1.5-pro-002', 1250000, 5000000, 15, 0.020, false),
 (26, 'mixtral-8x7b', 'together', 'mistralai/Mixtral-8x7B-Instruct-v0.1', 600000, 600000, 6, 0.025, false),
 (27, 'claude-3-opus', 'anthropic', 'claude-3-opus-20240229', 15000000, 75000000, 30, 0.030, false),
 (28, 'o1', 'openai', 'o1-2024-12-17', 15000000, 60000000, 35, 0.020, false),
 (29, 'codestral', 'mistral', 'codestral-latest', 300000, 900000, 6, 0.015, false);
UPDATE b_models SET route_id = md5('bench-route-' || idx)::uuid,
    dep_a = md5('bench-deployment-a-' || idx)::uuid;
UPDATE b_models SET prov_b = 'azure', upstream_b = upstream, dep_b = md5('bench-deployment-b-' || idx)::uuid
WHERE idx IN (0, 1);
UPDATE b_models SET prov_b = 'bedrock', upstream_b = 'anthropic.' || upstream || '-v1:0',
    dep_b = md5('bench-deployment-b-' || idx)::uuid
WHERE idx = 2;
INSERT INTO routes (id, instance, model_name, strategy, retries, fallbacks, header_match, source,
    created_at, updated_at)
SELECT route_id, NULL, name, 'weighted', 1, '[]', '{}', 'db', t.created_ms, t.created_ms
FROM b_models, b_time t;
INSERT INTO deployments (id, route_id, provider, upstream_model, weight, enabled,
    input_price_per_mtok, output_price_per_mtok, created_at, updated_at)
SELECT dep_a, route_id, provider, upstream, CASE WHEN dep_b IS NULL THEN 1 ELSE 7 END, true,
       CASE WHEN unpriced THEN NULL ELSE in_price END,
       CASE WHEN unpriced THEN NULL ELSE out_price END, t.created_ms, t.created_ms
FROM b_models, b_time t
UNION ALL
SELECT dep_b, route_id, prov_b, upstream_b, 3, true, in_price, out_price, t.created_ms,
       t.created_ms
FROM b_models, b_time t WHERE dep_b IS NOT NULL;

-- Key k (k = traffic rank): its team, owner, home instance (40/25/15/10/10%) and main model.
CREATE TEMP TABLE b_keys AS
SELECT k AS idx, md5('bench-key-' || k)::uuid AS id,
       CASE WHEN pg_temp.h01('team' || k) < 0.9
            THEN floor(pg_temp.h01('teampick' || k) * 50)::int END AS team,
       pg_temp.h01('user' || k) < 0.7 AS owned,
       floor(pg_temp.h01('userpick' || k) * 6)::int AS member,
       CASE WHEN pg_temp.h01('home' || k) < 0.40 THEN 0 WHEN pg_temp.h01('home' || k) < 0.65 THEN 1
            WHEN pg_temp.h01('home' || k) < 0.80 THEN 2 WHEN pg_temp.h01('home' || k) < 0.90 THEN 3
            ELSE 4 END AS home,
       least(29, floor(30 * power(pg_temp.h01('model' || k), 2.5))::int) AS main_model,
       -- A key secret that is never used: only its hash and display parts are stored.
       'sk-tg-' || substr(md5('secret-a-' || k) || md5('secret-b-' || k), 1, 40) AS secret
FROM generate_series(0, 999) k;
ALTER TABLE b_keys ADD PRIMARY KEY (idx);
ALTER TABLE b_keys ADD COLUMN team_id uuid, ADD COLUMN user_id uuid;
-- An owned key in a team belongs to one of the team's members; an owned key without a team to
-- any user.
UPDATE b_keys SET team_id = md5('bench-team-' || team)::uuid WHERE team IS NOT NULL;
UPDATE b_keys SET user_id = md5('bench-user-' || (CASE WHEN team IS NOT NULL
        THEN team + 50 * member ELSE floor(pg_temp.h01('anyuser' || idx) * 300)::int END))::uuid
WHERE owned;
INSERT INTO virtual_keys (id, key_hash, key_prefix, key_suffix, alias, team_id, user_id,
    max_budget, budget_duration, rpm_limit, tpm_limit, spend, version, created_at, updated_at)
SELECT id, encode(sha256(convert_to(secret, 'UTF8')), 'hex'), substr(secret, 1, 10),
       right(secret, 4),
       CASE WHEN pg_temp.h01('alias' || idx) < 0.7 THEN
           (ARRAY['chatbot','summarizer','search-rerank','support-agent','code-review','etl',
                  'translator','classifier','notebook','eval-harness'])[idx % 10 + 1]
           || '-' || lpad(idx::text, 3, '0') END,
       team_id, user_id,
       CASE WHEN idx % 4 = 0 THEN 1000000000 END, CASE WHEN idx % 4 = 0 THEN '30d' END,
       CASE WHEN idx % 5 = 0 THEN 600 END, CASE WHEN idx % 5 = 0 THEN 1000000 END, 0, 0,
       t.created_ms + floor(pg_temp.h01('created' || idx) * 25 * 86400000)::bigint,
       t.created_ms + floor(pg_temp.h01('created' || idx) * 25 * 86400000)::bigint
FROM b_keys, b_time t;

-- The tables' indexes and primary keys are dropped for the load and made again afterwards
-- from their own definitions: one sort per index instead of 10M random inserts into each.
CREATE TEMP TABLE b_indexes AS
SELECT c.conrelid::regclass::text AS tbl,
       format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop_sql,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
              pg_get_constraintdef(c.oid)) AS create_sql
FROM pg_constraint c
WHERE c.conrelid IN ('spend_logs'::regclass, 'spend_daily'::regclass, 'spend_hourly'::regclass)
  AND c.contype = 'p'
UNION ALL
-- A partitioned table's index reads `ON ONLY` in pg_indexes: made that way it would cover no
-- partition, so it is made on the whole table.
SELECT i.tablename, format('DROP INDEX %I', i.indexname), replace(i.indexdef, ' ON ONLY ', ' ON ')
FROM pg_indexes i
WHERE i.schemaname = 'public' AND i.tablename IN ('spend_logs', 'spend_daily', 'spend_hourly')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname);
SELECT tbl, create_sql FROM b_indexes ORDER BY tbl, create_sql;
SELECT drop_sql FROM b_indexes \gexec

\echo 'gen: spend_logs'
-- spend_logs is partitioned by month (migration 0006): the months of the range first, made by
-- the function the spend writer calls.
SELECT count(DISTINCT tollgate_spend_logs_partition(d))
FROM b_time t, generate_series(t.start_ms, t.now_ms, 86400000) d;
-- Stage 1 draws the random numbers, stage 2 the key, time and normal deviates, stage 3 joins
-- the key, model and pod, stage 4 the request's outcome; rows go in in time order, as a
-- gateway writes them. OFFSET 0 keeps each stage's volatile draws from being inlined twice.
INSERT INTO spend_logs (request_id, ts, key_id, team_id, user_id, instance, pod, route_model,
    upstream_model, provider, deployment_id, prompt_tokens, completion_tokens, cached_tokens,
    cost, latency_ms, ttft_ms, status, error_kind, unpriced)
SELECT
    -- A UUID v7 made from the request's time, as the gateway makes its log ids.
    substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(gen_random_uuid()::text, 16),
    ts, key_id, team_id, user_id, instance, pod, route_model, upstream_model, provider,
    deployment_id, prompt_tokens, completion_tokens, cached_tokens,
    CASE WHEN unpriced THEN 0 ELSE
        ((prompt_tokens - cached_tokens) * in_price + cached_tokens * (in_price / 4)
         + completion_tokens * out_price) / 1000000 END,
    latency_ms, ttft_ms, status, error_kind, unpriced
FROM (
  SELECT s.*, lpad(to_hex(ts), 12, '0') AS h,
    CASE WHEN status >= 400 THEN 0 ELSE prompt_raw END AS prompt_tokens,
    CASE WHEN status >= 400 OR out_price = 0 AND ms_per_tok < 1 THEN 0 ELSE completion_raw END
        AS completion_tokens,
    CASE WHEN status < 400 AND r_cache < 0.25 THEN prompt_raw * 6 / 10 ELSE 0 END
        AS cached_tokens,
    CASE WHEN r_nolat < 0.001 THEN NULL
         WHEN status IN (429, 400) THEN 2 + floor(r_fast * 40)::bigint
         WHEN status = 504 THEN 60000 + floor(r_fast * 70000)::bigint
         WHEN status >= 500 THEN least(120000, round(ttft_base * 2 * exp(1.5 * z3))::bigint)
         ELSE least(900000, round(ttft_base + completion_raw * ms_per_tok * exp(0.3 * z3))::bigint)
    END AS latency_ms,
    CASE WHEN status < 400 AND r_stream < 0.6 AND r_nolat >= 0.001 THEN round(ttft_base)::bigint
    END AS ttft_ms,
    CASE status WHEN 200 THEN NULL WHEN 429 THEN 'rate_limit_error'
        WHEN 400 THEN 'invalid_request_error' WHEN 503 THEN 'service_unavailable'
        ELSE 'upstream_error' END AS error_kind
  FROM (
    SELECT ts_raw AS ts, k.id AS key_id, k.team_id, k.user_id, p.instance, p.pod, m.name AS route_model,
      CASE WHEN use_b THEN m.upstream_b ELSE m.upstream END AS upstream_model,
      CASE WHEN use_b THEN m.prov_b ELSE m.provider END AS provider,
      CASE WHEN use_b THEN m.dep_b ELSE m.dep_a END AS deployment_id,
      m.in_price, m.out_price, m.ms_per_tok, m.unpriced,
      CASE WHEN r_err >= m.err_rate THEN 200
           WHEN r_kind < 0.40 THEN 429 WHEN r_kind < 0.60 THEN 502 WHEN r_kind < 0.70 THEN 500
           WHEN r_kind < 0.85 THEN 503 WHEN r_kind < 0.95 THEN 400 ELSE 504 END AS status,
      greatest(1, least(200000, round(exp(ln(800) + 1.2 * z1))))::bigint AS prompt_raw,
      greatest(1, least(16000, round(exp(ln(250) + 1.0 * z2))))::bigint AS completion_raw,
      exp(ln(350) + 0.5 * z4) AS ttft_base,
      z3, r_cache, r_nolat, r_fast, r_stream
    FROM (
      SELECT *,
        least(999, floor(1000 * power(r_key, 3))::int) AS key_idx,
        least(29, floor(30 * power(r_model, 2.5))::int) AS any_model,
        sqrt(-2 * ln(1 - r_n1)) * cos(2 * pi() * r_n2) AS z1,
        sqrt(-2 * ln(1 - r_n1)) * sin(2 * pi() * r_n2) AS z2,
        sqrt(-2 * ln(1 - r_n3)) * cos(2 * pi() * r_n4) AS z3,
        sqrt(-2 * ln(1 - r_n3)) * sin(2 * pi() * r_n4) AS z4,
        r_depb < 0.3 AS use_b,
        -- Day (growing traffic), then the time in the day (65% around 14:00 UTC).
        start_ms + least(89, floor(90 * power(r_day, 0.8))::bigint) * 86400000
          + CASE WHEN r_mix < 0.65
                 THEN mod((((r_t1 + r_t2 + r_t3) / 3 - 0.5) * 86400000)::bigint
                          + 14 * 3600000 + 86400000, 86400000)
                 ELSE floor(r_t1 * 86400000)::bigint END AS ts_raw
      FROM (
        SELECT g, t.start_ms, t.now_ms, random() AS r_key, random() AS r_main, random() AS r_model,
          random() AS r_inst, random() AS r_inst2, random() AS r_pod, random() AS r_day,
          random() AS r_mix, random() AS r_t1, random() AS r_t2, random() AS r_t3,
          random() AS r_err, random() AS r_kind, random() AS r_n1, random() AS r_n2,
          random() AS r_n3, random() AS r_n4, random() AS r_cache, random() AS r_stream,
          random() AS r_depb, random() AS r_nolat, random() AS r_fast
        FROM generate_series(1, :rows + :rows / 50 + 100) g, b_time t
        OFFSET 0
      ) s1
      OFFSET 0
    ) s2
    JOIN b_keys k ON k.idx = s2.key_idx
    JOIN b_models m ON m.idx = CASE WHEN s2.r_main < 0.6 THEN k.main_model ELSE s2.any_model END
    JOIN b_pods p ON p.inst = CASE WHEN s2.r_inst < 0.95 THEN k.home
                                   ELSE least(4, floor(5 * s2.r_inst2)::int) END
                 AND p.p = least(2, floor(3 * s2.r_pod)::int)
    -- Today is drawn whole: the times after the end of the data are left out, and 2% more
    -- draws than rows (today is at most 1.4% of them) leave exactly :rows.
    WHERE s2.ts_raw <= s2.now_ms
    LIMIT :rows
  ) s
) o
ORDER BY ts;

\echo 'gen: spend_logs indexes'
SELECT create_sql FROM b_indexes WHERE tbl = 'spend_logs' \gexec

\echo 'gen: spend_daily and spend_hourly from spend_logs (the writer''s expressions)'
-- As migrations/postgres/0003_analytics.sql fills spend_hourly, and as the writer adds a row
-- (crates/store/src/ops/rollups.rs): the bucket by integer division, absent ids as the nil
-- uuid, no provider as '', the latency in bucket i of LatencyHistogram::bucket_of.
INSERT INTO spend_daily (day, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2,
    lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT ts / 86400000 * 86400000,
    COALESCE(key_id, '00000000-0000-0000-0000-000000000000'),
    COALESCE(team_id, '00000000-0000-0000-0000-000000000000'),
    COALESCE(user_id, '00000000-0000-0000-0000-000000000000'),
    route_model, instance, COALESCE(provider, ''),
    COALESCE(deployment_id, '00000000-0000-0000-0000-000000000000'),
    COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost),
    SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms <= 50 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 50 AND latency_ms <= 100 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 100 AND latency_ms <= 250 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 250 AND latency_ms <= 500 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 500 AND latency_ms <= 1000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 1000 AND latency_ms <= 2000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 2000 AND latency_ms <= 5000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 5000 AND latency_ms <= 10000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 10000 AND latency_ms <= 20000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 20000 AND latency_ms <= 60000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 60000 AND latency_ms <= 120000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 120000 THEN 1 ELSE 0 END)
FROM spend_logs
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
ORDER BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO spend_hourly (hour, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2,
    lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT ts / 3600000 * 3600000,
    COALESCE(key_id, '00000000-0000-0000-0000-000000000000'),
    COALESCE(team_id, '00000000-0000-0000-0000-000000000000'),
    COALESCE(user_id, '00000000-0000-0000-0000-000000000000'),
    route_model, instance, COALESCE(provider, ''),
    COALESCE(deployment_id, '00000000-0000-0000-0000-000000000000'),
    COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost),
    SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms <= 50 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 50 AND latency_ms <= 100 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 100 AND latency_ms <= 250 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 250 AND latency_ms <= 500 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 500 AND latency_ms <= 1000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 1000 AND latency_ms <= 2000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 2000 AND latency_ms <= 5000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 5000 AND latency_ms <= 10000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 10000 AND latency_ms <= 20000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 20000 AND latency_ms <= 60000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 60000 AND latency_ms <= 120000 THEN 1 ELSE 0 END),
    SUM(CASE WHEN latency_ms > 120000 THEN 1 ELSE 0 END)
FROM spend_logs
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
ORDER BY 1, 2, 3, 4, 5, 6, 7, 8;

\echo 'gen: rollup indexes'
SELECT create_sql FROM b_indexes WHERE tbl <> 'spend_logs' \gexec

\echo 'gen: spend_daily_dims and spend_hourly_dims from the rollups (the migrations'' statements)'
-- Their secondary indexes (0009, one per partition) are made again after the load, as above.
CREATE TEMP TABLE b_dims_indexes AS
SELECT format('DROP INDEX %I', indexname) AS drop_sql, indexdef AS create_sql
FROM pg_indexes
WHERE schemaname = 'public' AND tablename LIKE 'spend\_%\_dims\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = indexname);
SELECT drop_sql FROM b_dims_indexes \gexec
\i :dims_sql
SELECT create_sql FROM b_dims_indexes \gexec

\echo 'gen: spend counters of keys, teams and users'
UPDATE virtual_keys v SET spend = a.cost, last_used_at = a.last
FROM (SELECT key_id, SUM(cost) AS cost, MAX(hour) + 3599999 AS last FROM spend_hourly
      GROUP BY key_id) a
WHERE v.id = a.key_id;
UPDATE teams t SET spend = a.cost
FROM (SELECT team_id, SUM(cost) AS cost FROM spend_daily GROUP BY team_id) a
WHERE t.id = a.team_id;
UPDATE users u SET spend = a.cost
FROM (SELECT user_id, SUM(cost) AS cost FROM spend_daily GROUP BY user_id) a
WHERE u.id = a.user_id;
UPDATE virtual_keys v SET last_used_at = LEAST(v.last_used_at, (SELECT now_ms FROM b_time))
WHERE v.last_used_at IS NOT NULL;

\echo 'gen: VACUUM ANALYZE'
VACUUM ANALYZE;
SQL

T1=$(date +%s.%N)
psql "$URL" -qAtX -F ' | ' <<'SQL'
SELECT 'rows', (SELECT count(*) FROM spend_logs), (SELECT count(*) FROM spend_daily),
       (SELECT count(*) FROM spend_hourly);
SELECT 'check: requests logs / daily / hourly', (SELECT count(*) FROM spend_logs),
       (SELECT sum(requests) FROM spend_daily), (SELECT sum(requests) FROM spend_hourly);
SELECT 'errors', (SELECT count(*) FROM spend_logs WHERE status >= 400),
       'cost USD', (SELECT round(sum(cost) / 1e6, 2) FROM spend_logs);
-- A partitioned table has no storage of its own: its size is its partitions'.
SELECT 'size ' || t, pg_size_pretty(sum(pg_total_relation_size(r))),
       'heap ' || pg_size_pretty(sum(pg_relation_size(r)))
FROM unnest(ARRAY['spend_logs', 'spend_daily', 'spend_hourly']) AS t,
     LATERAL (SELECT relid AS r FROM pg_partition_tree(t::regclass) WHERE isleaf
              UNION ALL
              SELECT t::regclass WHERE NOT EXISTS (SELECT 1 FROM pg_partition_tree(t::regclass))) p
GROUP BY t ORDER BY t;
SELECT 'database size', pg_size_pretty(pg_database_size(current_database()));
SQL
awk -v a="$T0" -v b="$T1" -v n="$ROWS" -v db="$DB" \
  'BEGIN { printf "gen: done: %d requests into %s in %.1f s (%.1f min)\n", n, db, b - a, (b - a) / 60 }'
