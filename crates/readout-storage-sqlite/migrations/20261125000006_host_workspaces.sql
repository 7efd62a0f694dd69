-- Each host belongs to a workspace. Hosts made before the owner account
-- (by `readout demo` or the CLI) have none until first-run gives them the
-- owner's workspace.
ALTER TABLE hosts ADD COLUMN workspace_id TEXT REFERENCES workspaces (id);
CREATE INDEX hosts_by_workspace ON hosts (workspace_id);
