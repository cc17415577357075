-- Budgets on users, soft budgets and parallel limits on teams, and spend counters keyed by
-- budget window (the spend pipeline issue).

ALTER TABLE users ADD COLUMN max_budget bigint;
ALTER TABLE users ADD COLUMN budget_duration text;
ALTER TABLE users ADD COLUMN soft_budget bigint;
ALTER TABLE users ADD COLUMN spend bigint NOT NULL DEFAULT 0;

ALTER TABLE teams ADD COLUMN soft_budget bigint;
ALTER TABLE teams ADD COLUMN max_parallel bigint;

-- Spend per budget window. `scope` is key | team | user; `window_start` is the window's start
-- (UTC ms) computed from the owner's budget period, 0 for a lifetime budget. Counters are keyed
-- by window, so a new window starts at zero without any reset job.
CREATE TABLE spend_windows (
    scope        text NOT NULL,
    id           uuid NOT NULL,
    window_start bigint NOT NULL,
    spend        bigint NOT NULL DEFAULT 0,
    updated_at   bigint NOT NULL,
    CONSTRAINT spend_windows_pkey PRIMARY KEY (scope, id, window_start)
);
-- Gateways poll what changed since their last look.
CREATE INDEX spend_windows_updated_at_idx ON spend_windows (updated_at);
