-- Hosts bound to their agent's key (issue #14). An agent signs every
-- report with its Ed25519 key; the first verified report of a host id
-- pins that key to it, and later reports of the host must verify against
-- the pinned key. Only an administrator moves a pin (rekey), and every such
-- action is written to admin_audit.

-- One row per host id that has, or had, a pinned key. public_key is NULL
-- after an administrator cleared the pin: the next verified report pins
-- again. refused_key is the latest key a report of this host was refused
-- for, so that an administrator sees a re-installed (re-keyed) agent.
-- No foreign key to hosts: a key is pinned before the report is stored.
CREATE TABLE host_keys (
	host_id     TEXT PRIMARY KEY,
	public_key  {{bytes}},        -- 32 bytes, or NULL when cleared
	pinned_at   BIGINT,
	pinned_by   TEXT NOT NULL DEFAULT '', -- "first-contact" or the admin credential's name
	refused_key {{bytes}},
	refused_at  BIGINT
);

-- The key and signature each report was received with, for the audit
-- export: with the stored body they prove what the agent sent. NULL for
-- reports received unsigned (before this migration, or --allow-unsigned).
ALTER TABLE reports ADD COLUMN public_key {{bytes}};
ALTER TABLE reports ADD COLUMN signature {{bytes}};

-- What administrators did: who (the admin credential's name, or "cli"
-- and the OS user), from where, what, to which target.
CREATE TABLE admin_audit (
	id         TEXT PRIMARY KEY,
	at         BIGINT NOT NULL,
	credential TEXT NOT NULL,
	remote     TEXT NOT NULL,
	action     TEXT NOT NULL,
	target     TEXT NOT NULL,
	detail     TEXT NOT NULL
);
CREATE INDEX admin_audit_at ON admin_audit (at, id);
