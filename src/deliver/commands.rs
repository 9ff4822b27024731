//! Deliver stage, the commands behind `vigie outbox [--failed]`, `vigie outbox retry` and
//! `vigie digest send NAME [--dry-run]` (the CLI only dispatches here). Invariants: a
//! dry run changes nothing (it reads the store and writes the emails to stdout); a
//! manual send or retry goes through the same outbox as the daemon, so it keeps the
//! same Message-IDs and never sends a delivery that is already marked sent.

use std::io::Write;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::calendar::Calendar;
use super::message::{Outgoing, batch_message};
use super::worker::{digest_message_id, send_due};
use super::{DeliverError, Mailer};
use crate::config::Config;
use crate::store::digests::{self, Batch};
use crate::store::outbox::{self, OutboxRow};
use crate::store::{Store, StoreHandle};

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn open(cfg: &Config) -> Result<Store, DeliverError> {
    Ok(Store::open_in(&cfg.state_dir)?)
}

/// Run an async command body on a runtime of its own.
fn block_on(f: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => fail(format!("cannot start the async runtime: {e}")),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    errln!("vigie: {e}");
    ExitCode::from(1)
}

/// `vigie outbox [--failed]`: the deliveries waiting (or given up), one line each.
pub fn list(cfg: &Config, failed: bool) -> ExitCode {
    match list_to(cfg, failed, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn list_to(cfg: &Config, failed: bool, out: &mut impl Write) -> Result<(), DeliverError> {
    let store = open(cfg)?;
    let rows = outbox::list(&store.conn, if failed { "failed" } else { "pending" })?;
    let io = |e: std::io::Error| DeliverError::Build(format!("writing to stdout: {e}"));
    if rows.is_empty() {
        let what = if failed { "failed" } else { "pending" };
        writeln!(out, "no {what} deliveries").map_err(io)?;
        return Ok(());
    }
    let now = Utc::now();
    for r in &rows {
        writeln!(
            out,
            "{:>6}  {:<9}  {:<28}  {:<20}  {}",
            r.id,
            r.status,
            r.recipient,
            r.watch,
            crate::deliver::render::header_safe(&r.title)
        )
        .map_err(io)?;
        writeln!(out, "        {}", state(cfg, r, now)).map_err(io)?;
        if let Some(e) = &r.last_error {
            writeln!(out, "        last error: {e}").map_err(io)?;
        }
    }
    let (pending, sent, gave_up) = outbox::counts(&store.conn)?;
    writeln!(
        out,
        "{} shown; {pending} pending, {sent} sent, {gave_up} failed in all",
        rows.len()
    )
    .map_err(io)?;
    Ok(())
}

/// What a delivery is waiting for, in words.
fn state(cfg: &Config, r: &OutboxRow, now: DateTime<Utc>) -> String {
    let tries = match r.attempts {
        0 => String::new(),
        1 => ", tried once".to_string(),
        n => format!(", tried {n} times"),
    };
    if r.status == "failed" {
        return format!("gave up{tries}; queued {}", when(r.created_at));
    }
    match (&r.batch, r.kind.as_str()) {
        (Some((kind, at)), _) if kind == "flood" => {
            format!("folded into the flood summary due {}{tries}", when(*at))
        }
        (Some((_, at)), _) => format!(
            "in digest \"{}\", due {}{tries}",
            r.digest.as_deref().unwrap_or("?"),
            when(*at)
        ),
        (None, "digest") => {
            let name = r.digest.as_deref().unwrap_or("?");
            let next = cfg
                .digests
                .iter()
                .find(|d| d.name == name)
                .and_then(|d| Calendar::new(&d.schedule, &d.timezone).ok())
                .and_then(|c| c.next_after(now));
            match next {
                Some(t) => format!("waiting for digest \"{name}\" at {}", when(t)),
                None => format!("waiting for digest \"{name}\", which is not configured"),
            }
        }
        _ if r.next_attempt_at <= now => format!("due now{tries}"),
        _ => format!("next attempt {}{tries}", when(r.next_attempt_at)),
    }
}

/// `vigie outbox retry`: failed deliveries get a fresh 24 h, everything waiting for a
/// retry is due now, and it is all sent at once.
pub fn retry(cfg: &Config) -> ExitCode {
    block_on(retry_async(cfg))
}

async fn retry_async(cfg: &Config) -> ExitCode {
    let run = async {
        let mailer = Mailer::new(&cfg.mail)?;
        let store = StoreHandle::new(open(cfg)?);
        let now = Utc::now();
        let revived = store
            .call(move |s| outbox::retry_now(&mut s.conn, now))
            .await?;
        let stats = send_due(&store, &mailer, &Outgoing::new(cfg), now).await?;
        Ok::<_, DeliverError>((revived, stats))
    };
    match run.await {
        Ok((revived, s)) => {
            outln!(
                "{revived} failed deliveries retried; {} emails sent, {} to retry, {} failed",
                s.sent,
                s.retried,
                s.failed
            );
            if s.retried + s.failed > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => fail(e),
    }
}

/// `vigie digest send NAME [--dry-run]`: build the digest now, covering everything
/// waiting for it; send it, or with `dry_run` write each recipient's email to stdout.
pub fn digest_send(cfg: &Config, name: &str, dry_run: bool) -> ExitCode {
    block_on(digest_send_async(cfg, name, dry_run))
}

async fn digest_send_async(cfg: &Config, name: &str, dry_run: bool) -> ExitCode {
    if !cfg.digests.iter().any(|d| d.name == name) {
        errln!("vigie: {}", DeliverError::NoDigest(name.to_string()));
        return ExitCode::from(2);
    }
    let result = if dry_run {
        dry_run_to(cfg, name, Utc::now(), &mut std::io::stdout().lock())
    } else {
        send_now(cfg, name, Utc::now()).await
    };
    match result {
        Ok(0) => {
            errln!("digest \"{name}\": nothing to send");
            ExitCode::SUCCESS
        }
        Ok(n) if dry_run => {
            errln!("digest \"{name}\": {n} email(s) written to stdout, nothing sent");
            ExitCode::SUCCESS
        }
        Ok(n) => {
            outln!("digest \"{name}\": {n} email(s) sent");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// Write the digest `name` as it would be built at `now` to `out`; changes nothing.
pub fn dry_run_to(
    cfg: &Config,
    name: &str,
    now: DateTime<Utc>,
    out: &mut impl Write,
) -> Result<usize, DeliverError> {
    let store = open(cfg)?;
    let since = digests::last_run(&store.conn, name)?;
    let waiting = digests::waiting_entries(&store.conn, name, now)?;
    let outgoing = Outgoing::new(cfg);
    let mut n = 0;
    for (to, entries) in &waiting {
        let batch = Batch {
            id: 0,
            kind: "digest".into(),
            name: name.to_string(),
            recipient: to.clone(),
            period_start: since,
            period_end: now,
            message_id: digest_message_id(name, now, to),
            attempts: 0,
            retry_since: now,
        };
        if let Some(msg) = batch_message(&outgoing, &batch, entries, now)? {
            out.write_all(&msg.formatted())
                .and_then(|()| out.write_all(b"\r\n"))
                .map_err(|e| DeliverError::Build(format!("writing to stdout: {e}")))?;
            n += 1;
        }
    }
    Ok(n)
}

async fn send_now(cfg: &Config, name: &str, now: DateTime<Utc>) -> Result<usize, DeliverError> {
    let mailer = Mailer::new(&cfg.mail)?;
    let store = StoreHandle::new(open(cfg)?);
    let owned = name.to_string();
    let built = store
        .call(move |s| {
            let last = digests::last_run(&s.conn, &owned)?;
            let mid = |to: &str| digest_message_id(&owned, now, to);
            digests::build(&mut s.conn, &owned, last, now, now, &mid)
        })
        .await?;
    let stats = send_due(&store, &mailer, &Outgoing::new(cfg), now).await?;
    if stats.retried + stats.failed > 0 {
        return Err(DeliverError::Send {
            message: format!(
                "{} email(s) could not be sent now; they stay in the outbox (see `vigie outbox`)",
                stats.retried + stats.failed
            ),
            per_message: false,
        });
    }
    Ok(built)
}
