-- The first schema of the collector's store. One text serves SQLite and
-- PostgreSQL: {{bytes}} becomes BLOB or BYTEA, and {{bytewise}} makes a
-- column sort by bytes (SQLite's default; COLLATE "C" on PostgreSQL), so
-- that lists come out in the same order on both. Times are Unix microseconds
-- (UTC) in BIGINT columns and flags are 0/1 INTEGERs, which both dialects
-- compare and index the same way.

-- Enrollment tokens: agents authenticate with a secret whose SHA-256 is
-- kept here; the secret itself is never stored.
CREATE TABLE tokens (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	secret_sha256 {{bytes}} NOT NULL UNIQUE,
	created_at    BIGINT NOT NULL,
	revoked_at    BIGINT,
	last_used_at  BIGINT
);

-- One row per host: its identity and the gist of its latest report (by
-- generated_at), kept up to date by every ingest.
CREATE TABLE hosts (
	id                TEXT PRIMARY KEY,
	hostname          TEXT NOT NULL,
	os                TEXT NOT NULL,
	os_version        TEXT NOT NULL,
	arch              TEXT NOT NULL,
	agent_version     TEXT NOT NULL,
	catalog_version   TEXT NOT NULL,
	tags              TEXT NOT NULL,   -- JSON object
	search            TEXT {{bytewise}} NOT NULL, -- lower-case hostname, newline, id: for search and order
	first_seen        BIGINT NOT NULL, -- first report received
	last_seen         BIGINT NOT NULL, -- last report received
	last_report_id    TEXT NOT NULL,   -- the latest report by generated_at
	last_generated_at BIGINT NOT NULL,
	compliant         INTEGER NOT NULL,
	state             TEXT NOT NULL,   -- restricted, unprotected or clean
	state_rank        INTEGER NOT NULL,
	white_label       INTEGER NOT NULL,
	restricted        TEXT NOT NULL,   -- JSON array of product names
	protection        TEXT NOT NULL,   -- JSON array of product names
	product_count     INTEGER NOT NULL
);
CREATE INDEX hosts_order ON hosts (state_rank, search, id);
CREATE INDEX hosts_last_seen ON hosts (last_seen);
CREATE INDEX hosts_last_report ON hosts (last_report_id);

-- The products of each host's latest report.
CREATE TABLE host_products (
	host_id     TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
	pos         INTEGER NOT NULL,
	product_id  TEXT NOT NULL,
	vendor      TEXT NOT NULL,
	vendor_lc   TEXT NOT NULL,
	name        TEXT NOT NULL,
	version     TEXT NOT NULL,
	category    TEXT NOT NULL,
	state       TEXT NOT NULL,
	restricted  INTEGER NOT NULL,
	white_label INTEGER NOT NULL,
	technology  TEXT NOT NULL,
	confidence  TEXT NOT NULL,
	PRIMARY KEY (host_id, pos)
);
CREATE INDEX host_products_product ON host_products (product_id, host_id);
CREATE INDEX host_products_vendor ON host_products (vendor_lc, host_id);

-- The tags of each host's latest report.
CREATE TABLE host_tags (
	host_id   TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
	tag_key   TEXT NOT NULL,
	tag_value TEXT NOT NULL,
	PRIMARY KEY (host_id, tag_key)
);
CREATE INDEX host_tags_pair ON host_tags (tag_key, tag_value);

-- Every report received, as received (gzip-compressed JSON).
CREATE TABLE reports (
	id           TEXT PRIMARY KEY,
	host_id      TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
	generated_at BIGINT NOT NULL,
	received_at  BIGINT NOT NULL,
	token_id     TEXT NOT NULL,
	sha256       {{bytes}} NOT NULL, -- of the uncompressed JSON
	size         BIGINT NOT NULL,    -- of the uncompressed JSON
	body         {{bytes}} NOT NULL
);
CREATE INDEX reports_host ON reports (host_id, generated_at, id);
CREATE INDEX reports_received ON reports (received_at);

-- What changed on a host from one report to the next, in generated_at order.
CREATE TABLE changes (
	report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	host_id    TEXT NOT NULL,
	at         BIGINT NOT NULL,
	kind       TEXT NOT NULL,
	product    TEXT NOT NULL,
	from_value TEXT NOT NULL,
	to_value   TEXT NOT NULL,
	PRIMARY KEY (report_id, seq)
);
CREATE INDEX changes_host ON changes (host_id, at);
