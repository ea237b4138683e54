-- The verdict of each host's latest report (issue #12): compliant,
-- non_compliant, or incomplete when no restricted product was found but a
-- source that could have seen one failed or timed out. compliant is now
-- true exactly when the verdict is compliant, and an incomplete host has
-- its own state, ranked after restricted hosts:
-- restricted 0, incomplete 1, unprotected 2, clean 3.
--
-- Hosts stored before this migration get their verdict, compliant flag,
-- state and rank from their latest report's body, in the same transaction
-- right after this file (store.backfillVerdicts): SQL cannot read the
-- gzip-compressed reports. Until then the column is empty.
ALTER TABLE hosts ADD COLUMN verdict TEXT NOT NULL DEFAULT '';
CREATE INDEX hosts_verdict ON hosts (verdict, state_rank, search, id);
