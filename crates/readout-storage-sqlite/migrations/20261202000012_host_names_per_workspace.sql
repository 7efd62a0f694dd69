-- Host names are unique within a workspace, not across all of them: a
-- name taken in one workspace told another that it exists (and let it be
-- squatted).
DROP INDEX hosts_live_name;
CREATE UNIQUE INDEX hosts_live_name_per_workspace ON hosts (COALESCE(workspace_id, ''), name)
    WHERE removed_at_ms IS NULL;
