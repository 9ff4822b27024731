-- vigie schema, claims (contract §5: the promises hold whatever runs at once on one store):
-- before a process sends an outbox row, it claims the row — its name and until when, by the
-- database's clock — so that the daemon, `vigie poll`, `vigie outbox retry` and `vigie
-- digest send` never send one email twice. A claim ends when the row is marked, when its
-- time runs out, or at once when its owner is seen to have died.
ALTER TABLE deliveries ADD COLUMN claim_owner TEXT;
ALTER TABLE deliveries ADD COLUMN claim_until INTEGER;
ALTER TABLE batches ADD COLUMN claim_owner TEXT;
ALTER TABLE batches ADD COLUMN claim_until INTEGER;

-- Notices that are not alerts (a feed failing for a day, silent, recovered), queued in the
-- transaction that records the feed's state and sent through the outbox like every other
-- message: retried with backoff, claimed, never lost to an outage.
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,          -- 'feed-health'
    subject_of      TEXT NOT NULL,          -- what it is about: the feed's name
    recipient       TEXT NOT NULL,          -- an address, or channel:NAME
    message_id      TEXT NOT NULL UNIQUE,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    retry_since     INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    claim_owner     TEXT,
    claim_until     INTEGER
);
CREATE INDEX notices_due ON notices(status, next_attempt_at);
