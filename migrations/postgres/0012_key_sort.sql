-- Sorting keys (issue 5): the Keys page and GET /api/v1/keys?sort= order by spend, last use,
-- name or expiry, each with the id after it, and page by (value, id) after the last key. These
-- indexes serve each order and its pages without reading every key; their expressions are the
-- store's (crates/store/src/ops/keys.rs, key_order) letter for letter.
CREATE INDEX virtual_keys_spend_sort_idx ON virtual_keys (spend, id);
CREATE INDEX virtual_keys_last_used_sort_idx ON virtual_keys ((COALESCE(last_used_at, -1)), id);
CREATE INDEX virtual_keys_alias_sort_idx ON virtual_keys ((COALESCE(alias, '')), id);
CREATE INDEX virtual_keys_expires_sort_idx ON virtual_keys ((COALESCE(expires_at, 9223372036854775807)), id);
