-- vigie schema, version 1. Times are Unix seconds (UTC).

CREATE TABLE feeds (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    config_url      TEXT NOT NULL,          -- the URL the configuration gives
    url             TEXT NOT NULL,          -- the URL polled (a 301 updates it)
    etag            TEXT,
    last_modified   TEXT,
    next_poll_at    INTEGER NOT NULL DEFAULT 0,
    last_poll_at    INTEGER,
    last_success_at INTEGER,
    last_error      TEXT,
    last_error_at   INTEGER,
    error_count     INTEGER NOT NULL DEFAULT 0,
    disabled        TEXT,                   -- why the feed is no longer polled (410), or NULL
    polls           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE articles (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,   -- identity at first sight (contract §4)
    feed_id         INTEGER NOT NULL REFERENCES feeds(id),   -- the feed it was first seen in
    guid            TEXT,
    link            TEXT,
    canonical_link  TEXT,
    title_hash      TEXT NOT NULL,
    title           TEXT NOT NULL,
    summary         TEXT NOT NULL,
    content         TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    published_at    INTEGER,
    first_seen_at   INTEGER NOT NULL,
    updated_at      INTEGER
);
CREATE INDEX articles_canonical_link ON articles(canonical_link);
-- Only items with neither id nor link are looked up by title and date.
CREATE INDEX articles_title_hash ON articles(title_hash) WHERE canonical_link IS NULL;
CREATE INDEX articles_first_seen ON articles(first_seen_at);

-- Every feed an article was seen in, with that feed's own id for it.
CREATE TABLE article_feeds (
    article_id      INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    feed_id         INTEGER NOT NULL REFERENCES feeds(id),
    guid            TEXT,
    seen_at         INTEGER NOT NULL,
    PRIMARY KEY (article_id, feed_id)
);
CREATE INDEX article_feeds_guid ON article_feeds(feed_id, guid);

-- A watch matched an article. One row per (watch, article): an edit never re-alerts.
CREATE TABLE matches (
    id              INTEGER PRIMARY KEY,
    watch           TEXT NOT NULL,
    article_id      INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    hits            TEXT NOT NULL,          -- JSON list of {field, start, end, text}
    matched_at      INTEGER NOT NULL,
    UNIQUE (watch, article_id)
);

-- The outbox: one row per email to send, written in the article's transaction.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    match_id        INTEGER NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,          -- 'immediate' | 'digest'
    digest          TEXT,                   -- digest name, for kind = 'digest'
    recipient       TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX deliveries_due ON deliveries(status, kind, next_attempt_at);
