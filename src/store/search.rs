//! Store stage, full-text search (`vigie search`): SQLite's FTS5, or a `tsvector` column on
//! PostgreSQL, both fed the same folded words. Invariants: the index
//! holds text folded exactly as the matcher folds it, and queries are folded the same
//! way, so «GENEVE», «Genève» and «geneve» find the same articles; indexing catches up
//! incrementally (new and edited articles), apart from ingestion's own transactions (the
//! daemon's hourly housekeeping, or before a `vigie search`), [`BATCH`] articles a
//! transaction: the daemon lets go of the store between batches, so a large backlog never
//! holds a poll back for longer than one batch; a query FTS5 cannot parse is an error,
//! never a panic.

use crate::store::db::{Connection, Dialect, params};
use chrono::{DateTime, Utc};

use super::{Result, StoreError, StoreHandle, from_ts, to_ts};
use crate::rules::fold::fold;

/// Articles indexed in one transaction.
pub const BATCH: usize = 500;

/// Index every article that is new or edited since it was last indexed, a batch at a
/// time, on a store this caller has to itself (`vigie search`). Returns how many were
/// (re)indexed.
pub fn catch_up(conn: &mut Connection, now: DateTime<Utc>) -> Result<usize> {
    let mut total = 0;
    loop {
        let n = catch_up_batch(conn, now, BATCH)?;
        total += n;
        if n < BATCH {
            return Ok(total);
        }
    }
}

/// [`catch_up`] on a shared store: the store is let go between batches, so that polls
/// waiting for it go first.
pub async fn catch_up_shared(store: &StoreHandle, now: DateTime<Utc>) -> Result<usize> {
    let mut total = 0;
    loop {
        let n = store
            .call(move |s| catch_up_batch(&mut s.conn, now, BATCH))
            .await?;
        total += n;
        if n < BATCH {
            return Ok(total);
        }
    }
}

/// Index at most `limit` of the articles waiting, oldest first, in one transaction.
pub fn catch_up_batch(conn: &mut Connection, now: DateTime<Utc>, limit: usize) -> Result<usize> {
    let tx = conn.write_transaction()?;
    let todo: Vec<(i64, String, String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, title, summary, content FROM articles
             WHERE indexed_at IS NULL OR indexed_at < COALESCE(updated_at, first_seen_at)
             ORDER BY id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    for (id, title, summary, content) in &todo {
        let body = format!("{}\n{}", fold(summary).text, fold(content).text);
        match tx.dialect() {
            Dialect::Sqlite => {
                tx.execute("DELETE FROM articles_fts WHERE rowid = ?1", [id])?;
                tx.execute(
                    "INSERT INTO articles_fts (rowid, title, body) VALUES (?1, ?2, ?3)",
                    params![id, fold(title).text, body],
                )?;
            }
            // The same folded words, in the article's own `search` column.
            Dialect::Postgres => {
                tx.execute(
                    "UPDATE articles SET search = setweight(to_tsvector('simple', ?2), 'A')
                                                  || to_tsvector('simple', ?3)
                     WHERE id = ?1",
                    params![id, words(&fold(title).text), words(&body)],
                )?;
            }
        }
        // Never before its own time: a clock behind the article's would index it forever.
        tx.execute(
            "UPDATE articles SET indexed_at = CASE WHEN ?2 > COALESCE(updated_at, first_seen_at)
                 THEN ?2 ELSE COALESCE(updated_at, first_seen_at) END
             WHERE id = ?1",
            params![id, to_ts(now)],
        )?;
    }
    tx.commit()?;
    Ok(todo.len())
}

/// Folded text as words separated by spaces: PostgreSQL's parser then finds the words the
/// matcher sees whatever the database's locale (under `C`, it would glue «, ’ and other
/// non-ASCII marks to the words beside them).
/// At most [`TSVECTOR_INPUT`] bytes of it: PostgreSQL refuses a `tsvector` over 1 MB, and a
/// hostile item of that many distinct words must not stop the indexing of every other.
fn words(folded: &str) -> String {
    let mut end = folded.len().min(TSVECTOR_INPUT);
    while !folded.is_char_boundary(end) {
        end -= 1;
    }
    folded[..end]
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect()
}

/// The most text of one article PostgreSQL's index reads (its words past that are not
/// searched; SQLite's FTS5 has no such limit).
const TSVECTOR_INPUT: usize = 256 * 1024;

/// An FTS5 query made by [`fts_query`] in PostgreSQL's tsquery syntax: a `"phrase"` is
/// words in sequence (`<->`), `*` a prefix (`:*`), OR `|`, NOT `& !`, and terms side by
/// side must all be there (`&`). Its words are letters and digits only.
fn ts_query(fts: &str) -> String {
    let mut out = String::new();
    // Whether the last thing written was a term or `)`, after which a term needs an `&`.
    let mut after_term = false;
    let mut chars = fts.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' => {}
            '"' => {
                let phrase: String = chars.by_ref().take_while(|&ch| ch != '"').collect();
                let prefix = chars.next_if_eq(&'*').is_some();
                if after_term {
                    out.push_str(" & ");
                }
                let words: Vec<&str> = phrase.split(' ').filter(|w| !w.is_empty()).collect();
                out.push('(');
                out.push_str(&words.join(" <-> "));
                if prefix {
                    out.push_str(":*");
                }
                out.push(')');
                after_term = true;
            }
            '(' => {
                if after_term {
                    out.push_str(" & ");
                }
                out.push('(');
                after_term = false;
            }
            ')' => {
                out.push(')');
                after_term = true;
            }
            _ => {
                let mut op = String::from(c);
                while let Some(ch) = chars.next_if(|ch| ch.is_ascii_uppercase()) {
                    op.push(ch);
                }
                out.push_str(match op.as_str() {
                    "OR" => " | ",
                    "NOT" => " & !",
                    _ => " & ",
                });
                after_term = false;
            }
        }
    }
    out
}

/// Translate a user's query into FTS5 syntax over folded text: words and `"phrases"`
/// are folded and quoted, `word*` is a prefix, `OR`/`AND`/`NOT` and parentheses pass
/// through, `-word` excludes. `None` when nothing searchable is left.
pub fn fts_query(q: &str) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let mut chars = q.chars().peekable();
    let mut negate_next = false;
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '(' || c == ')' {
            out.push(c.to_string());
            chars.next();
            continue;
        }
        if c == '-'
            && out
                .last()
                .is_some_and(|l| l != "(" && l != "OR" && l != "AND" && l != "NOT")
        {
            chars.next();
            negate_next = true;
            continue;
        }
        let mut token = String::new();
        if c == '"' {
            chars.next();
            for ch in chars.by_ref() {
                if ch == '"' {
                    break;
                }
                token.push(ch);
            }
            if let Some(t) = quoted(&token, false) {
                push_term(&mut out, t, &mut negate_next);
            }
            continue;
        }
        while let Some(&ch) = chars.peek() {
            if ch.is_whitespace() || ch == '(' || ch == ')' || ch == '"' {
                break;
            }
            token.push(ch);
            chars.next();
        }
        match token.as_str() {
            "OR" | "AND" | "NOT" => out.push(token),
            _ => {
                let prefix = token.ends_with('*');
                if let Some(t) = quoted(token.trim_end_matches('*'), prefix) {
                    push_term(&mut out, t, &mut negate_next);
                }
            }
        }
    }
    while out
        .last()
        .is_some_and(|l| l == "OR" || l == "AND" || l == "NOT")
    {
        out.pop();
    }
    (!out.is_empty()).then(|| out.join(" "))
}

fn push_term(out: &mut Vec<String>, term: String, negate: &mut bool) {
    if std::mem::take(negate) {
        out.push("NOT".into());
    }
    out.push(term);
}

fn quoted(raw: &str, prefix: bool) -> Option<String> {
    let folded = fold(raw).text;
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(format!(
        "\"{}\"{}",
        words.join(" "),
        if prefix { "*" } else { "" }
    ))
}

#[derive(Debug, Clone)]
pub struct Found {
    pub id: i64,
    pub title: String,
    pub feed: String,
    pub link: Option<String>,
    pub date: DateTime<Utc>,
}

/// Articles matching `query`, newest first.
pub fn search(conn: &Connection, query: &str, limit: usize) -> Result<Vec<Found>> {
    let (sql, fts) = match conn.dialect() {
        Dialect::Sqlite => match fts_query(query) {
            Some(fts) => (
                "SELECT a.id, a.title, f.name, a.link, COALESCE(a.published_at, a.first_seen_at) AS d
                 FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
                 JOIN feeds f ON f.id = a.feed_id
                 WHERE articles_fts MATCH ?1 ORDER BY d DESC, a.id DESC LIMIT ?2",
                fts,
            ),
            None => return Ok(Vec::new()),
        },
        // The same query, in PostgreSQL's tsquery syntax.
        Dialect::Postgres => match fts_query(query) {
            Some(fts) => (
                "SELECT a.id, a.title, f.name, a.link, COALESCE(a.published_at, a.first_seen_at) AS d
                 FROM articles a JOIN feeds f ON f.id = a.feed_id
                 WHERE a.search @@ to_tsquery('simple', ?1) ORDER BY d DESC, a.id DESC LIMIT ?2",
                ts_query(&fts),
            ),
            None => return Ok(Vec::new()),
        },
    };
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt
        .query_map(params![fts, limit as i64], |r| {
            Ok(Found {
                id: r.get(0)?,
                title: r.get(1)?,
                feed: r.get(2)?,
                link: r.get(3)?,
                date: from_ts(r.get(4)?),
            })
        })
        .and_then(|rows| rows.collect::<crate::store::db::Result<Vec<_>>>());
    rows.map_err(|e| match e {
        crate::store::db::DbError::Sqlite(rusqlite::Error::SqliteFailure(_, Some(msg)))
            if msg.contains("fts5") =>
        {
            StoreError::Task(format!("cannot search for {query:?}: {msg}"))
        }
        other => StoreError::Db(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fts5_query_in_postgresql_syntax() {
        let ts = |q: &str| ts_query(&fts_query(q).unwrap());
        assert_eq!(
            ts("\"Etat islamique\" syri*"),
            "(etat <-> islamique) & (syri:*)"
        );
        assert_eq!(ts("blé OR Palmyre -Alep"), "(ble) | (palmyre) & !(alep)");
        assert_eq!(ts("(a OR b) c"), "((a) | (b)) & (c)");
    }

    #[test]
    fn queries_are_folded_like_the_matcher() {
        assert_eq!(fts_query("Genève").as_deref(), Some("\"geneve\""));
        assert_eq!(
            fts_query("\"État islamique\" OR Daech").as_deref(),
            Some("\"etat islamique\" OR \"daech\"")
        );
        assert_eq!(
            fts_query("syri* -football").as_deref(),
            Some("\"syri\"* NOT \"football\"")
        );
        assert_eq!(fts_query("l'ONU").as_deref(), Some("\"l onu\""));
        assert_eq!(
            fts_query("(Alep OR Homs) AND").as_deref(),
            Some("( \"alep\" OR \"homs\" )")
        );
        assert_eq!(fts_query("  ** \"\" "), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backlog_is_indexed_in_batches_that_let_other_work_in() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open_in(dir.path()).unwrap();
        let total = 3 * BATCH + 7;
        {
            let tx = store.conn.transaction().unwrap();
            tx.execute(
                "INSERT INTO feeds (name, config_url, url) VALUES ('f', 'u', 'u')",
                [],
            )
            .unwrap();
            for i in 0..total {
                tx.execute(
                    "INSERT INTO articles (key, feed_id, title_hash, title, summary, content, content_hash, first_seen_at)
                     VALUES (?1, 1, 'h', ?2, '', 'Les négociations de Genève reprennent.', 'c', 0)",
                    params![format!("k{i}"), format!("Article {i} sur Palmyre")],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        let store = StoreHandle::new(store);
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let indexing = tokio::spawn({
            let store = store.clone();
            async move { catch_up_shared(&store, now).await }
        });
        // Another caller of the store (a poll) gets in while the backlog is still there.
        let mut seen = Vec::new();
        loop {
            let n: usize = store
                .call(|s| {
                    Ok(s.conn.query_row(
                        "SELECT COUNT(*) FROM articles WHERE indexed_at IS NOT NULL",
                        [],
                        |r| r.get::<_, i64>(0),
                    )? as usize)
                })
                .await
                .unwrap();
            seen.push(n);
            if n == total || indexing.is_finished() {
                break;
            }
        }
        assert_eq!(indexing.await.unwrap().unwrap(), total);
        assert!(
            seen.iter().any(|&n| n > 0 && n < total),
            "no other call got in between batches: {seen:?}"
        );
        let found = store.call(|s| search(&s.conn, "genève", 5)).await.unwrap();
        assert_eq!(found.len(), 5);
    }
}
