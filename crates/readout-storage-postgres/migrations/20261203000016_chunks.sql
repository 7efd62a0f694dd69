-- Compacted series history (readout-storage, chunk.rs): one row per host
-- and hour holding its raw numbers, one per series and day holding its
-- hourly aggregates. They replace `points` and `rollups`, whose rows are
-- converted at start-up (`convert_legacy`) and which a later release drops.
CREATE TABLE chunks (
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    hour_ms BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (host_id, hour_ms)
);

CREATE TABLE trends (
    series_id BIGINT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    day_ms BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (series_id, day_ms)
);

-- The compactor takes the host with the oldest head row of a closed hour,
-- once the row has settled: a host's hour is then written once, not once
-- per cycle of a spool sending old cycles.
ALTER TABLE samples ADD COLUMN received_at_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX samples_by_time ON samples (at_ms);
