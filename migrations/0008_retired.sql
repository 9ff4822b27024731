-- A feed removed from the configuration is retired, not deleted: its articles stay (they
-- are other feeds' copies and stories too), but it is no longer due, counted or watched.
-- NULL while the feed is configured; set again to NULL if it comes back.
ALTER TABLE feeds ADD COLUMN retired_at INTEGER;
