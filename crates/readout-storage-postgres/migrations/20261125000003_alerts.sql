-- Alerts: rules per variable, each variable's state between cycles,
-- incidents, maintenance windows, channels and routes, and the outbox of
-- notifications with its delivery log.

CREATE TABLE alert_rules (
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    variable TEXT NOT NULL,
    rule_json TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (host_id, variable)
);

-- variable '' is the host itself (silence).
CREATE TABLE alert_states (
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    variable TEXT NOT NULL,
    state TEXT NOT NULL,
    -- readout_alerting::Tracker
    tracker_json TEXT NOT NULL,
    value DOUBLE PRECISION,
    observed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (host_id, variable)
);

CREATE TABLE incidents (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    variable TEXT NOT NULL,
    state TEXT NOT NULL,
    value DOUBLE PRECISION,
    opened_at_ms BIGINT NOT NULL,
    changed_at_ms BIGINT NOT NULL,
    resolved_at_ms BIGINT,
    acknowledged_at_ms BIGINT,
    acknowledged_by TEXT
);
CREATE UNIQUE INDEX incidents_open ON incidents (host_id, variable) WHERE resolved_at_ms IS NULL;
CREATE INDEX incidents_by_time ON incidents (opened_at_ms);

-- Every counted change of an incident, for its history.
CREATE TABLE incident_events (
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at_ms BIGINT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    value DOUBLE PRECISION
);
CREATE INDEX incident_events_of ON incident_events (incident_id, at_ms);

CREATE TABLE maintenance_windows (
    id TEXT PRIMARY KEY,
    window_json TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    config_json TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE routes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    route_json TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- What each route was told of each open incident. told_at_ms NULL: held
-- by a maintenance window, to be told when it closes.
CREATE TABLE route_incidents (
    route_id TEXT NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    told_at_ms BIGINT,
    escalated_at_ms BIGINT,
    PRIMARY KEY (route_id, incident_id)
);
CREATE INDEX route_incidents_of ON route_incidents (incident_id);

-- The outbox: written in the transaction of the change that caused it.
CREATE TABLE notifications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    route_id TEXT,
    host_id TEXT,
    notice_json TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    -- pending, delivered, failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    lease_until_ms BIGINT,
    lease_owner TEXT,
    delivered_at_ms BIGINT,
    last_error TEXT
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at_ms);
CREATE INDEX notifications_by_time ON notifications (created_at_ms);

CREATE TABLE delivery_attempts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id BIGINT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    node TEXT NOT NULL,
    ok BOOLEAN NOT NULL,
    status_code INTEGER,
    error TEXT
);
CREATE INDEX delivery_attempts_of ON delivery_attempts (notification_id, attempt);

ALTER TABLE hosts ADD COLUMN silent_after_secs INTEGER;
