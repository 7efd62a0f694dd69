-- no-transaction
-- Channels and routes a workspace keeps for its own servers; without a
-- workspace they are the operator's (made with the admin token) and route
-- every server's incidents. Names are unique within their owner.
--
-- SQLite cannot drop a column's UNIQUE: the tables are rebuilt, with
-- foreign keys off so that dropping the old ones cascades nowhere
-- (https://www.sqlite.org/lang_altertable.html#otheralter).
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE channels_new (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config_json TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
INSERT INTO channels_new (id, name, config_json, created_at_ms, updated_at_ms)
    SELECT id, name, config_json, created_at_ms, updated_at_ms FROM channels;
DROP TABLE channels;
ALTER TABLE channels_new RENAME TO channels;
CREATE UNIQUE INDEX channels_name ON channels (COALESCE(workspace_id, ''), name);

CREATE TABLE routes_new (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    route_json TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
INSERT INTO routes_new (id, name, route_json, created_at_ms, updated_at_ms)
    SELECT id, name, route_json, created_at_ms, updated_at_ms FROM routes;
DROP TABLE routes;
ALTER TABLE routes_new RENAME TO routes;
CREATE UNIQUE INDEX routes_name ON routes (COALESCE(workspace_id, ''), name);

COMMIT;
PRAGMA foreign_keys = ON;
