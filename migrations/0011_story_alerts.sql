-- vigie schema, the Atom feeds (issue 27): one row per (watch, story) that alerted — an
-- immediate watch's match that queued its alerts, a digest watch's match queued for its
-- digest, or the match of a watch with no recipient but its feed — written in the article's
-- transaction. The feeds of watches and digests list these rows; their entries are keyed
-- by (watch or digest, story), so a later outlet updates an entry, never adds one.
CREATE TABLE story_alerts (
    id              INTEGER PRIMARY KEY,
    watch           TEXT NOT NULL,
    story_key       TEXT NOT NULL,          -- the story's key (stories.key), as Message-IDs use it
    digest          TEXT,                   -- the digest it was queued for; NULL for an immediate watch
    match_id        INTEGER NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
    alerted_at      INTEGER NOT NULL,
    UNIQUE (watch, story_key)
);
CREATE INDEX story_alerts_watch ON story_alerts(watch, id);
CREATE INDEX story_alerts_digest ON story_alerts(digest, id);
CREATE INDEX story_alerts_match ON story_alerts(match_id);

-- What alerted before this table existed: every story a delivery was queued for.
INSERT OR IGNORE INTO story_alerts (watch, story_key, digest, match_id, alerted_at)
SELECT m.watch, COALESCE(s.key, a.key), MAX(d.digest), MIN(m.id), MIN(d.created_at)
FROM deliveries d
JOIN matches m ON m.id = d.match_id
JOIN articles a ON a.id = m.article_id
LEFT JOIN stories s ON s.id = a.story_id
GROUP BY m.watch, COALESCE(s.key, a.key)
ORDER BY MIN(d.created_at), MIN(m.id);
