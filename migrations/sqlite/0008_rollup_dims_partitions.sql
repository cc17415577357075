-- Postgres partitions spend_daily_dims and spend_hourly_dims by dimension in
-- migrations/postgres/0008_rollup_dims_partitions.sql, so each dimension's rows sit together.
-- SQLite keeps one table each: a single-node installation's rollups are small. This file keeps
-- the two directories' numbering in step.
SELECT 1;
