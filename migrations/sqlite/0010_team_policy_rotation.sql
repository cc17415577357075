-- Team self-service and key rotation (issue 5).
-- migrations/postgres/0010_team_policy_rotation.sql is the same change; change both together.
--
-- member_policy: the limits a team's admins set on the keys its members make for themselves
-- (models they may grant, budget and rate limits per key, keys per member, default and longest
-- expiry), a JSON object kept verbatim as text (`tollgate_domain::policy::MemberPolicy`);
-- NULL: members are held to the team's own limits only.
ALTER TABLE teams ADD COLUMN member_policy TEXT;

-- Rotation: a key's secret is replaced, and the previous one keeps working until
-- previous_key_expires_at (the grace period the rotator chose), then stops. Both NULL: no
-- previous secret is accepted.
ALTER TABLE virtual_keys ADD COLUMN previous_key_hash TEXT;
ALTER TABLE virtual_keys ADD COLUMN previous_key_expires_at INTEGER;
CREATE INDEX virtual_keys_previous_key_hash_idx ON virtual_keys (previous_key_hash);
