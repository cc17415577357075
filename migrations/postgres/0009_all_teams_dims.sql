-- One-dimension rollup rows summed over every team (issue 6): the dims '' (totals), 'model',
-- 'instance', 'provider' and 'deployment' again as 'all', 'all:model', ... with the nil uuid for
-- a team. migrations/sqlite/0009_all_teams_dims.sql is the same change; change both together.
--
-- A question about every team at once read one row per team and value: 30 days by model over
-- 50 teams summed about 47,000 rows at 10M requests (p95 48-67 ms, bench/RESULTS.md runs 6-8);
-- these rows make it 30 a day. The writer adds every request to them in the same transaction
-- (crates/store/src/ops/rollups.rs, ALL_TEAMS_DIMS). Keys and users are not summed this way: a
-- key has one team, so its rows over every team are no fewer.
--
-- Indexes for reads of one team, and of a few keys or users (issue 6). The primary key leads
-- with the bucket, then the team: one team's 7 days by the hour walked every team's rows of
-- those hours (about 250,000 index entries by model at 10M requests). Each partition of one
-- team's rows gets (team_id, bucket); the key and user partitions also (key_id, bucket) and
-- (user_id, bucket), which serve a key filter and the chart's points of its largest keys or
-- users (`Store::spend_rollup_of`: 8 keys by the hour over 7 days are about 1,300 rows).
-- The partitions of every team's rows are small (tens of rows a bucket): their primary key
-- serves.
--
-- `tollgate_sum(bigint)` adds in 64 bits: the built-in SUM(bigint) adds numerics, which took
-- a third of the time of summing 17 columns over a thousand keys. It fails on overflow, as the
-- CAST of SUM's numeric to bigint did.
CREATE AGGREGATE tollgate_sum(bigint) (
    SFUNC = int8pl, STYPE = bigint, COMBINEFUNC = int8pl, PARALLEL = SAFE
);

-- Each new dim gets its own partition (0008 partitions these tables by dim); the DEFAULT
-- partition holds none of them yet, so attaching them moves nothing. Then the existing rows are
-- summed into them.

CREATE TABLE spend_daily_dims_all PARTITION OF spend_daily_dims FOR VALUES IN ('all');
CREATE TABLE spend_daily_dims_all_model PARTITION OF spend_daily_dims FOR VALUES IN ('all:model');
CREATE TABLE spend_daily_dims_all_instance PARTITION OF spend_daily_dims FOR VALUES IN ('all:instance');
CREATE TABLE spend_daily_dims_all_provider PARTITION OF spend_daily_dims FOR VALUES IN ('all:provider');
CREATE TABLE spend_daily_dims_all_deployment PARTITION OF spend_daily_dims FOR VALUES IN ('all:deployment');
CREATE TABLE spend_hourly_dims_all PARTITION OF spend_hourly_dims FOR VALUES IN ('all');
CREATE TABLE spend_hourly_dims_all_model PARTITION OF spend_hourly_dims FOR VALUES IN ('all:model');
CREATE TABLE spend_hourly_dims_all_instance PARTITION OF spend_hourly_dims FOR VALUES IN ('all:instance');
CREATE TABLE spend_hourly_dims_all_provider PARTITION OF spend_hourly_dims FOR VALUES IN ('all:provider');
CREATE TABLE spend_hourly_dims_all_deployment PARTITION OF spend_hourly_dims FOR VALUES IN ('all:deployment');

CREATE INDEX spend_daily_dims_total_by_team ON spend_daily_dims_total (team_id, day);
CREATE INDEX spend_daily_dims_key_by_team ON spend_daily_dims_key (team_id, day);
CREATE INDEX spend_daily_dims_user_by_team ON spend_daily_dims_user (team_id, day);
CREATE INDEX spend_daily_dims_model_by_team ON spend_daily_dims_model (team_id, day);
CREATE INDEX spend_daily_dims_instance_by_team ON spend_daily_dims_instance (team_id, day);
CREATE INDEX spend_daily_dims_provider_by_team ON spend_daily_dims_provider (team_id, day);
CREATE INDEX spend_daily_dims_deployment_by_team ON spend_daily_dims_deployment (team_id, day);
CREATE INDEX spend_daily_dims_key_by_key ON spend_daily_dims_key (key_id, day);
CREATE INDEX spend_daily_dims_user_by_user ON spend_daily_dims_user (user_id, day);
CREATE INDEX spend_hourly_dims_total_by_team ON spend_hourly_dims_total (team_id, hour);
CREATE INDEX spend_hourly_dims_key_by_team ON spend_hourly_dims_key (team_id, hour);
CREATE INDEX spend_hourly_dims_user_by_team ON spend_hourly_dims_user (team_id, hour);
CREATE INDEX spend_hourly_dims_model_by_team ON spend_hourly_dims_model (team_id, hour);
CREATE INDEX spend_hourly_dims_instance_by_team ON spend_hourly_dims_instance (team_id, hour);
CREATE INDEX spend_hourly_dims_provider_by_team ON spend_hourly_dims_provider (team_id, hour);
CREATE INDEX spend_hourly_dims_deployment_by_team ON spend_hourly_dims_deployment (team_id, hour);
CREATE INDEX spend_hourly_dims_key_by_key ON spend_hourly_dims_key (key_id, hour);
CREATE INDEX spend_hourly_dims_user_by_user ON spend_hourly_dims_user (user_id, hour);

-- Every batch of the spend writer adds to thousands of rollup rows. With their pages full, each
-- new row version went to another page and into every index of its table (the indexes above
-- made that worse). Pages left 30% empty keep an updated row on its page without touching any
-- index (a HOT update: no indexed column changes), and write less WAL. Measured with
-- `bash bench/spend.sh` at 10k requests/s (bench/RESULTS.md, the spend writer, run 4): flush
-- lag p50 3.6-4.0 s before, about 0.6 s after. Rows already stored keep their pages until
-- rewritten.
ALTER TABLE spend_daily SET (fillfactor = 70);
ALTER TABLE spend_hourly SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_total SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_key SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_user SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_model SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_instance SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_provider SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_deployment SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_other SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_all SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_all_model SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_all_instance SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_all_provider SET (fillfactor = 70);
ALTER TABLE spend_daily_dims_all_deployment SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_total SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_key SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_user SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_model SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_instance SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_provider SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_deployment SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_other SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_all SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_all_model SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_all_instance SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_all_provider SET (fillfactor = 70);
ALTER TABLE spend_hourly_dims_all_deployment SET (fillfactor = 70);

-- fill:begin (bench/analytics_gen.sh runs the statements between these markers)
INSERT INTO spend_daily_dims (day, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT day, CASE WHEN dim = '' THEN 'all' ELSE 'all:' || dim END, key_id, '00000000-0000-0000-0000-000000000000'::uuid, user_id, model, instance, provider, deployment_id, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_daily_dims
WHERE dim IN ('', 'model', 'instance', 'provider', 'deployment')
GROUP BY day, dim, key_id, user_id, model, instance, provider, deployment_id;

INSERT INTO spend_hourly_dims (hour, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT hour, CASE WHEN dim = '' THEN 'all' ELSE 'all:' || dim END, key_id, '00000000-0000-0000-0000-000000000000'::uuid, user_id, model, instance, provider, deployment_id, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_hourly_dims
WHERE dim IN ('', 'model', 'instance', 'provider', 'deployment')
GROUP BY hour, dim, key_id, user_id, model, instance, provider, deployment_id;
-- fill:end
