-- The deployments a request was sent to, in order (retries and fallbacks included; the last one
-- answered, unless every attempt failed), as comma-separated uuids; '' when none was tried
-- (refused before routing, or served by none). Rows written before this migration have ''.
-- migrations/{sqlite,postgres}/0004_tried.sql are the same change; change both together.
ALTER TABLE spend_logs ADD COLUMN tried TEXT NOT NULL DEFAULT '';
