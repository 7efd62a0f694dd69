-- A host's series ids by name (head.rs `Names`) in a row of their own:
-- they change when a host gains a variable, its latest readings change
-- every cycle, and a row is rewritten whole. No row means "rebuild from
-- the series table", which prune asks for by deleting it.
CREATE TABLE series_names (
    host_id TEXT PRIMARY KEY NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    data BYTEA NOT NULL
);
INSERT INTO series_names (host_id, data) SELECT host_id, names FROM latest WHERE names IS NOT NULL;
ALTER TABLE latest DROP COLUMN names;
