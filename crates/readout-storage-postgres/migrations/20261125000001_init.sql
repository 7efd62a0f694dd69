CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash BYTEA NOT NULL,
    created_at_ms BIGINT NOT NULL,
    removed_at_ms BIGINT,
    interval_secs INTEGER NOT NULL DEFAULT 60,
    last_seen_at_ms BIGINT,
    last_cycle_at_ms BIGINT,
    agent_version TEXT,
    agent_hostname TEXT,
    agent_os TEXT,
    agent_arch TEXT,
    allowlist_json TEXT NOT NULL DEFAULT '{"entries":[],"invalid":[]}'
);
-- A removed host frees its name.
CREATE UNIQUE INDEX hosts_live_name ON hosts (name) WHERE removed_at_ms IS NULL;

-- Which allowlisted commands a host runs.
CREATE TABLE data_sources (
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    command_name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (host_id, command_name)
);

CREATE TABLE cycles (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    cycle_id TEXT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    agent_version TEXT NOT NULL,
    spool_dropped BIGINT NOT NULL,
    rejected_json TEXT NOT NULL,
    UNIQUE (host_id, cycle_id)
);
CREATE INDEX cycles_host_started ON cycles (host_id, started_at_ms);

CREATE TABLE command_results (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cycle_pk BIGINT NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    host_id TEXT NOT NULL,
    name TEXT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    exit_code INTEGER,
    signal INTEGER,
    timed_out BOOLEAN NOT NULL,
    truncated BOOLEAN NOT NULL,
    output BYTEA NOT NULL
);
CREATE INDEX command_results_latest ON command_results (host_id, name, started_at_ms);
CREATE INDEX command_results_cycle ON command_results (cycle_pk);
