-- The one-dimension rollups partitioned by LIST (dim) on Postgres (issue 6).
-- migrations/sqlite/0008_rollup_dims_partitions.sql is the same file name with nothing to do.
--
-- A read of these tables wants one dimension over a range of buckets (the month's top keys,
-- 30 days by model). In one heap, the writer interleaves the seven dimensions of each bucket,
-- so such a read touched about one page per 2.6 rows: at 10M requests the month's top keys read
-- 2,669 pages for 7,000 rows (40-50 ms). One partition per dimension keeps each dimension's rows
-- together, in the order they were written (by bucket): the same read touched 339 pages
-- (11 ms), and 30 days by model went from 64-124 ms to 27 ms (bench/RESULTS.md, run 5).
-- The primary key leads with `dim`, so it is the partitions' key too, and the writer's
-- `ON CONFLICT (dim, ...)` upsert is unchanged. A DEFAULT partition takes any dimension added
-- later until it gets its own.
--
-- Upgrading copies both tables in bucket order: run `tollgate migrate` before rolling out.

ALTER TABLE spend_daily_dims RENAME TO spend_daily_dims_unpartitioned;
ALTER TABLE spend_daily_dims_unpartitioned RENAME CONSTRAINT spend_daily_dims_pkey TO spend_daily_dims_unpartitioned_pkey;
CREATE TABLE spend_daily_dims (
    LIKE spend_daily_dims_unpartitioned INCLUDING DEFAULTS,
    CONSTRAINT spend_daily_dims_pkey
        PRIMARY KEY (dim, day, team_id, key_id, user_id, model, instance, provider, deployment_id)
) PARTITION BY LIST (dim);
CREATE TABLE spend_daily_dims_total PARTITION OF spend_daily_dims FOR VALUES IN ('');
CREATE TABLE spend_daily_dims_key PARTITION OF spend_daily_dims FOR VALUES IN ('key');
CREATE TABLE spend_daily_dims_user PARTITION OF spend_daily_dims FOR VALUES IN ('user');
CREATE TABLE spend_daily_dims_model PARTITION OF spend_daily_dims FOR VALUES IN ('model');
CREATE TABLE spend_daily_dims_instance PARTITION OF spend_daily_dims FOR VALUES IN ('instance');
CREATE TABLE spend_daily_dims_provider PARTITION OF spend_daily_dims FOR VALUES IN ('provider');
CREATE TABLE spend_daily_dims_deployment PARTITION OF spend_daily_dims FOR VALUES IN ('deployment');
CREATE TABLE spend_daily_dims_other PARTITION OF spend_daily_dims DEFAULT;
INSERT INTO spend_daily_dims SELECT * FROM spend_daily_dims_unpartitioned ORDER BY day;
DROP TABLE spend_daily_dims_unpartitioned;

ALTER TABLE spend_hourly_dims RENAME TO spend_hourly_dims_unpartitioned;
ALTER TABLE spend_hourly_dims_unpartitioned RENAME CONSTRAINT spend_hourly_dims_pkey TO spend_hourly_dims_unpartitioned_pkey;
CREATE TABLE spend_hourly_dims (
    LIKE spend_hourly_dims_unpartitioned INCLUDING DEFAULTS,
    CONSTRAINT spend_hourly_dims_pkey
        PRIMARY KEY (dim, hour, team_id, key_id, user_id, model, instance, provider, deployment_id)
) PARTITION BY LIST (dim);
CREATE TABLE spend_hourly_dims_total PARTITION OF spend_hourly_dims FOR VALUES IN ('');
CREATE TABLE spend_hourly_dims_key PARTITION OF spend_hourly_dims FOR VALUES IN ('key');
CREATE TABLE spend_hourly_dims_user PARTITION OF spend_hourly_dims FOR VALUES IN ('user');
CREATE TABLE spend_hourly_dims_model PARTITION OF spend_hourly_dims FOR VALUES IN ('model');
CREATE TABLE spend_hourly_dims_instance PARTITION OF spend_hourly_dims FOR VALUES IN ('instance');
CREATE TABLE spend_hourly_dims_provider PARTITION OF spend_hourly_dims FOR VALUES IN ('provider');
CREATE TABLE spend_hourly_dims_deployment PARTITION OF spend_hourly_dims FOR VALUES IN ('deployment');
CREATE TABLE spend_hourly_dims_other PARTITION OF spend_hourly_dims DEFAULT;
INSERT INTO spend_hourly_dims SELECT * FROM spend_hourly_dims_unpartitioned ORDER BY hour;
DROP TABLE spend_hourly_dims_unpartitioned;
