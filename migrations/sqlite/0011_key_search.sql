-- Searching keys (issue 5): a display prefix or suffix is found by index; a substring of the
-- alias reads every key (SQLite has no trigram index; single-node installations hold few keys).
-- migrations/postgres/0011_key_search.sql is the same change, with a trigram index for the alias.
CREATE INDEX virtual_keys_key_prefix_idx ON virtual_keys (key_prefix);
CREATE INDEX virtual_keys_key_suffix_idx ON virtual_keys (key_suffix);
