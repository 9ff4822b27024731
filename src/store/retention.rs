//! Store stage, retention: articles older than `retention` are pruned, except those a
//! pending delivery still needs (an alert or a digest entry not yet sent). Invariant:
//! pruning never takes away what an email still has to show.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{Result, to_ts};

/// Delete articles first seen before `cutoff` that no pending delivery needs, with
/// their matches, deliveries, feed links and search entries. Returns how many.
pub fn prune(conn: &mut Connection, cutoff: DateTime<Utc>) -> Result<usize> {
    let tx = conn.transaction()?;
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS prune_ids (id INTEGER PRIMARY KEY)",
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
    tx.execute("DELETE FROM articles_fts WHERE rowid IN (SELECT id FROM prune_ids)", [])?;
    // Foreign keys cascade to matches, deliveries and article_feeds.
    let n = tx.execute("DELETE FROM articles WHERE id IN (SELECT id FROM prune_ids)", [])?;
    tx.execute("DELETE FROM prune_ids", [])?;
    tx.commit()?;
    Ok(n)
}
