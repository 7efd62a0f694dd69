-- Channels and routes a workspace keeps for its own servers; without a
-- workspace they are the operator's (made with the admin token) and route
-- every server's incidents. Names are unique within their owner.
ALTER TABLE channels ADD COLUMN workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE;
ALTER TABLE channels DROP CONSTRAINT channels_name_key;
CREATE UNIQUE INDEX channels_name ON channels (COALESCE(workspace_id, ''), name);

ALTER TABLE routes ADD COLUMN workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE;
ALTER TABLE routes DROP CONSTRAINT routes_name_key;
CREATE UNIQUE INDEX routes_name ON routes (COALESCE(workspace_id, ''), name);
