-- Budgets on users, soft budgets and parallel limits on teams, and spend counters keyed by
-- budget window (the spend pipeline issue).

ALTER TABLE users ADD COLUMN max_budget INTEGER;
ALTER TABLE users ADD COLUMN budget_duration TEXT;
ALTER TABLE users ADD COLUMN soft_budget INTEGER;
ALTER TABLE users ADD COLUMN spend INTEGER NOT NULL DEFAULT 0;

ALTER TABLE teams ADD COLUMN soft_budget INTEGER;
ALTER TABLE teams ADD COLUMN max_parallel INTEGER;

-- Spend per budget window. `scope` is key | team | user; `window_start` is the window's start
-- (UTC ms) computed from the owner's budget period, 0 for a lifetime budget. Counters are keyed
-- by window, so a new window starts at zero without any reset job.
CREATE TABLE spend_windows (
    scope        TEXT NOT NULL,
    id           TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    spend        INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL,
    CONSTRAINT spend_windows_pkey PRIMARY KEY (scope, id, window_start)
) STRICT;
-- Gateways poll what changed since their last look.
CREATE INDEX spend_windows_updated_at_idx ON spend_windows (updated_at);
