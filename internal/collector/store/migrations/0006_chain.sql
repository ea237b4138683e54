-- The report chain (issue #18): every stored report gets an entry, numbered
-- without gaps in the order reports are stored (seq), whose hash covers the
-- previous entry's hash, the report's digest, its receipt time, its id and
-- its host (the encoding is package auditbundle's, EntryHash). An audit
-- bundle carries a window's entries and the head, signed by the collector,
-- so that a changed, dropped or reordered report shows.
--
-- Entries are never deleted: retention prunes reports, not their entries,
-- so that the chain stays whole. There is no foreign key to reports.
CREATE TABLE report_chain (
	seq           BIGINT PRIMARY KEY,
	report_id     TEXT NOT NULL UNIQUE,
	host_id       TEXT NOT NULL,
	received_at   BIGINT NOT NULL,
	report_sha256 {{bytes}} NOT NULL,
	prev_hash     {{bytes}} NOT NULL,
	hash          {{bytes}} NOT NULL
);
CREATE INDEX report_chain_received ON report_chain (received_at, seq);

-- The chain's last entry: one row, locked by each transaction that
-- appends (SELECT … FOR UPDATE on PostgreSQL; SQLite has one writer), so
-- that replicas sharing a database append one after another. seq 0 and
-- zero hash before the first entry. Existing reports are chained in
-- receipt order right after this file (store.backfillChain).
CREATE TABLE chain_head (
	id   INTEGER PRIMARY KEY,
	seq  BIGINT NOT NULL,
	hash {{bytes}} NOT NULL
);

-- The access log (admin_audit: every administrator read, export and
-- change) has a chain of its own, built the same way over each entry's
-- digest (auditbundle.AccessDigest), with its head in chain_head row 2,
-- appended in the transaction that writes the entry. Retention prunes
-- access entries, never their chain entries. Existing entries are
-- chained in (at, id) order by store.backfillChain.
CREATE TABLE access_chain (
	seq          BIGINT PRIMARY KEY,
	audit_id     TEXT NOT NULL UNIQUE,
	at           BIGINT NOT NULL,
	entry_sha256 {{bytes}} NOT NULL,
	prev_hash    {{bytes}} NOT NULL,
	hash         {{bytes}} NOT NULL
);
CREATE INDEX access_chain_at ON access_chain (at, seq);
