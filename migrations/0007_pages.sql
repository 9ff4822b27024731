-- Article pages (contract §2 `fulltext`, §6): feeds whose items are teasers have each new
-- article's page fetched and its article text matched instead.

-- The automatic decision at the feed's last poll with a body: 1 its items are teasers,
-- 0 they are whole articles, NULL not judged yet; and why ("median 24 words an item").
ALTER TABLE feeds ADD COLUMN teasers INTEGER;
ALTER TABLE feeds ADD COLUMN teasers_why TEXT;

-- NULL: no page was wanted for this article; 'ok': its content is its page's article
-- text (the feed's own text is in summary); anything else: why the page could not be had,
-- and the article was matched on the feed's text.
ALTER TABLE articles ADD COLUMN page TEXT;
