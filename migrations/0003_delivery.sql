-- vigie schema, delivery (contract §5): emails that carry several deliveries (digests
-- and flood summaries), manual retries, and when each digest last ran.

-- One email that carries several deliveries: a digest for one recipient, or the summary
-- of one watch's flood hour for one recipient. Its deliveries point at it (batch_id) and
-- leave `pending` with it.
CREATE TABLE batches (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,          -- 'digest' | 'flood'
    name            TEXT NOT NULL,          -- the digest's name, or the watch's for 'flood'
    recipient       TEXT NOT NULL,
    period_start    INTEGER,                -- what it covers: after the previous digest / the hour
    period_end      INTEGER NOT NULL,       -- the digest's scheduled time / the end of the hour
    message_id      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    retry_since     INTEGER NOT NULL,       -- the 24 h of retries count from here
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX batches_due ON batches(status, next_attempt_at);

ALTER TABLE deliveries ADD COLUMN batch_id INTEGER REFERENCES batches(id);
-- Set by `vigie outbox retry`: the 24 h of retries count from here instead of created_at.
ALTER TABLE deliveries ADD COLUMN retry_since INTEGER;
CREATE INDEX deliveries_batch ON deliveries(batch_id);
CREATE INDEX deliveries_window ON deliveries(kind, recipient, created_at);
CREATE INDEX deliveries_digest ON deliveries(status, digest, created_at);

-- The scheduled time of the last digest built, per digest name.
CREATE TABLE digest_runs (
    name            TEXT PRIMARY KEY,
    last_at         INTEGER NOT NULL
);
