-- Searching keys (issue 5): the Keys page and GET /api/v1/keys?search= match a substring of the
-- alias, or a display prefix or suffix exactly. Without indexes that reads every key: 55 ms p50
-- at 100,000 keys (bench/keys.sh, bench/RESULTS.md).
-- migrations/sqlite/0011_key_search.sql is the same change without the trigram index.
CREATE INDEX virtual_keys_key_prefix_idx ON virtual_keys (key_prefix);
CREATE INDEX virtual_keys_key_suffix_idx ON virtual_keys (key_suffix);

-- A substring `LIKE '%...%'` is served by a trigram index. pg_trgm is a trusted extension (the
-- database's owner may create it) and ships with PostgreSQL; where it cannot be created, search
-- still works, by reading every key, and the migration says so.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXECUTE 'CREATE INDEX virtual_keys_alias_trgm_idx ON virtual_keys USING gin (alias gin_trgm_ops)';
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
    RAISE NOTICE 'pg_trgm is not available (%): key search by name reads every key', SQLERRM;
END
$$;
