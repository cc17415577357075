-- EXPLAIN ANALYZE of the statements behind bench/analytics_time.py's queries, as the store
-- builds them (crates/store/src/ops/rollups.rs `spend_rollup`: every rollup question here names
-- at most one dimension besides the team, so it reads the one-dimension tables, their rows
-- summed over every team ('all', 'all:model') when no team is asked for; crates/store/src/ops/logs.rs
-- `list_spend_logs`), with the bound values written in (the portal binds them). Written from
-- those sources; change it with them. bench/analytics.sh runs it into out/.../explain.txt:
--   psql "$URL" -X -v now=<unix ms> -v heavy_key="'<uuid>'" -v team="'<uuid>'" \
--     -v cursor_ts=<ms> -v cursor_id="'<request id>'" -f bench/analytics_explain.sql
\pset pager off
-- The dashboard's bounds (app/src/server/analytics.rs `dashboard`), in UTC.
SELECT :now / 86400000 * 86400000::bigint AS today,
       (extract(epoch FROM date_trunc('month', to_timestamp(:now / 1000.0) AT TIME ZONE 'UTC'))
        * 1000)::bigint AS month_start \gset

\echo '--- dashboard: daily totals, the last 30 days (or the month) to tomorrow'
EXPLAIN (ANALYZE, BUFFERS)
SELECT r.bucket, CAST(r.g AS TEXT) AS grp, NULL AS label, NULL AS key_prefix, NULL AS key_suffix, r.requests, r.prompt_tokens, r.completion_tokens, r.cost, r.errors, r.lat_0, r.lat_1, r.lat_2, r.lat_3, r.lat_4, r.lat_5, r.lat_6, r.lat_7, r.lat_8, r.lat_9, r.lat_10, r.lat_11 FROM
 (SELECT day AS bucket, '' AS g, CAST(tollgate_sum(requests) AS BIGINT) AS requests, CAST(tollgate_sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(tollgate_sum(completion_tokens) AS BIGINT) AS completion_tokens, CAST(tollgate_sum(cost) AS BIGINT) AS cost, CAST(tollgate_sum(errors) AS BIGINT) AS errors, CAST(tollgate_sum(lat_0) AS BIGINT) AS lat_0, CAST(tollgate_sum(lat_1) AS BIGINT) AS lat_1, CAST(tollgate_sum(lat_2) AS BIGINT) AS lat_2, CAST(tollgate_sum(lat_3) AS BIGINT) AS lat_3, CAST(tollgate_sum(lat_4) AS BIGINT) AS lat_4, CAST(tollgate_sum(lat_5) AS BIGINT) AS lat_5, CAST(tollgate_sum(lat_6) AS BIGINT) AS lat_6, CAST(tollgate_sum(lat_7) AS BIGINT) AS lat_7, CAST(tollgate_sum(lat_8) AS BIGINT) AS lat_8, CAST(tollgate_sum(lat_9) AS BIGINT) AS lat_9, CAST(tollgate_sum(lat_10) AS BIGINT) AS lat_10, CAST(tollgate_sum(lat_11) AS BIGINT) AS lat_11 FROM spend_daily_dims
  WHERE day >= LEAST(:month_start, :today - 29 * 86400000::bigint) AND day < :today + 86400000 AND dim = 'all' GROUP BY day) AS r;

\echo '--- dashboard: top keys this month (one of 4 groupings: key, team, model, instance; Store::spend_group_totals)'
EXPLAIN (ANALYZE, BUFFERS)
SELECT r.bucket, CAST(r.g AS TEXT) AS grp, l.alias AS label, l.key_prefix AS key_prefix, l.key_suffix AS key_suffix, r.requests, r.prompt_tokens, r.completion_tokens, r.cost, r.errors, r.lat_0, r.lat_1, r.lat_2, r.lat_3, r.lat_4, r.lat_5, r.lat_6, r.lat_7, r.lat_8, r.lat_9, r.lat_10, r.lat_11 FROM
 (SELECT CAST(:month_start AS BIGINT) AS bucket, key_id AS g, CAST(tollgate_sum(requests) AS BIGINT) AS requests, CAST(tollgate_sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(tollgate_sum(completion_tokens) AS BIGINT) AS completion_tokens, CAST(tollgate_sum(cost) AS BIGINT) AS cost, CAST(tollgate_sum(errors) AS BIGINT) AS errors, CAST(tollgate_sum(lat_0) AS BIGINT) AS lat_0, CAST(tollgate_sum(lat_1) AS BIGINT) AS lat_1, CAST(tollgate_sum(lat_2) AS BIGINT) AS lat_2, CAST(tollgate_sum(lat_3) AS BIGINT) AS lat_3, CAST(tollgate_sum(lat_4) AS BIGINT) AS lat_4, CAST(tollgate_sum(lat_5) AS BIGINT) AS lat_5, CAST(tollgate_sum(lat_6) AS BIGINT) AS lat_6, CAST(tollgate_sum(lat_7) AS BIGINT) AS lat_7, CAST(tollgate_sum(lat_8) AS BIGINT) AS lat_8, CAST(tollgate_sum(lat_9) AS BIGINT) AS lat_9, CAST(tollgate_sum(lat_10) AS BIGINT) AS lat_10, CAST(tollgate_sum(lat_11) AS BIGINT) AS lat_11 FROM spend_daily_dims
  WHERE day >= :month_start AND day < :today + 86400000 AND dim = 'key' GROUP BY key_id) AS r LEFT JOIN virtual_keys l ON l.id = r.g;

\echo '--- dashboard, one team: daily totals'
EXPLAIN (ANALYZE, BUFFERS)
SELECT r.bucket, CAST(r.g AS TEXT) AS grp, NULL AS label, NULL AS key_prefix, NULL AS key_suffix, r.requests, r.prompt_tokens, r.completion_tokens, r.cost, r.errors, r.lat_0, r.lat_1, r.lat_2, r.lat_3, r.lat_4, r.lat_5, r.lat_6, r.lat_7, r.lat_8, r.lat_9, r.lat_10, r.lat_11 FROM
 (SELECT day AS bucket, '' AS g, CAST(tollgate_sum(requests) AS BIGINT) AS requests, CAST(tollgate_sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(tollgate_sum(completion_tokens) AS BIGINT) AS completion_tokens, CAST(tollgate_sum(cost) AS BIGINT) AS cost, CAST(tollgate_sum(errors) AS BIGINT) AS errors, CAST(tollgate_sum(lat_0) AS BIGINT) AS lat_0, CAST(tollgate_sum(lat_1) AS BIGINT) AS lat_1, CAST(tollgate_sum(lat_2) AS BIGINT) AS lat_2, CAST(tollgate_sum(lat_3) AS BIGINT) AS lat_3, CAST(tollgate_sum(lat_4) AS BIGINT) AS lat_4, CAST(tollgate_sum(lat_5) AS BIGINT) AS lat_5, CAST(tollgate_sum(lat_6) AS BIGINT) AS lat_6, CAST(tollgate_sum(lat_7) AS BIGINT) AS lat_7, CAST(tollgate_sum(lat_8) AS BIGINT) AS lat_8, CAST(tollgate_sum(lat_9) AS BIGINT) AS lat_9, CAST(tollgate_sum(lat_10) AS BIGINT) AS lat_10, CAST(tollgate_sum(lat_11) AS BIGINT) AS lat_11 FROM spend_daily_dims
  WHERE day >= LEAST(:month_start, :today - 29 * 86400000::bigint) AND day < :today + 86400000 AND dim = '' AND team_id = :team GROUP BY day) AS r;

\echo '--- spend 30 d by day, grouped by model'
EXPLAIN (ANALYZE, BUFFERS)
SELECT r.bucket, CAST(r.g AS TEXT) AS grp, NULL AS label, NULL AS key_prefix, NULL AS key_suffix, r.requests, r.prompt_tokens, r.completion_tokens, r.cost, r.errors, r.lat_0, r.lat_1, r.lat_2, r.lat_3, r.lat_4, r.lat_5, r.lat_6, r.lat_7, r.lat_8, r.lat_9, r.lat_10, r.lat_11 FROM
 (SELECT day AS bucket, model AS g, CAST(tollgate_sum(requests) AS BIGINT) AS requests, CAST(tollgate_sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(tollgate_sum(completion_tokens) AS BIGINT) AS completion_tokens, CAST(tollgate_sum(cost) AS BIGINT) AS cost, CAST(tollgate_sum(errors) AS BIGINT) AS errors, CAST(tollgate_sum(lat_0) AS BIGINT) AS lat_0, CAST(tollgate_sum(lat_1) AS BIGINT) AS lat_1, CAST(tollgate_sum(lat_2) AS BIGINT) AS lat_2, CAST(tollgate_sum(lat_3) AS BIGINT) AS lat_3, CAST(tollgate_sum(lat_4) AS BIGINT) AS lat_4, CAST(tollgate_sum(lat_5) AS BIGINT) AS lat_5, CAST(tollgate_sum(lat_6) AS BIGINT) AS lat_6, CAST(tollgate_sum(lat_7) AS BIGINT) AS lat_7, CAST(tollgate_sum(lat_8) AS BIGINT) AS lat_8, CAST(tollgate_sum(lat_9) AS BIGINT) AS lat_9, CAST(tollgate_sum(lat_10) AS BIGINT) AS lat_10, CAST(tollgate_sum(lat_11) AS BIGINT) AS lat_11 FROM spend_daily_dims
  WHERE day >= (:now - 30 * 86400000::bigint) / 86400000 * 86400000::bigint AND day < :now AND dim = 'all:model' GROUP BY day, model) AS r;

\echo '--- spend 7 d by hour, grouped by key (the API: every point)'
EXPLAIN (ANALYZE, BUFFERS)
SELECT r.bucket, CAST(r.g AS TEXT) AS grp, l.alias AS label, l.key_prefix AS key_prefix, l.key_suffix AS key_suffix, r.requests, r.prompt_tokens, r.completion_tokens, r.cost, r.errors, r.lat_0, r.lat_1, r.lat_2, r.lat_3, r.lat_4, r.lat_5, r.lat_6, r.lat_7, r.lat_8, r.lat_9, r.lat_10, r.lat_11 FROM
 (SELECT hour AS bucket, key_id AS g, CAST(tollgate_sum(requests) AS BIGINT) AS requests, CAST(tollgate_sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(tollgate_sum(completion_tokens) AS BIGINT) AS completion_tokens, CAST(tollgate_sum(cost) AS BIGINT) AS cost, CAST(tollgate_sum(errors) AS BIGINT) AS errors, CAST(tollgate_sum(lat_0) AS BIGINT) AS lat_0, CAST(tollgate_sum(lat_1) AS BIGINT) AS lat_1, CAST(tollgate_sum(lat_2) AS BIGINT) AS lat_2, CAST(tollgate_sum(lat_3) AS BIGINT) AS lat_3, CAST(tollgate_sum(lat_4) AS BIGINT) AS lat_4, CAST(tollgate_sum(lat_5) AS BIGINT) AS lat_5, CAST(tollgate_sum(lat_6) AS BIGINT) AS lat_6, CAST(tollgate_sum(lat_7) AS BIGINT) AS lat_7, CAST(tollgate_sum(lat_8) AS BIGINT) AS lat_8, CAST(tollgate_sum(lat_9) AS BIGINT) AS lat_9, CAST(tollgate_sum(lat_10) AS BIGINT) AS lat_10, CAST(tollgate_sum(lat_11) AS BIGINT) AS lat_11 FROM spend_hourly_dims
  WHERE hour >= (:now - 7 * 86400000::bigint) / 3600000 * 3600000 AND hour < :now AND dim = 'key' GROUP BY hour, key_id) AS r LEFT JOIN virtual_keys l ON l.id = r.g;

\echo '--- spend page 7 d by hour, grouped by key: per-key totals of today''s hours (the largest of tollgate_store::spend_chart''s reads)'
EXPLAIN (ANALYZE, BUFFERS)
SELECT r.bucket, CAST(r.g AS TEXT) AS grp, l.alias AS label, l.key_prefix AS key_prefix, l.key_suffix AS key_suffix, r.requests, r.prompt_tokens, r.completion_tokens, r.cost, r.errors, r.lat_0, r.lat_1, r.lat_2, r.lat_3, r.lat_4, r.lat_5, r.lat_6, r.lat_7, r.lat_8, r.lat_9, r.lat_10, r.lat_11 FROM
 (SELECT CAST(:today AS BIGINT) AS bucket, key_id AS g, CAST(tollgate_sum(requests) AS BIGINT) AS requests, CAST(tollgate_sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(tollgate_sum(completion_tokens) AS BIGINT) AS completion_tokens, CAST(tollgate_sum(cost) AS BIGINT) AS cost, CAST(tollgate_sum(errors) AS BIGINT) AS errors, CAST(tollgate_sum(lat_0) AS BIGINT) AS lat_0, CAST(tollgate_sum(lat_1) AS BIGINT) AS lat_1, CAST(tollgate_sum(lat_2) AS BIGINT) AS lat_2, CAST(tollgate_sum(lat_3) AS BIGINT) AS lat_3, CAST(tollgate_sum(lat_4) AS BIGINT) AS lat_4, CAST(tollgate_sum(lat_5) AS BIGINT) AS lat_5, CAST(tollgate_sum(lat_6) AS BIGINT) AS lat_6, CAST(tollgate_sum(lat_7) AS BIGINT) AS lat_7, CAST(tollgate_sum(lat_8) AS BIGINT) AS lat_8, CAST(tollgate_sum(lat_9) AS BIGINT) AS lat_9, CAST(tollgate_sum(lat_10) AS BIGINT) AS lat_10, CAST(tollgate_sum(lat_11) AS BIGINT) AS lat_11 FROM spend_hourly_dims
  WHERE hour >= :today AND hour < :now AND dim = 'key' GROUP BY key_id) AS r LEFT JOIN virtual_keys l ON l.id = r.g;

\echo '--- spend 90 d by day, unfiltered'
EXPLAIN (ANALYZE, BUFFERS)
SELECT r.bucket, CAST(r.g AS TEXT) AS grp, NULL AS label, NULL AS key_prefix, NULL AS key_suffix, r.requests, r.prompt_tokens, r.completion_tokens, r.cost, r.errors, r.lat_0, r.lat_1, r.lat_2, r.lat_3, r.lat_4, r.lat_5, r.lat_6, r.lat_7, r.lat_8, r.lat_9, r.lat_10, r.lat_11 FROM
 (SELECT day AS bucket, '' AS g, CAST(tollgate_sum(requests) AS BIGINT) AS requests, CAST(tollgate_sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(tollgate_sum(completion_tokens) AS BIGINT) AS completion_tokens, CAST(tollgate_sum(cost) AS BIGINT) AS cost, CAST(tollgate_sum(errors) AS BIGINT) AS errors, CAST(tollgate_sum(lat_0) AS BIGINT) AS lat_0, CAST(tollgate_sum(lat_1) AS BIGINT) AS lat_1, CAST(tollgate_sum(lat_2) AS BIGINT) AS lat_2, CAST(tollgate_sum(lat_3) AS BIGINT) AS lat_3, CAST(tollgate_sum(lat_4) AS BIGINT) AS lat_4, CAST(tollgate_sum(lat_5) AS BIGINT) AS lat_5, CAST(tollgate_sum(lat_6) AS BIGINT) AS lat_6, CAST(tollgate_sum(lat_7) AS BIGINT) AS lat_7, CAST(tollgate_sum(lat_8) AS BIGINT) AS lat_8, CAST(tollgate_sum(lat_9) AS BIGINT) AS lat_9, CAST(tollgate_sum(lat_10) AS BIGINT) AS lat_10, CAST(tollgate_sum(lat_11) AS BIGINT) AS lat_11 FROM spend_daily_dims
  WHERE day >= (:now - 90 * 86400000::bigint) / 86400000 * 86400000::bigint AND day < :now AND dim = 'all' GROUP BY day) AS r;

\echo '--- spend 30 d by day, one team, grouped by key'
EXPLAIN (ANALYZE, BUFFERS)
SELECT r.bucket, CAST(r.g AS TEXT) AS grp, l.alias AS label, l.key_prefix AS key_prefix, l.key_suffix AS key_suffix, r.requests, r.prompt_tokens, r.completion_tokens, r.cost, r.errors, r.lat_0, r.lat_1, r.lat_2, r.lat_3, r.lat_4, r.lat_5, r.lat_6, r.lat_7, r.lat_8, r.lat_9, r.lat_10, r.lat_11 FROM
 (SELECT day AS bucket, key_id AS g, CAST(tollgate_sum(requests) AS BIGINT) AS requests, CAST(tollgate_sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(tollgate_sum(completion_tokens) AS BIGINT) AS completion_tokens, CAST(tollgate_sum(cost) AS BIGINT) AS cost, CAST(tollgate_sum(errors) AS BIGINT) AS errors, CAST(tollgate_sum(lat_0) AS BIGINT) AS lat_0, CAST(tollgate_sum(lat_1) AS BIGINT) AS lat_1, CAST(tollgate_sum(lat_2) AS BIGINT) AS lat_2, CAST(tollgate_sum(lat_3) AS BIGINT) AS lat_3, CAST(tollgate_sum(lat_4) AS BIGINT) AS lat_4, CAST(tollgate_sum(lat_5) AS BIGINT) AS lat_5, CAST(tollgate_sum(lat_6) AS BIGINT) AS lat_6, CAST(tollgate_sum(lat_7) AS BIGINT) AS lat_7, CAST(tollgate_sum(lat_8) AS BIGINT) AS lat_8, CAST(tollgate_sum(lat_9) AS BIGINT) AS lat_9, CAST(tollgate_sum(lat_10) AS BIGINT) AS lat_10, CAST(tollgate_sum(lat_11) AS BIGINT) AS lat_11 FROM spend_daily_dims
  WHERE day >= (:now - 30 * 86400000::bigint) / 86400000 * 86400000::bigint AND day < :now AND dim = 'key' AND team_id = :team GROUP BY day, key_id) AS r LEFT JOIN virtual_keys l ON l.id = r.g;

\echo '--- log, first page'
EXPLAIN (ANALYZE, BUFFERS)
SELECT s.request_id, s.ts, s.key_id, s.team_id, s.user_id, s.instance, s.pod, s.route_model, s.upstream_model, s.provider, s.deployment_id, s.prompt_tokens, s.completion_tokens, s.cached_tokens, s.cost, s.latency_ms, s.ttft_ms, CAST(s.status AS BIGINT) AS status, s.error_kind, s.unpriced, k.alias AS key_alias, k.key_prefix, k.key_suffix FROM spend_logs s LEFT JOIN virtual_keys k ON k.id = s.key_id
WHERE 1 = 1 ORDER BY s.ts DESC, s.request_id DESC LIMIT 51;

\echo '--- log, the deep page (cursor)'
EXPLAIN (ANALYZE, BUFFERS)
SELECT s.request_id, s.ts, s.key_id, s.team_id, s.user_id, s.instance, s.pod, s.route_model, s.upstream_model, s.provider, s.deployment_id, s.prompt_tokens, s.completion_tokens, s.cached_tokens, s.cost, s.latency_ms, s.ttft_ms, CAST(s.status AS BIGINT) AS status, s.error_kind, s.unpriced, k.alias AS key_alias, k.key_prefix, k.key_suffix FROM spend_logs s LEFT JOIN virtual_keys k ON k.id = s.key_id
WHERE 1 = 1 AND s.ts <= :cursor_ts AND (s.ts, s.request_id) < (:cursor_ts, :cursor_id) ORDER BY s.ts DESC, s.request_id DESC LIMIT 51;

\echo '--- log, errors'
EXPLAIN (ANALYZE, BUFFERS)
SELECT s.request_id, s.ts, s.key_id, s.team_id, s.user_id, s.instance, s.pod, s.route_model, s.upstream_model, s.provider, s.deployment_id, s.prompt_tokens, s.completion_tokens, s.cached_tokens, s.cost, s.latency_ms, s.ttft_ms, CAST(s.status AS BIGINT) AS status, s.error_kind, s.unpriced, k.alias AS key_alias, k.key_prefix, k.key_suffix FROM spend_logs s LEFT JOIN virtual_keys k ON k.id = s.key_id
WHERE 1 = 1 AND s.status >= 400 AND s.status <= 999 AND s.status >= 400 ORDER BY s.ts DESC, s.request_id DESC LIMIT 51;

\echo '--- log, busiest key'
EXPLAIN (ANALYZE, BUFFERS)
SELECT s.request_id, s.ts, s.key_id, s.team_id, s.user_id, s.instance, s.pod, s.route_model, s.upstream_model, s.provider, s.deployment_id, s.prompt_tokens, s.completion_tokens, s.cached_tokens, s.cost, s.latency_ms, s.ttft_ms, CAST(s.status AS BIGINT) AS status, s.error_kind, s.unpriced, k.alias AS key_alias, k.key_prefix, k.key_suffix FROM spend_logs s LEFT JOIN virtual_keys k ON k.id = s.key_id
WHERE 1 = 1 AND s.key_id = :heavy_key ORDER BY s.ts DESC, s.request_id DESC LIMIT 51;
