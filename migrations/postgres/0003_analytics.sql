-- Spend analytics and the request log (issue 6). migrations/sqlite/0003_analytics.sql is the same
-- change; change both together.
--
-- The rollups gain the provider and the deployment as dimensions, and a latency histogram, so
-- every chart and table of the spend pages is a sum over rollup rows and never a scan of
-- spend_logs. A second rollup, spend_hourly, serves ranges of up to 7 days by the hour.

-- Latency buckets: `lat_i` counts requests whose latency falls in bucket i of
-- `LatencyHistogram::bucket_of` (upper bounds 50, 100, 250, 500, 1000, 2000, 5000, 10000,
-- 20000, 60000, 120000 ms, and the rest in lat_11). Requests without a latency count in no bucket,
-- so the histogram may hold fewer requests than `requests`; percentiles read the histogram only.
--
-- "No provider" is '' and "no deployment" the nil uuid, as for team and user: every key column
-- is NOT NULL so the primary key can be the upsert target. Adding a NOT NULL column with a
-- constant default does not rewrite the table (Postgres 11+); the rows written before this
-- migration keep their values, under provider '' and the nil deployment, with an empty histogram.
ALTER TABLE spend_daily
    ADD COLUMN provider      text NOT NULL DEFAULT '',
    ADD COLUMN deployment_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    ADD COLUMN lat_0  bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_1  bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_2  bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_3  bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_4  bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_5  bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_6  bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_7  bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_8  bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_9  bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_10 bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat_11 bigint NOT NULL DEFAULT 0;
-- The old key is no longer unique once provider and deployment split a row: replace it. The
-- bucket leads, so an unfiltered range is a range scan of the primary key.
ALTER TABLE spend_daily DROP CONSTRAINT spend_daily_pkey;
ALTER TABLE spend_daily ADD CONSTRAINT spend_daily_pkey
    PRIMARY KEY (day, key_id, team_id, user_id, model, instance, provider, deployment_id);
-- Key and team filters had theirs (0001); a member's own spend filters by user.
CREATE INDEX spend_daily_user_id_day_idx ON spend_daily (user_id, day);

-- The same rollup by the hour: `hour` is the unix-ms of the UTC hour's start.
CREATE TABLE spend_hourly (
    hour              bigint NOT NULL,
    key_id            uuid NOT NULL,
    team_id           uuid NOT NULL,
    user_id           uuid NOT NULL,
    model             text NOT NULL,
    instance          text NOT NULL,
    provider          text NOT NULL DEFAULT '',
    deployment_id     uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    requests          bigint NOT NULL DEFAULT 0,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cost              bigint NOT NULL DEFAULT 0,
    errors            bigint NOT NULL DEFAULT 0,
    lat_0             bigint NOT NULL DEFAULT 0,
    lat_1             bigint NOT NULL DEFAULT 0,
    lat_2             bigint NOT NULL DEFAULT 0,
    lat_3             bigint NOT NULL DEFAULT 0,
    lat_4             bigint NOT NULL DEFAULT 0,
    lat_5             bigint NOT NULL DEFAULT 0,
    lat_6             bigint NOT NULL DEFAULT 0,
    lat_7             bigint NOT NULL DEFAULT 0,
    lat_8             bigint NOT NULL DEFAULT 0,
    lat_9             bigint NOT NULL DEFAULT 0,
    lat_10            bigint NOT NULL DEFAULT 0,
    lat_11            bigint NOT NULL DEFAULT 0,
    CONSTRAINT spend_hourly_pkey
        PRIMARY KEY (hour, key_id, team_id, user_id, model, instance, provider, deployment_id)
);
-- The scopes a page is narrowed to (a team admin's team, a member's keys and own spend).
CREATE INDEX spend_hourly_team_id_hour_idx ON spend_hourly (team_id, hour);
CREATE INDEX spend_hourly_key_id_hour_idx ON spend_hourly (key_id, hour);
CREATE INDEX spend_hourly_user_id_hour_idx ON spend_hourly (user_id, hour);

-- Fill spend_hourly from the log still kept, so the hourly charts of the days before the upgrade
-- are not empty. The same expressions as the writer: the hour by integer division (ts is never
-- negative), the absent dimensions as '' and the nil uuid, the latency in its bucket.
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
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

-- The request log pages newest first by (ts, request_id), the request id breaking ties between
-- requests of the same millisecond: `ORDER BY ts DESC, request_id DESC LIMIT n` with the cursor
-- `(ts, request_id) < ($ts, $id)` is a backward range scan of this index, as cheap on the
-- thousandth page as on the first. It serves every `ts` range too (retention, pod traffic),
-- so it replaces the index on `ts` alone rather than doubling the writes.
CREATE INDEX spend_logs_ts_request_id_idx ON spend_logs (ts, request_id);
DROP INDEX spend_logs_ts_idx;
-- Errors are rare and the question "show me the failures" is common: without this index the
-- error filter would walk the whole log newest first to fill a page. Partial, so it costs a
-- write only for failed requests. The store adds the literal `status >= 400` to the error filter
-- (and to an error code's) so the planner can prove the index applies, whatever the parameters.
-- The key and team filters use the (key_id, ts) and (team_id, ts) indexes of 0001; the other
-- filters (model, instance, pod, minimum latency) narrow a newest-first walk of the ts index,
-- bounded by the page size and the time range; the rollups answer the aggregate questions.
CREATE INDEX spend_logs_errors_ts_idx ON spend_logs (ts, request_id) WHERE status >= 400;
