-- Definitions health (issue #18): the date of each current product's last
-- anti-virus definitions update (Kaspersky's bases, Defender's signatures)
-- as its evidence records it, and the day its policy rule bars updates
-- from, both YYYY-MM-DD ('' when unknown), so that hosts whose definitions
-- stopped can be listed. Rows written before this migration stay '' until
-- their host's next report.
--
-- evidence is a short summary of the product's evidence ("dpkg package
-- kesl 12.1.0.2968; units service kesl.service (+2 more)"), for exports.
ALTER TABLE host_products ADD COLUMN definitions_date TEXT NOT NULL DEFAULT '';
ALTER TABLE host_products ADD COLUMN updates_ended TEXT NOT NULL DEFAULT '';
ALTER TABLE host_products ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
-- 1 when the definitions stopped in the month before updates_ended:
-- updated until the policy barred updates, then frozen.
ALTER TABLE host_products ADD COLUMN definitions_stopped INTEGER NOT NULL DEFAULT 0;
CREATE INDEX host_products_definitions ON host_products (definitions_date, host_id);
-- The summary counts the hosts whose definitions stopped: few rows.
CREATE INDEX host_products_stopped ON host_products (definitions_stopped, host_id);
