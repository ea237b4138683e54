-- Hosts are stale by the time their latest scan ran (generated_at), not
-- by when its report arrived (issue #18): a report an agent queued for
-- days while offline, or one replayed, says nothing about the host now.
CREATE INDEX hosts_last_generated ON hosts (last_generated_at);
