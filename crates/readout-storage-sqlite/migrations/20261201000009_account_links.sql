-- Links sent by email: an invitation into a workspace with a role, or a
-- password reset. Only the SHA-256 of the link's token is kept; a link
-- works once, before it expires.
CREATE TABLE account_links (
    token_hash BLOB PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('invite', 'reset')),
    email TEXT NOT NULL,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    role TEXT CHECK (role IS NULL OR role IN ('admin', 'editor', 'viewer')),
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT
);
