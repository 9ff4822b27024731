-- vigie schema, stories by event (issue 24): what the event comparison keeps of an article
-- (its terms: hashes of its folded, stemmed words and figures; see `stories::event::Terms`),
-- so that the window is rebuilt at start without re-reading any text. NULL for articles
-- stored before: they are not compared by event, only by their fingerprints.
ALTER TABLE articles ADD COLUMN event_terms BLOB;
