-- A match stores at most a few dozen of its hits (enough for an excerpt and the words
-- that matched); how many there were in all is kept beside them.
ALTER TABLE matches ADD COLUMN hit_count INTEGER;
