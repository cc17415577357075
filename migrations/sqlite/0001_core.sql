-- The core model of Tollgate, for SQLite. migrations/postgres/0001_core.sql is the same schema;
-- change both together.
--
-- Conventions: ids are uuid (made by the application, UUID v7); every timestamp is BIGINT
-- milliseconds since the Unix epoch, UTC; money is BIGINT micro-dollars; prices are micro-dollars
-- per million tokens. SQLite spelling: ids are TEXT (hyphenated lower-case uuid), booleans INTEGER
-- 0/1, JSON TEXT, and every table is STRICT so a value of the wrong type is refused, not coerced.
-- Foreign keys are enforced because the store turns them on for each connection.
-- Enum-like text columns carry no CHECK constraint: the store rejects unknown values when it reads
-- them, and a new value stays a code change on both backends (SQLite cannot alter a CHECK).

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    -- Lower-cased by the caller (`validate::email`).
    email                TEXT NOT NULL,
    name                 TEXT NOT NULL,
    -- admin | viewer | user
    role                 TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled             INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
) STRICT;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    -- NULL: a master-key session (no user row); it ends when the master key is removed.
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 hex of the cookie token; the token itself is never stored.
    token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip         TEXT,
    user_agent TEXT,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
) STRICT;
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE teams (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    max_budget      INTEGER,
    -- 1d | 7d | 30d | 1mo; NULL: the budget never resets.
    budget_duration TEXT,
    budget_reset_at INTEGER,
    rpm_limit       INTEGER,
    tpm_limit       INTEGER,
    -- JSON array of model names or patterns; NULL: every model.
    allowed_models  TEXT,
    spend           INTEGER NOT NULL DEFAULT 0,
    metadata        TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CONSTRAINT teams_name_key UNIQUE (name)
) STRICT;

CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- team_admin | member
    role     TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    CONSTRAINT team_members_pkey PRIMARY KEY (team_id, user_id)
) STRICT;
CREATE INDEX team_members_user_id_idx ON team_members (user_id);

CREATE TABLE virtual_keys (
    id                TEXT PRIMARY KEY,
    -- SHA-256 hex of the secret; only the display prefix and suffix are kept besides.
    key_hash          TEXT NOT NULL,
    key_prefix        TEXT NOT NULL,
    key_suffix        TEXT NOT NULL,
    alias             TEXT,
    -- A team or user that still owns keys cannot be deleted (no cascade): keys are revoked first.
    team_id           TEXT REFERENCES teams (id),
    user_id           TEXT REFERENCES users (id),
    -- JSON arrays; NULL: everything the team allows.
    allowed_models    TEXT,
    allowed_instances TEXT,
    max_budget        INTEGER,
    budget_duration   TEXT,
    budget_reset_at   INTEGER,
    soft_budget       INTEGER,
    rpm_limit         INTEGER,
    tpm_limit         INTEGER,
    max_parallel      INTEGER,
    expires_at        INTEGER,
    blocked           INTEGER NOT NULL DEFAULT 0,
    -- A JSON object, kept verbatim (TEXT, so it reads back exactly as written).
    metadata          TEXT,
    spend             INTEGER NOT NULL DEFAULT 0,
    -- Optimistic concurrency: every update checks and increments it.
    version           INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    last_used_at      INTEGER,
    CONSTRAINT virtual_keys_key_hash_key UNIQUE (key_hash)
) STRICT;
CREATE INDEX virtual_keys_team_id_idx ON virtual_keys (team_id);
CREATE INDEX virtual_keys_user_id_idx ON virtual_keys (user_id);

-- Named gateway instances (a Kubernetes Deployment each, or `default` for a single node).
CREATE TABLE instances (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE credentials (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    provider          TEXT NOT NULL,
    -- Either an AES-GCM encrypted secret with its nonce, or a reference such as `env:VAR`.
    secret_ciphertext BLOB,
    secret_nonce      BLOB,
    secret_ref        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    CONSTRAINT credentials_name_key UNIQUE (name),
    CONSTRAINT credentials_secret_check CHECK (
        (secret_ciphertext IS NOT NULL AND secret_nonce IS NOT NULL AND secret_ref IS NULL)
        OR (secret_ciphertext IS NULL AND secret_nonce IS NULL AND secret_ref IS NOT NULL)
    )
) STRICT;

CREATE TABLE routes (
    id                     TEXT PRIMARY KEY,
    -- NULL: the route serves every instance.
    instance               TEXT,
    -- An exact name, a prefix wildcard (`anthropic/*`) or `*`.
    model_name             TEXT NOT NULL,
    -- Set: this route is an alias of that model name, and has no deployments.
    alias_of               TEXT,
    -- weighted | least_busy | lowest_latency
    strategy               TEXT NOT NULL DEFAULT 'weighted',
    timeout_ms             INTEGER,
    stream_idle_timeout_ms INTEGER,
    retries                INTEGER NOT NULL DEFAULT 0,
    -- JSON array of model names to try next; `[]`: none.
    fallbacks              TEXT NOT NULL DEFAULT '[]',
    -- JSON object, header name to required value, in canonical form: keys sorted, no spaces,
    -- `{}` when empty. Text on both backends so the unique index below compares it exactly.
    header_match           TEXT NOT NULL DEFAULT '{}',
    -- db | config
    source                 TEXT NOT NULL DEFAULT 'db',
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
) STRICT;
-- One route per (instance, model, header match); NULL (all instances) is unique too. A canary
-- route (`{"x-canary":"true"}`) can sit next to the plain route of the same name.
CREATE UNIQUE INDEX routes_instance_model_header_key
    ON routes ((COALESCE(instance, '')), model_name, header_match);

CREATE TABLE deployments (
    id                     TEXT PRIMARY KEY,
    route_id               TEXT NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
    provider               TEXT NOT NULL,
    upstream_model         TEXT NOT NULL,
    api_base               TEXT,
    api_version            TEXT,
    credential_id          TEXT REFERENCES credentials (id),
    weight                 INTEGER NOT NULL DEFAULT 1,
    rpm_limit              INTEGER,
    tpm_limit              INTEGER,
    enabled                INTEGER NOT NULL DEFAULT 1,
    -- Micro-dollars per million tokens; NULL: the price table decides.
    input_price_per_mtok   INTEGER,
    output_price_per_mtok  INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
) STRICT;
CREATE INDEX deployments_route_id_idx ON deployments (route_id);
CREATE INDEX deployments_credential_id_idx ON deployments (credential_id);

CREATE TABLE model_prices (
    -- An exact model name or a prefix wildcard.
    model_pattern                TEXT PRIMARY KEY,
    -- Micro-dollars per million tokens.
    input_price_per_mtok         INTEGER NOT NULL,
    output_price_per_mtok        INTEGER NOT NULL,
    cached_input_price_per_mtok  INTEGER,
    -- builtin | admin
    source                       TEXT NOT NULL DEFAULT 'builtin',
    updated_at                   INTEGER NOT NULL
) STRICT;

-- One row per request. No foreign keys: history outlives keys, teams and users, and the spool
-- replays rows (idempotently, by request id) whatever happened since.
CREATE TABLE spend_logs (
    request_id        TEXT PRIMARY KEY,
    ts                INTEGER NOT NULL,
    key_id            TEXT,
    team_id           TEXT,
    user_id           TEXT,
    instance          TEXT NOT NULL,
    pod               TEXT NOT NULL,
    route_model       TEXT NOT NULL,
    upstream_model    TEXT,
    provider          TEXT,
    deployment_id     TEXT,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens     INTEGER NOT NULL DEFAULT 0,
    cost              INTEGER NOT NULL DEFAULT 0,
    latency_ms        INTEGER,
    ttft_ms           INTEGER,
    status            INTEGER NOT NULL,
    error_kind        TEXT,
    unpriced          INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX spend_logs_ts_idx ON spend_logs (ts);
CREATE INDEX spend_logs_key_id_ts_idx ON spend_logs (key_id, ts);
CREATE INDEX spend_logs_team_id_ts_idx ON spend_logs (team_id, ts);

-- Daily rollups, the only source of the spend pages. `day` is the unix-ms of UTC midnight.
-- "No team" / "no user" is the nil uuid (00000000-0000-0000-0000-000000000000), not NULL, so
-- the primary key can be the upsert target on both backends.
CREATE TABLE spend_daily (
    day               INTEGER NOT NULL,
    key_id            TEXT NOT NULL,
    team_id           TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    model             TEXT NOT NULL,
    instance          TEXT NOT NULL,
    requests          INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT spend_daily_pkey PRIMARY KEY (day, key_id, team_id, user_id, model, instance)
) STRICT;
CREATE INDEX spend_daily_team_id_day_idx ON spend_daily (team_id, day);
CREATE INDEX spend_daily_key_id_day_idx ON spend_daily (key_id, day);

-- No foreign keys: the log outlives the users and objects it names.
CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    ts            INTEGER NOT NULL,
    actor_user_id TEXT,
    -- An email, `master key` or `system`.
    actor_label   TEXT NOT NULL,
    -- `user.create`, `team.update` ...
    action        TEXT NOT NULL,
    object_type   TEXT NOT NULL,
    object_id     TEXT,
    -- The team the object belongs to, so team admins can read their team's log.
    team_id       TEXT,
    -- JSON with secrets redacted, kept verbatim.
    before        TEXT,
    after         TEXT
) STRICT;
CREATE INDEX audit_log_ts_idx ON audit_log (ts);
CREATE INDEX audit_log_team_id_ts_idx ON audit_log (team_id, ts);

-- Heartbeats: one row per gateway pod.
CREATE TABLE gateway_nodes (
    instance        TEXT NOT NULL,
    pod             TEXT NOT NULL,
    version         TEXT NOT NULL,
    config_revision INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    in_flight       INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT gateway_nodes_pkey PRIMARY KEY (instance, pod)
) STRICT;

-- Installation-wide settings edited in the portal: one JSON value per key.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Bumped by every configuration change; gateways report the revision they have applied.
CREATE TABLE config_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
) STRICT;
INSERT INTO config_revision (id, revision) VALUES (1, 0);
