-- The alert outbox (issue #18): one row per alert a webhook is to get,
-- written in the same transaction as the host state change it reports, so
-- that an alert is never lost (it is stored before the report is
-- acknowledged) nor sent for a state that was not stored (a transaction
-- rolled back takes its alerts with it). Package alert delivers the rows.
--
-- event_id is the same for every webhook that gets one event, and stable
-- across retries, so that receivers can drop a repeat. The host's fields
-- are copied as they were at the change: the host may change again, or be
-- deleted, before the alert is delivered.
CREATE TABLE alert_outbox (
	event_id     TEXT NOT NULL,
	webhook      TEXT NOT NULL,    -- the webhook's name in the alerts config
	event        TEXT NOT NULL,    -- restricted, incomplete, unprotected or recovered
	host_id      TEXT NOT NULL,
	hostname     TEXT NOT NULL,
	os           TEXT NOT NULL,
	report_id    TEXT NOT NULL,    -- the report that made the change
	from_state   TEXT NOT NULL,    -- '' for a host's first report
	to_state     TEXT NOT NULL,
	verdict      TEXT NOT NULL,
	restricted   TEXT NOT NULL,    -- JSON array of product names
	protection   TEXT NOT NULL,    -- JSON array of product names
	scanned_at   BIGINT NOT NULL,  -- the report's generated_at
	created_at   BIGINT NOT NULL,  -- when the report was stored (its received_at)
	status       TEXT NOT NULL,    -- pending, delivered or failed (given up)
	attempts     INTEGER NOT NULL,
	next_attempt BIGINT NOT NULL,  -- due time; while claimed, the lease's end
	lease        TEXT NOT NULL,    -- the claim of the worker delivering it
	last_error   TEXT NOT NULL,
	finished_at  BIGINT,           -- delivered or given up
	PRIMARY KEY (event_id, webhook)
);
CREATE INDEX alert_outbox_due ON alert_outbox (status, next_attempt);
-- A host's alerts go to a webhook in order: the oldest pending first.
CREATE INDEX alert_outbox_host ON alert_outbox (webhook, host_id, status, created_at);
CREATE INDEX alert_outbox_finished ON alert_outbox (finished_at);
