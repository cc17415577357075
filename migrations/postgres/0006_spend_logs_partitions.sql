-- spend_logs partitioned by month (issue 6), so retention drops whole months instead of
-- deleting rows one by one, and a range query reads only the months it covers.
-- migrations/sqlite/0006_spend_logs_partitions.sql is the same file name with nothing to do:
-- SQLite has no partitioning and keeps its one table (retention deletes rows there).
--
-- Native declarative partitioning by RANGE (ts), one partition per calendar month (UTC) named
-- spend_logs_pYYYYMM. There is no DEFAULT partition: a row of a month with no partition would
-- land there and make that month's partition impossible to create later. Instead the spend
-- writer calls tollgate_spend_logs_partition() for every month of a batch before writing it
-- (one round trip, a catalog lookup when the month exists), and retention calls
-- tollgate_drop_spend_logs_partitions().
--
-- A unique key of a partitioned table must include the partition column, so the primary key
-- becomes (request_id, ts): a replayed record carries its original ts, so a replay is still
-- the same row and `ON CONFLICT (request_id, ts) DO NOTHING` keeps the writer idempotent.
--
-- Upgrading copies the log into the new table (about 90 s per 10M rows on a 2-core machine,
-- plus the indexes): run `tollgate migrate` before rolling out gateways of this version.

-- The partition of the month holding `at_ms` (UTC ms), created when missing; returns its name.
-- Two writers may race to create it: the loser's error is swallowed, the table exists either way.
CREATE FUNCTION tollgate_spend_logs_partition(at_ms bigint) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    month_start timestamp := date_trunc('month', to_timestamp(at_ms / 1000.0) AT TIME ZONE 'UTC');
    lo bigint := (extract(epoch FROM month_start AT TIME ZONE 'UTC') * 1000)::bigint;
    hi bigint := (extract(epoch FROM (month_start + interval '1 month') AT TIME ZONE 'UTC') * 1000)::bigint;
    part text := 'spend_logs_p' || to_char(month_start, 'YYYYMM');
BEGIN
    IF to_regclass(part) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF spend_logs FOR VALUES FROM (%s) TO (%s)',
                part, lo, hi);
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            NULL;
        END;
    END IF;
    RETURN part;
END
$fn$;

-- Drops every partition of spend_logs whose upper bound is at or before `before_ms` (so only
-- rows older than `before_ms` go) and returns their names, oldest first.
CREATE FUNCTION tollgate_drop_spend_logs_partitions(before_ms bigint) RETURNS SETOF text
LANGUAGE plpgsql AS $fn$
DECLARE
    part record;
BEGIN
    FOR part IN
        SELECT c.relname AS name,
            substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''?(-?[0-9]+)''?\)')::bigint AS hi
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'spend_logs'::regclass
        ORDER BY 2
    LOOP
        IF part.hi IS NOT NULL AND part.hi <= before_ms THEN
            EXECUTE format('DROP TABLE %I', part.name);
            RETURN NEXT part.name;
        END IF;
    END LOOP;
END
$fn$;

ALTER TABLE spend_logs RENAME TO spend_logs_unpartitioned;
ALTER TABLE spend_logs_unpartitioned RENAME CONSTRAINT spend_logs_pkey TO spend_logs_unpartitioned_pkey;
DROP INDEX spend_logs_key_id_ts_idx;
DROP INDEX spend_logs_team_id_ts_idx;
DROP INDEX spend_logs_ts_request_id_idx;
DROP INDEX spend_logs_errors_ts_idx;

-- The same columns, defaults and NOT NULLs (0001, 0004); the key gains `ts`.
CREATE TABLE spend_logs (
    LIKE spend_logs_unpartitioned INCLUDING DEFAULTS,
    CONSTRAINT spend_logs_pkey PRIMARY KEY (request_id, ts)
) PARTITION BY RANGE (ts);

-- A partition for every month the old table has rows in (not the empty months between), and
-- for the current month.
SELECT tollgate_spend_logs_partition(MIN(ts))
FROM spend_logs_unpartitioned
GROUP BY date_trunc('month', to_timestamp(ts / 1000.0) AT TIME ZONE 'UTC');
SELECT tollgate_spend_logs_partition((extract(epoch FROM now()) * 1000)::bigint);

INSERT INTO spend_logs (request_id, ts, key_id, team_id, user_id, instance, pod, route_model,
    upstream_model, provider, deployment_id, prompt_tokens, completion_tokens, cached_tokens, cost,
    latency_ms, ttft_ms, status, error_kind, unpriced, tried)
SELECT request_id, ts, key_id, team_id, user_id, instance, pod, route_model, upstream_model,
    provider, deployment_id, prompt_tokens, completion_tokens, cached_tokens, cost, latency_ms,
    ttft_ms, status, error_kind, unpriced, tried
FROM spend_logs_unpartitioned;

DROP TABLE spend_logs_unpartitioned;

-- The same indexes as before (0001, 0003), now one per partition, created after the copy.
CREATE INDEX spend_logs_key_id_ts_idx ON spend_logs (key_id, ts);
CREATE INDEX spend_logs_team_id_ts_idx ON spend_logs (team_id, ts);
CREATE INDEX spend_logs_ts_request_id_idx ON spend_logs (ts, request_id);
CREATE INDEX spend_logs_errors_ts_idx ON spend_logs (ts, request_id) WHERE status >= 400;
