-- The core model of Tollgate, for Postgres. migrations/sqlite/0001_core.sql is the same schema;
-- change both together.
--
-- Conventions: ids are uuid (made by the application, UUID v7); every timestamp is BIGINT
-- milliseconds since the Unix epoch, UTC; money is BIGINT micro-dollars; prices are micro-dollars
-- per million tokens; JSON is jsonb, except where it is kept verbatim or compared as text: audit
-- before/after, key metadata, route header_match.
-- Enum-like text columns carry no CHECK constraint: the store rejects unknown values when it reads
-- them, and a new value stays a code change on both backends (SQLite cannot alter a CHECK).

CREATE TABLE users (
    id                   uuid PRIMARY KEY,
    -- Lower-cased by the caller (`validate::email`).
    email                text NOT NULL,
    name                 text NOT NULL,
    -- admin | viewer | user
    role                 text NOT NULL,
    password_hash        text NOT NULL,
    must_change_password boolean NOT NULL DEFAULT false,
    disabled             boolean NOT NULL DEFAULT false,
    created_at           bigint NOT NULL,
    updated_at           bigint NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE sessions (
    id         uuid PRIMARY KEY,
    -- NULL: a master-key session (no user row); it ends when the master key is removed.
    user_id    uuid REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 hex of the cookie token; the token itself is never stored.
    token_hash text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    ip         text,
    user_agent text,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE teams (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    max_budget      bigint,
    -- 1d | 7d | 30d | 1mo; NULL: the budget never resets.
    budget_duration text,
    budget_reset_at bigint,
    rpm_limit       bigint,
    tpm_limit       bigint,
    -- JSON array of model names or patterns; NULL: every model.
    allowed_models  jsonb,
    spend           bigint NOT NULL DEFAULT 0,
    metadata        jsonb,
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL,
    CONSTRAINT teams_name_key UNIQUE (name)
);

CREATE TABLE team_members (
    team_id  uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- team_admin | member
    role     text NOT NULL,
    added_at bigint NOT NULL,
    CONSTRAINT team_members_pkey PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_id_idx ON team_members (user_id);

CREATE TABLE virtual_keys (
    id                uuid PRIMARY KEY,
    -- SHA-256 hex of the secret; only the display prefix and suffix are kept besides.
    key_hash          text NOT NULL,
    key_prefix        text NOT NULL,
    key_suffix        text NOT NULL,
    alias             text,
    -- A team or user that still owns keys cannot be deleted (no cascade): keys are revoked first.
    team_id           uuid REFERENCES teams (id),
    user_id           uuid REFERENCES users (id),
    -- JSON arrays; NULL: everything the team allows.
    allowed_models    jsonb,
    allowed_instances jsonb,
    max_budget        bigint,
    budget_duration   text,
    budget_reset_at   bigint,
    soft_budget       bigint,
    rpm_limit         bigint,
    tpm_limit         bigint,
    max_parallel      bigint,
    expires_at        bigint,
    blocked           boolean NOT NULL DEFAULT false,
    -- A JSON object, kept verbatim (text, so it reads back exactly as written).
    metadata          text,
    spend             bigint NOT NULL DEFAULT 0,
    -- Optimistic concurrency: every update checks and increments it.
    version           bigint NOT NULL DEFAULT 0,
    created_at        bigint NOT NULL,
    updated_at        bigint NOT NULL,
    last_used_at      bigint,
    CONSTRAINT virtual_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX virtual_keys_team_id_idx ON virtual_keys (team_id);
CREATE INDEX virtual_keys_user_id_idx ON virtual_keys (user_id);

-- Named gateway instances (a Kubernetes Deployment each, or `default` for a single node).
CREATE TABLE instances (
    name        text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    created_at  bigint NOT NULL
);

CREATE TABLE credentials (
    id                uuid PRIMARY KEY,
    name              text NOT NULL,
    provider          text NOT NULL,
    -- Either an AES-GCM encrypted secret with its nonce, or a reference such as `env:VAR`.
    secret_ciphertext bytea,
    secret_nonce      bytea,
    secret_ref        text,
    created_at        bigint NOT NULL,
    updated_at        bigint NOT NULL,
    CONSTRAINT credentials_name_key UNIQUE (name),
    CONSTRAINT credentials_secret_check CHECK (
        (secret_ciphertext IS NOT NULL AND secret_nonce IS NOT NULL AND secret_ref IS NULL)
        OR (secret_ciphertext IS NULL AND secret_nonce IS NULL AND secret_ref IS NOT NULL)
    )
);

CREATE TABLE routes (
    id                     uuid PRIMARY KEY,
    -- NULL: the route serves every instance.
    instance               text,
    -- An exact name, a prefix wildcard (`anthropic/*`) or `*`.
    model_name             text NOT NULL,
    -- Set: this route is an alias of that model name, and has no deployments.
    alias_of               text,
    -- weighted | least_busy | lowest_latency
    strategy               text NOT NULL DEFAULT 'weighted',
    timeout_ms             bigint,
    stream_idle_timeout_ms bigint,
    retries                bigint NOT NULL DEFAULT 0,
    -- JSON array of model names to try next; `[]`: none.
    fallbacks              jsonb NOT NULL DEFAULT '[]',
    -- JSON object, header name to required value, in canonical form: keys sorted, no spaces,
    -- `{}` when empty. Text on both backends so the unique index below compares it exactly.
    header_match           text NOT NULL DEFAULT '{}',
    -- db | config
    source                 text NOT NULL DEFAULT 'db',
    created_at             bigint NOT NULL,
    updated_at             bigint NOT NULL
);
-- One route per (instance, model, header match); NULL (all instances) is unique too. A canary
-- route (`{"x-canary":"true"}`) can sit next to the plain route of the same name.
CREATE UNIQUE INDEX routes_instance_model_header_key
    ON routes ((COALESCE(instance, '')), model_name, header_match);

CREATE TABLE deployments (
    id                     uuid PRIMARY KEY,
    route_id               uuid NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
    provider               text NOT NULL,
    upstream_model         text NOT NULL,
    api_base               text,
    api_version            text,
    credential_id          uuid REFERENCES credentials (id),
    weight                 bigint NOT NULL DEFAULT 1,
    rpm_limit              bigint,
    tpm_limit              bigint,
    enabled                boolean NOT NULL DEFAULT true,
    -- Micro-dollars per million tokens; NULL: the price table decides.
    input_price_per_mtok   bigint,
    output_price_per_mtok  bigint,
    created_at             bigint NOT NULL,
    updated_at             bigint NOT NULL
);
CREATE INDEX deployments_route_id_idx ON deployments (route_id);
CREATE INDEX deployments_credential_id_idx ON deployments (credential_id);

CREATE TABLE model_prices (
    -- An exact model name or a prefix wildcard.
    model_pattern                text PRIMARY KEY,
    -- Micro-dollars per million tokens.
    input_price_per_mtok         bigint NOT NULL,
    output_price_per_mtok        bigint NOT NULL,
    cached_input_price_per_mtok  bigint,
    -- builtin | admin
    source                       text NOT NULL DEFAULT 'builtin',
    updated_at                   bigint NOT NULL
);

-- One row per request. No foreign keys: history outlives keys, teams and users, and the spool
-- replays rows (idempotently, by request id) whatever happened since.
CREATE TABLE spend_logs (
    request_id        text PRIMARY KEY,
    ts                bigint NOT NULL,
    key_id            uuid,
    team_id           uuid,
    user_id           uuid,
    instance          text NOT NULL,
    pod               text NOT NULL,
    route_model       text NOT NULL,
    upstream_model    text,
    provider          text,
    deployment_id     uuid,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cached_tokens     bigint NOT NULL DEFAULT 0,
    cost              bigint NOT NULL DEFAULT 0,
    latency_ms        bigint,
    ttft_ms           bigint,
    status            integer NOT NULL,
    error_kind        text,
    unpriced          boolean NOT NULL DEFAULT false
);
CREATE INDEX spend_logs_ts_idx ON spend_logs (ts);
CREATE INDEX spend_logs_key_id_ts_idx ON spend_logs (key_id, ts);
CREATE INDEX spend_logs_team_id_ts_idx ON spend_logs (team_id, ts);

-- Daily rollups, the only source of the spend pages. `day` is the unix-ms of UTC midnight.
-- "No team" / "no user" is the nil uuid (00000000-0000-0000-0000-000000000000), not NULL, so
-- the primary key can be the upsert target on both backends.
CREATE TABLE spend_daily (
    day               bigint NOT NULL,
    key_id            uuid NOT NULL,
    team_id           uuid NOT NULL,
    user_id           uuid NOT NULL,
    model             text NOT NULL,
    instance          text NOT NULL,
    requests          bigint NOT NULL DEFAULT 0,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cost              bigint NOT NULL DEFAULT 0,
    errors            bigint NOT NULL DEFAULT 0,
    CONSTRAINT spend_daily_pkey PRIMARY KEY (day, key_id, team_id, user_id, model, instance)
);
CREATE INDEX spend_daily_team_id_day_idx ON spend_daily (team_id, day);
CREATE INDEX spend_daily_key_id_day_idx ON spend_daily (key_id, day);

-- No foreign keys: the log outlives the users and objects it names.
CREATE TABLE audit_log (
    id            uuid PRIMARY KEY,
    ts            bigint NOT NULL,
    actor_user_id uuid,
    -- An email, `master key` or `system`.
    actor_label   text NOT NULL,
    -- `user.create`, `team.update` ...
    action        text NOT NULL,
    object_type   text NOT NULL,
    object_id     text,
    -- The team the object belongs to, so team admins can read their team's log.
    team_id       uuid,
    -- JSON with secrets redacted, kept verbatim (text, not jsonb).
    before        text,
    after         text
);
CREATE INDEX audit_log_ts_idx ON audit_log (ts);
CREATE INDEX audit_log_team_id_ts_idx ON audit_log (team_id, ts);

-- Heartbeats: one row per gateway pod.
CREATE TABLE gateway_nodes (
    instance        text NOT NULL,
    pod             text NOT NULL,
    version         text NOT NULL,
    config_revision bigint NOT NULL,
    started_at      bigint NOT NULL,
    last_seen       bigint NOT NULL,
    in_flight       bigint NOT NULL DEFAULT 0,
    CONSTRAINT gateway_nodes_pkey PRIMARY KEY (instance, pod)
);

-- Installation-wide settings edited in the portal: one JSON value per key.
CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at bigint NOT NULL
);

-- Bumped by every configuration change; gateways report the revision they have applied.
CREATE TABLE config_revision (
    id       integer PRIMARY KEY CHECK (id = 1),
    revision bigint NOT NULL
);
INSERT INTO config_revision (id, revision) VALUES (1, 0);
