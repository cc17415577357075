-- Postgres partitions spend_logs by month in migrations/postgres/0006_spend_logs_partitions.sql.
-- SQLite has no partitioning: its spend_logs stays one table, keyed by request_id, and retention
-- deletes its old rows in batches. This file keeps the two directories' numbering in step.
SELECT 1;
