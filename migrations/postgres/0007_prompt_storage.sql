-- Opt-in storage of prompts and completions (issue 6). Off by default: a key, or every key of
-- a team, stores its requests' bodies only once an admin turns `store_prompts` on. Each side is
-- cut at `spend.store_prompts_max_kib` by the gateway before it gets here.
-- migrations/sqlite/0007_prompt_storage.sql is the same change; change both together.
--
-- Apart from spend_logs: the log's rows stay narrow for the pages that scan them, and bodies
-- exist for few requests. Keyed by request id; retention deletes by `ts` in batches.

ALTER TABLE virtual_keys ADD COLUMN store_prompts boolean NOT NULL DEFAULT false;
ALTER TABLE teams ADD COLUMN store_prompts boolean NOT NULL DEFAULT false;

CREATE TABLE spend_log_bodies (
    request_id text PRIMARY KEY,
    ts         bigint NOT NULL,
    prompt     text NOT NULL,
    completion text NOT NULL,
    truncated  boolean NOT NULL DEFAULT false
);
CREATE INDEX spend_log_bodies_ts_idx ON spend_log_bodies (ts);
