-- The fleet over time (issue #18): how many hosts were restricted,
-- incomplete, unprotected, clean and stale at the end of each day, fast
-- for any fleet size. Each row is a change, made on the day `day` (days
-- since 1970-01-01 UTC, of the report's receipt), to the number of hosts
-- whose last received report put them in `state` with a scan in the hour
-- `scan_hour` (hours since 1970-01-01 UTC, of generated_at). A host's new
-- report subtracts one from its previous report's key and adds one to its
-- own, both on the day it arrives, so the fleet at the end of day D is the
-- sum of the rows up to D, and a host is stale on day D when its scan
-- hour ends before the end of D minus the stale window: staleness counts
-- from the scan time, as in migration 0004, for any window chosen later.
-- Rows are maintained on ingest (store/trend.go), a few per batch.
CREATE TABLE fleet_trend (
	day       BIGINT NOT NULL,
	state     TEXT NOT NULL,
	scan_hour BIGINT NOT NULL,
	hosts     BIGINT NOT NULL,
	PRIMARY KEY (day, state, scan_hour)
);

-- Hosts stored before this migration enter the trend on the day their
-- latest report arrived, in that report's state: the states of earlier
-- reports are only in their compressed bodies.
INSERT INTO fleet_trend (day, state, scan_hour, hosts)
	SELECT last_seen / 86400000000, state, last_generated_at / 3600000000, COUNT(*)
	FROM hosts GROUP BY last_seen / 86400000000, state, last_generated_at / 3600000000;

-- Breakdowns by OS and by tag read these without touching the hosts'
-- rows; the tag filter and breakdown find a key's hosts by the second.
CREATE INDEX hosts_os_state ON hosts (os, state, last_generated_at);
CREATE INDEX host_tags_key ON host_tags (tag_key, tag_value, host_id);
-- The white-label figure's filter.
CREATE INDEX hosts_white_label ON hosts (white_label, state_rank, search, id);
