-- People and where they work. A workspace holds hosts and their dashboards;
-- a user belongs to workspaces with a role in each.
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    -- Stored lowercased: one account per address.
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- argon2id, PHC string.
    password_hash TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_of_user ON memberships (user_id);

-- Browser sessions: only the SHA-256 of the cookie's token is kept.
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Sent back with every state-changing request of the session.
    csrf_token TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_of_user ON sessions (user_id);

-- One row once the owner exists: a second first-run loses on the key.
CREATE TABLE setup (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    done_at_ms BIGINT NOT NULL
);
