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

-- The current hosts by state: of the whole fleet (dim ''), by OS (dim
-- 'os') and by each tag key (dim 'tag:' and the key), kept by ingest with
-- the trend, so that the summary and the breakdowns read a few rows
-- instead of every host. Who is stale is not kept here (it changes with
-- the clock): the readers count the stale hosts by the scan-time index.
CREATE TABLE fleet_counts (
	dim   TEXT NOT NULL,
	value TEXT NOT NULL,
	state TEXT NOT NULL,
	hosts BIGINT NOT NULL,
	PRIMARY KEY (dim, value, state)
);
INSERT INTO fleet_counts (dim, value, state, hosts)
	SELECT '', '', state, COUNT(*) FROM hosts GROUP BY state;
INSERT INTO fleet_counts (dim, value, state, hosts)
	SELECT 'os', os, state, COUNT(*) FROM hosts GROUP BY os, state;
INSERT INTO fleet_counts (dim, value, state, hosts)
	SELECT 'tag:' || t.tag_key, t.tag_value, h.state, COUNT(*)
	FROM host_tags t JOIN hosts h ON h.id = t.host_id GROUP BY t.tag_key, t.tag_value, h.state;

-- The stale hosts by OS and state, from the scan-time index alone; the
-- white-label figure and its filter; the restricted products in use.
CREATE INDEX hosts_stale_os ON hosts (last_generated_at, os, state, id);
CREATE INDEX host_tags_host ON host_tags (host_id, tag_key, tag_value);
CREATE INDEX hosts_white_label ON hosts (white_label, state_rank, search, id);
CREATE INDEX host_products_restricted ON host_products (restricted, state, product_id, host_id);
