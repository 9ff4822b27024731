-- vigie schema, stories (contract §4): articles that are one story — the same dispatch
-- carried by several outlets — share a story, and alerts are per (watch, story,
-- recipient). Times are Unix seconds (UTC).

CREATE TABLE stories (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,   -- the key of its first article: Message-IDs derive from it
    first_seen_at   INTEGER NOT NULL
);

ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES stories(id);
-- The near-duplicate fingerprint of the article's text (NULL: too short to compare):
-- the exact hash of its normalised words, its number of distinct shingles and its
-- MinHash signature, so that the in-memory index is rebuilt at start without re-reading
-- texts.
ALTER TABLE articles ADD COLUMN text_hash INTEGER;
ALTER TABLE articles ADD COLUMN shingles INTEGER;
ALTER TABLE articles ADD COLUMN signature BLOB;
CREATE INDEX articles_story ON articles(story_id);

-- Articles stored before stories existed are each a story of their own, under their key
-- (so the Message-IDs of their alerts do not change).
INSERT INTO stories (id, key, first_seen_at) SELECT id, key, first_seen_at FROM articles;
UPDATE articles SET story_id = id;

-- A story goes with its last article (retention), so nothing points at nothing.
CREATE TRIGGER stories_pruned AFTER DELETE ON articles
WHEN OLD.story_id IS NOT NULL
 AND NOT EXISTS (SELECT 1 FROM articles WHERE story_id = OLD.story_id)
BEGIN
    DELETE FROM stories WHERE id = OLD.story_id;
END;
