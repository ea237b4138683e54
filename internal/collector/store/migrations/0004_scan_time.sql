-- Hosts are stale by the time their latest scan ran (generated_at), not
-- by when its report arrived (issue #18): a report an agent queued for
-- days while offline, or one replayed, says nothing about the host now.
CREATE INDEX hosts_last_generated ON hosts (last_generated_at);

-- The access log (every admin read and export) lives in admin_audit; its
-- entries are listed by target (a path or a host id), newest first.
CREATE INDEX admin_audit_target ON admin_audit (target, at);
