-- The workspace a session looks at, for users in several; none (or one
-- the user has left): their first.
ALTER TABLE sessions ADD COLUMN workspace_id TEXT REFERENCES workspaces (id) ON DELETE SET NULL;
