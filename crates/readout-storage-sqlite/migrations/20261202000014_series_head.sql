-- The head of the series store (readout-storage, head.rs): one row per
-- write holding its numbers, and one row per host holding its latest
-- readings; the compactor folds head rows into points and roll-ups.
CREATE TABLE samples (
    id INTEGER PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX samples_of_host ON samples (host_id, at_ms);

-- Overrides series.last_* for the series it names.
CREATE TABLE latest (
    host_id TEXT PRIMARY KEY NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    data BLOB NOT NULL
);
