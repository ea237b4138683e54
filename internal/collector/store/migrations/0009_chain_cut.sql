-- Where the last audit export cut the report chain (issue #18), in Unix
-- microseconds; 0 before the first. A report appended to the chain after
-- the cut gets a receipt time at or after it (store/chain.go), so it
-- falls into the next export's window and never between two exports,
-- even when it was received before the export and stored after it.
ALTER TABLE chain_head ADD COLUMN cut_us BIGINT NOT NULL DEFAULT 0;
