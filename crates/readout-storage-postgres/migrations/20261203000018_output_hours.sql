-- Closed hours of raw output (readout-storage, pack.rs): the compactor
-- packs a host's results of one command and hour into one row and removes
-- their `command_results` rows. A host's hour is packed when its `samples`
-- rows are folded, and every cycle now leaves one, values or not.
CREATE TABLE output_hours (
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    hour_ms BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (host_id, name, hour_ms)
);

-- Hours already folded before this release still hold their results:
-- an empty head row (no numbers) per host and hour brings each hour back
-- to the compactor, which packs it.
INSERT INTO samples (host_id, at_ms, data, received_at_ms)
SELECT host_id, MIN(started_at_ms), decode('0100', 'hex'), 0 FROM command_results
GROUP BY host_id, started_at_ms / 3600000;
