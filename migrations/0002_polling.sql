-- vigie schema, version 2: polling state. Times are Unix seconds (UTC).

-- The interval last decided for the feed, in seconds: the configured one, or for
-- interval = "auto" the one learnt from its publishing rate (kept across 304s).
ALTER TABLE feeds ADD COLUMN interval_secs INTEGER;
-- When the feed was disabled (410), next to `disabled`, which says why.
ALTER TABLE feeds ADD COLUMN disabled_at INTEGER;

-- The daemon asks for due feeds every cycle; with thousands of feeds, an index.
CREATE INDEX feeds_due ON feeds(next_poll_at) WHERE disabled IS NULL;
