//! Store stage, retention: articles older than `retention` are pruned, except those a
//! pending delivery still needs (an alert or a digest entry not yet sent). Invariant:
//! pruning never takes away what an email still has to show.

use crate::store::db::{Connection, Dialect};
use chrono::{DateTime, Utc};

use super::{Result, to_ts};

/// Delete articles first seen before `cutoff` that no pending delivery needs, with
/// their matches, deliveries, feed links and search entries. Returns how many.
pub fn prune(conn: &mut Connection, cutoff: DateTime<Utc>) -> Result<usize> {
    let tx = conn.write_transaction()?;
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS prune_ids (id BIGINT PRIMARY KEY)",
        [],
    )?;
    tx.execute("DELETE FROM prune_ids", [])?;
    tx.execute(
        "INSERT INTO prune_ids (id)
         SELECT a.id FROM articles a
         WHERE a.first_seen_at < ?1
           AND NOT EXISTS (SELECT 1 FROM matches m JOIN deliveries d ON d.match_id = m.id
                           WHERE m.article_id = a.id AND d.status = 'pending')",
        [to_ts(cutoff)],
    )?;
    if tx.dialect() == Dialect::Sqlite {
        // PostgreSQL's index is a column of the article, gone with it.
        tx.execute(
            "DELETE FROM articles_fts WHERE rowid IN (SELECT id FROM prune_ids)",
            [],
        )?;
    }
    // Foreign keys cascade to matches, deliveries and article_feeds.
    let n = tx.execute(
        "DELETE FROM articles WHERE id IN (SELECT id FROM prune_ids)",
        [],
    )?;
    tx.execute("DELETE FROM prune_ids", [])?;
    tx.commit()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn old_articles_go_unless_a_pending_delivery_needs_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_in(dir.path()).unwrap();
        let now = chrono::Utc::now();
        let old = to_ts(now - chrono::Duration::days(100));
        let c = &s.conn;
        c.execute(
            "INSERT INTO feeds (id, name, config_url, url) VALUES (1, 'f', 'u', 'u')",
            [],
        )
        .unwrap();
        for (id, seen) in [(1, old), (2, old), (3, to_ts(now))] {
            c.execute(
                "INSERT INTO articles (id, key, feed_id, title_hash, title, summary, content, content_hash, first_seen_at)
                 VALUES (?1, ?1, 1, '', 't', '', '', '', ?2)",
                [id, seen],
            )
            .unwrap();
            c.execute(
                "INSERT INTO article_feeds (article_id, feed_id, seen_at) VALUES (?1, 1, ?2)",
                [id, seen],
            )
            .unwrap();
            c.execute("INSERT INTO matches (id, watch, article_id, hits, matched_at) VALUES (?1, 'w', ?1, '[]', ?2)", [id, seen])
                .unwrap();
        }
        // Article 2's alert has not been sent yet; article 1's has.
        for (id, status) in [(1, "sent"), (2, "pending")] {
            c.execute(
                "INSERT INTO deliveries (match_id, kind, recipient, message_id, status, next_attempt_at, created_at)
                 VALUES (?1, 'immediate', 'a@x', ?1, ?2, 0, 0)",
                crate::store::db::params![id, status],
            )
            .unwrap();
        }
        let pruned = prune(&mut s.conn, now - chrono::Duration::days(90)).unwrap();
        assert_eq!(pruned, 1);
        let left: Vec<i64> = s
            .conn
            .prepare("SELECT id FROM articles ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<crate::store::db::Result<_>>()
            .unwrap();
        assert_eq!(left, vec![2, 3]);
        let deliveries: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM deliveries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(deliveries, 1);
    }
}
