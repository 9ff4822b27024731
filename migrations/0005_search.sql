-- Full-text search over stored articles (vigie search). The indexed text is folded in
-- Rust exactly as the matcher folds it (case, accents, ligatures, apostrophes), so a
-- search finds what a watch would; `indexed_at` lets indexing catch up incrementally.
ALTER TABLE articles ADD COLUMN indexed_at INTEGER;
CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');
