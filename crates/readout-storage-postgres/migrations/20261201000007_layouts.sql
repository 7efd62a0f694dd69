-- A host's dashboard as its workspace arranged it, one per kind of screen.
-- No row: the server draws the default layout from the host's variables.
CREATE TABLE layouts (
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    device TEXT NOT NULL CHECK (device IN ('desktop', 'mobile')),
    panels_json TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    -- Who saved it last; kept if the account goes.
    updated_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (host_id, device)
);
