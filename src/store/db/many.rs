//! Store stage, database access: statements over many rows at once (multi-row `VALUES`),
//! which both engines take. On PostgreSQL each statement is a round trip to the server,
//! so a poll's rows are written a few hundred at a time rather than one by one.
//!
//! Invariants: a statement holds at most [`MAX_ROWS`] rows, and a number of rows that is a
//! power of two, so that each caller has a handful of statement texts (each prepared once
//! per session) whatever the number of rows; rows keep their order (ids given by the
//! engine follow it).

use super::{Connection, Param, Result};

/// Rows in one statement at most: 256 rows of the widest table (17 columns) stay far below
/// both engines' limits on parameters (32,766 and 65,535).
pub const MAX_ROWS: usize = 256;

/// `(?1, ?2), (?3, ?4)`: `rows` rows of `columns.len()` parameters, numbered from 1, each
/// written as its column template says (`?` alone, or `CAST(? AS BIGINT)` where the
/// engine cannot tell a parameter's type from where it stands).
pub fn values(rows: usize, columns: &[&str]) -> String {
    let mut out = String::with_capacity(rows * columns.len() * 6);
    let mut n = 0;
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for (c, template) in columns.iter().enumerate() {
            if c > 0 {
                out.push_str(", ");
            }
            n += 1;
            out.push_str(&template.replacen('?', &format!("?{n}"), 1));
        }
        out.push(')');
    }
    out
}

/// Run the statements `sql(k)` makes for `k` rows over `params`, rows of `width`
/// parameters each, in chunks of powers of two; the rows they changed.
pub fn in_chunks(
    conn: &Connection,
    width: usize,
    params: &[Param<'_>],
    sql: impl Fn(usize) -> String,
) -> Result<usize> {
    let mut rest = params.len() / width.max(1);
    let mut at = 0;
    let mut changed = 0;
    while rest > 0 {
        let k = chunk(rest);
        changed += conn.execute(&sql(k), &params[at..at + k * width])?;
        at += k * width;
        rest -= k;
    }
    Ok(changed)
}

/// `INSERT INTO … (…) VALUES (…), (…) tail` over `params`, rows of `width` plain
/// parameters; the rows inserted.
pub fn insert(
    conn: &Connection,
    head: &str,
    tail: &str,
    width: usize,
    params: &[Param<'_>],
) -> Result<usize> {
    let columns = vec!["?"; width];
    in_chunks(conn, width, params, |k| {
        format!("{head} VALUES {} {tail}", values(k, &columns))
    })
}

/// The rows of the next statement, out of `rest` still to write.
fn chunk(rest: usize) -> usize {
    let k = rest.min(MAX_ROWS);
    1 << (usize::BITS - 1 - k.leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_and_cover_every_row() {
        let mut rest = 1_000;
        let mut seen = Vec::new();
        while rest > 0 {
            let k = chunk(rest);
            assert!(k.is_power_of_two() && k <= MAX_ROWS && k <= rest);
            seen.push(k);
            rest -= k;
        }
        assert_eq!(seen, [256, 256, 256, 128, 64, 32, 8]);
        assert_eq!(
            values(2, &["?", "CAST(? AS BIGINT)"]),
            "(?1, CAST(?2 AS BIGINT)), (?3, CAST(?4 AS BIGINT))"
        );
    }

    #[test]
    fn rows_written_many_at_a_time_keep_their_order() {
        let c = Connection::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)")
            .unwrap();
        let texts: Vec<String> = (0..300).map(|i| format!("r{i}")).collect();
        let params: Vec<Param<'_>> = texts.iter().map(|s| Param::Text(s)).collect();
        let n = insert(&c, "INSERT INTO t (s)", "", 1, &params).unwrap();
        assert_eq!(n, 300);
        let back = c
            .query_map("SELECT s FROM t ORDER BY id", [], |r| r.get::<_, String>(0))
            .unwrap();
        assert_eq!(back, texts);
        let some = ["r7", "r299", "none"];
        let found = c
            .query_map(
                &format!("SELECT s FROM t WHERE s {} ORDER BY id", c.in_list(1)),
                [&some[..]],
                |r| r.get::<_, String>(0),
            )
            .unwrap();
        assert_eq!(found, ["r7", "r299"]);
    }
}
