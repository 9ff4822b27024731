//! CLI, `vigie outbox [--failed]`, `vigie outbox retry`, `vigie digest send NAME
//! [--dry-run]` and `vigie channels test NAME`: the outbox listed in words, and the deliver stage's manual operations
//! (`deliver::manual`) turned into output and exit codes.

use std::io::Write;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::deliver::calendar::Calendar;
use crate::deliver::{DeliverError, manual};
use crate::store::Store;
use crate::store::outbox::{self, OutboxRow};

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Run an async command body on the commands' runtime.
fn block_on(f: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match super::runtime() {
        Ok(rt) => rt.block_on(f),
        Err(code) => code,
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    super::fail(e, 1)
}

/// `vigie outbox [--failed]`: the deliveries waiting (or given up), one line each.
pub fn list(cfg: &Config, failed: bool) -> ExitCode {
    match list_to(cfg, failed, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn list_to(cfg: &Config, failed: bool, out: &mut impl Write) -> Result<(), DeliverError> {
    let store = Store::open_config(&cfg.state_dir, cfg.store.as_ref())?;
    let rows = outbox::list(&store.conn, if failed { "failed" } else { "pending" })?;
    let io = |e: std::io::Error| DeliverError::Build(format!("writing to stdout: {e}"));
    let (notices_pending, notices_failed) = crate::store::notices::counts(&store.conn)?;
    let notices = if failed {
        notices_failed
    } else {
        notices_pending
    };
    if notices > 0 {
        let what = if failed { "given up" } else { "waiting" };
        writeln!(
            out,
            "{notices} feed-health notice(s) to [mail] admin {what}"
        )
        .map_err(io)?;
    }
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
        _ if r.claimed_by.is_some() => format!(
            "being sent by {}{tries}",
            r.claimed_by.as_deref().unwrap_or("?")
        ),
        _ if r.next_attempt_at <= now => format!("due now{tries}"),
        _ => format!("next attempt {}{tries}", when(r.next_attempt_at)),
    }
}

/// `vigie outbox retry`: failed deliveries get a fresh 24 h, everything waiting for a
/// retry is due now, and it is all sent at once.
pub fn retry(cfg: &Config) -> ExitCode {
    block_on(async {
        match manual::retry_now(cfg).await {
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
    })
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
        manual::dry_run_to(cfg, name, Utc::now(), &mut std::io::stdout().lock())
    } else {
        manual::send_digest_now(cfg, name, Utc::now()).await
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

/// `vigie channels test NAME`: one test message to that channel; the server's answer on
/// standard output, or the failure on standard error (exit 1).
pub fn channel_test(cfg: &Config, name: &str) -> ExitCode {
    use crate::deliver::channel::{Channels, NoticeKind, notice};
    let Some(c) = cfg.channels.iter().find(|c| c.name == name) else {
        return super::fail(
            format!("no [[channel]] named \"{name}\" in the configuration"),
            2,
        );
    };
    let now = Utc::now();
    let channels = match Channels::new(std::slice::from_ref(c)) {
        Ok(ch) => ch,
        Err(e) => return fail(e),
    };
    let key = crate::identify::message_id("channel-test", &now.timestamp().to_string(), name);
    let n = notice::plain(
        NoticeKind::Test,
        &key,
        name,
        "vigie test message",
        &format!(
            "vigie can reach the channel \"{name}\" ({}).",
            c.kind.name()
        ),
    );
    block_on(async move {
        match channels.send(name, &n, now).await {
            Ok(answer) => {
                println!("channel \"{name}\" answered: {answer}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        }
    })
}
