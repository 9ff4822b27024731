//! CLI, `vigie run` and `vigie poll`: the daemon with the process's signals wired in
//! (SIGTERM/SIGINT stop it, SIGHUP reloads), and one foreground poll with a line per feed.

use std::time::Duration;

use crate::config::Config;
use crate::daemon;
use crate::ingest::Outcome;

pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let rt = daemon::runtime(cfg).await?;
    let ctl = daemon::Controls::new(Duration::from_secs(8));
    forward_sighup(ctl.reload_tx.clone());
    daemon::run(rt, ctl, shutdown_signal()).await?;
    Ok(())
}

/// SIGHUP asks the daemon to reload its configuration.
fn forward_sighup(tx: tokio::sync::mpsc::Sender<()>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        tracing::info!("SIGHUP: reloading the configuration");
                        if tx.send(()).await.is_err() {
                            return;
                        }
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP"),
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn poll(cfg: Config, feeds: Vec<String>) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    for f in &feeds {
        if cfg.feed(f).is_none() {
            anyhow::bail!("no feed named \"{f}\" in {}", cfg.path.display());
        }
    }
    let rt = daemon::runtime(cfg).await?;
    let names: Vec<String> = if feeds.is_empty() {
        rt.config.feeds.iter().map(|f| f.name.clone()).collect()
    } else {
        feeds
    };
    let width = names.iter().map(String::len).max().unwrap_or(0);
    // On a terminal, a progress bar on stderr and each feed's line as it completes;
    // otherwise (a pipe, a log) the lines at the end, sorted by name.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(names.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} feeds  {elapsed}  {msg}")
        {
            bar.set_style(style);
        }
        bar
    });
    let reports = crate::ingest::poll_feeds_with(&rt, &names, chrono::Utc::now(), |r| {
        if let Some(bar) = &bar {
            bar.inc(1);
            bar.set_message(r.name.clone());
            bar.suspend(|| outln!("{}", poll_line(r, width)));
        }
    })
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let delivered =
        crate::deliver::deliver_due(&rt.store, &rt.mailer, &rt.config, chrono::Utc::now()).await?;
    let (mut new, mut matches, mut failed) = (0, 0, 0);
    for r in &reports {
        match &r.outcome {
            Outcome::Updated(s) => {
                new += s.new;
                matches += s.matches;
            }
            Outcome::Failed(_) => failed += 1,
            Outcome::NotModified | Outcome::Skipped(_) => {}
        }
        if bar.is_none() {
            outln!("{}", poll_line(r, width));
        }
    }
    outln!(
        "{} feeds, {failed} failed, {new} new articles, {matches} matches, {} alerts sent, {} to retry",
        reports.len(),
        delivered.sent,
        delivered.retried
    );
    Ok(())
}

/// One feed's summary line: its name, the outcome, new articles and matches.
fn poll_line(r: &crate::ingest::FeedReport, width: usize) -> String {
    let line = match &r.outcome {
        Outcome::Updated(s) => format!(
            "ok           {} items, {} new, {} matches",
            s.items, s.new, s.matches
        ),
        Outcome::NotModified => "not modified".to_string(),
        Outcome::Failed(cause) => format!("failed       {cause}"),
        Outcome::Skipped(why) => format!("skipped      {why}"),
    };
    format!("{:width$}  {line}", r.name)
}
