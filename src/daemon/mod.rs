//! Daemon, on top of the pipeline: poll due feeds, deliver due alerts, sleep until the
//! next feed is due, until the shutdown future resolves. In: a [`Runtime`] (configuration,
//! store, clients), [`Controls`] and the shutdown future. Out: polls, emails, and the
//! health the outside sees. Files: `reload` (watching the configuration's files),
//! `maintenance` (retention, search index, feed-health notices, status line),
//! `feed_health` (its pure decisions), `server` (`/healthz`, `/metrics`), `metrics`,
//! `systemd` (notify and watchdog).
//! Invariants: shutdown is passed in (signals are the binary's business, tests pass their
//! own); work in flight when it fires is allowed to finish for a bounded time; the clock
//! is read here, in the async shell — at each step of a cycle, so that a long poll does
//! not make the next step late — and handed to the pure stages as an argument.

pub mod feed_health;
pub mod maintenance;
pub mod metrics;
pub mod reload;
pub mod server;
pub mod systemd;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use tokio::sync::mpsc;

use crate::config::{self, Config};
use crate::deliver::{self, DeliverError, Mailer};
use crate::fetch::Fetcher;
use crate::ingest::{FeedReport, Runtime, poll_feeds, poll_feeds_with};
use crate::rules::Matcher;
use crate::store::{Store, StoreHandle};
use server::Health;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Fetch(#[from] crate::fetch::FetchError),
    #[error(transparent)]
    Deliver(#[from] DeliverError),
    #[error("rules: {0}")]
    Rules(String),
    #[error(transparent)]
    Server(#[from] crate::daemon::server::ServerError),
}

/// Build the runtime for a configuration: store opened and synced, matcher compiled.
pub async fn runtime(config: Config) -> Result<Runtime, DaemonError> {
    let state_dir = config.state_dir.clone();
    let feeds = config.feeds.clone();
    // The store opens (schema brought up to date, feeds synced) on a blocking thread
    // while this one builds the HTTP client (which reads the system's CA certificates):
    // a command starts in the longer of the two, not their sum.
    let opening = tokio::task::spawn_blocking(move || {
        let mut store = Store::open_in(&state_dir)?;
        store.sync_feeds(&feeds)?;
        Ok::<_, crate::store::StoreError>(store)
    });
    let parts = parts(&config);
    let store = opening
        .await
        .map_err(|e| crate::store::StoreError::Task(e.to_string()))??;
    let (matcher, fetcher, mailer) = parts?;
    Ok(Runtime {
        fetcher,
        mailer,
        matcher,
        store: StoreHandle::new(store),
        config: Arc::new(config),
    })
}

/// A runtime for `config` over an open store: the store's feeds synced to the
/// configuration, the watches compiled, fresh HTTP and mail clients.
async fn assemble(store: StoreHandle, config: Config) -> Result<Runtime, DaemonError> {
    let (matcher, fetcher, mailer) = parts(&config)?;
    let feeds = config.feeds.clone();
    store.call(move |s| s.sync_feeds(&feeds)).await?;
    Ok(Runtime {
        fetcher,
        mailer,
        matcher,
        store,
        config: Arc::new(config),
    })
}

/// What a runtime needs of the configuration besides the store: the compiled watches and
/// the HTTP and mail clients.
fn parts(config: &Config) -> Result<(Arc<Matcher>, Fetcher, Mailer), DaemonError> {
    let matcher = config.matcher().map_err(|errs| {
        DaemonError::Rules(
            errs.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    Ok((
        matcher,
        Fetcher::new(
            config.poll.timeout,
            Fetcher::needs_tls(config.feeds.iter().map(|f| f.url.as_str())),
        )?,
        Mailer::new(&config.mail)?,
    ))
}

/// Poll the given feeds (all configured ones when empty) once, then deliver what is due.
pub async fn poll_once(
    rt: &Runtime,
    only: &[String],
) -> Result<(Vec<FeedReport>, deliver::DeliveryStats), DaemonError> {
    let now = Utc::now();
    let names: Vec<String> = if only.is_empty() {
        rt.config.feeds.iter().map(|f| f.name.clone()).collect()
    } else {
        only.to_vec()
    };
    let reports = poll_feeds(rt, &names, now).await;
    let stats = deliver::deliver_due(&rt.store, &rt.mailer, &rt.config, Utc::now()).await?;
    Ok((reports, stats))
}

/// How the daemon is steered from outside: a reload channel (SIGHUP and file changes
/// both send to it) and the grace period for work in flight at shutdown.
pub struct Controls {
    pub reload_tx: mpsc::Sender<()>,
    pub reload_rx: mpsc::Receiver<()>,
    pub grace: Duration,
}

impl Controls {
    pub fn new(grace: Duration) -> Controls {
        let (reload_tx, reload_rx) = mpsc::channel(4);
        Controls {
            reload_tx,
            reload_rx,
            grace,
        }
    }
}

/// Run until `shutdown` resolves. A cycle in progress when it does is given up to
/// `grace` to finish; the database stays consistent either way (every write is a
/// transaction), so an interrupted cycle is simply redone at the next start. A reload
/// request takes effect between cycles: the new configuration replaces the old one only
/// if it is entirely valid.
pub async fn run(
    mut rt: Runtime,
    mut ctl: Controls,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let health = Arc::new(Health::new(rt.store.clone(), stale_after(&rt)));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    if let Some(srv) = &rt.config.server {
        let listener = server::bind(&srv.listen).await?;
        tracing::info!(listen = %srv.listen, "health and metrics on /healthz and /metrics");
        let mut stop = stop_rx.clone();
        tokio::spawn(server::serve(listener, health.clone(), async move {
            let _ = stop.changed().await;
        }));
    }
    let mut watch = start_watch(&rt, &ctl.reload_tx);
    tracing::info!(
        feeds = rt.config.feeds.len(),
        watches = rt.config.rules.watches.len(),
        state_dir = %rt.config.state_dir.display(),
        "vigie running"
    );
    systemd::ready();
    systemd::spawn_watchdog(health.clone(), stop_rx.clone());
    let mut housekeeping = maintenance::Schedule::default();
    tokio::pin!(shutdown);
    let result = loop {
        health.beat();
        let wait = {
            let cycle = cycle(&rt);
            tokio::pin!(cycle);
            tokio::select! {
                r = &mut cycle => match r {
                    Ok(w) => w,
                    Err(e) => {
                        tracing::error!(error = %e, "cycle failed; retrying shortly");
                        Duration::from_secs(5)
                    }
                },
                () = &mut shutdown => {
                    tracing::info!("shutting down; letting in-flight work finish");
                    systemd::stopping();
                    if tokio::time::timeout(ctl.grace, cycle).await.is_err() {
                        tracing::warn!("in-flight work did not finish within {:?}; it will be redone at the next start", ctl.grace);
                    }
                    break Ok(());
                }
            }
        };
        health.beat();
        tracing::debug!(
            seconds = wait.as_secs(),
            "sleeping until the next feed is due"
        );
        maintenance::run_due(&rt, &mut housekeeping, Utc::now()).await;
        systemd::status(&maintenance::status_line(&rt, Utc::now()).await);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            Some(()) = ctl.reload_rx.recv() => {
                if let Some(new) = reload(&rt).await {
                    rt = new;
                    watch = start_watch(&rt, &ctl.reload_tx);
                }
            }
            () = &mut shutdown => {
                tracing::info!("shutting down");
                systemd::stopping();
                break Ok(());
            }
        }
    };
    drop(watch);
    let _ = stop_tx.send(true);
    result
}

/// The scheduler is stuck when silent for longer than a slow cycle could take.
fn stale_after(rt: &Runtime) -> Duration {
    (rt.config.poll.timeout * 4).max(Duration::from_secs(300))
}

fn start_watch(rt: &Runtime, tx: &mpsc::Sender<()>) -> Option<reload::FileWatch> {
    match reload::FileWatch::start(&rt.config.files, tx.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the configuration files; reload with SIGHUP");
            None
        }
    }
}

/// Load the configuration again; a valid one replaces the running one (same database),
/// an invalid one is reported and the running one stays.
async fn reload(old: &Runtime) -> Option<Runtime> {
    let path = old.config.path.clone();
    let loaded = tokio::task::spawn_blocking(move || config::load(&path))
        .await
        .ok()?;
    let cfg = match loaded {
        Ok(c) => c,
        Err(diags) => {
            for d in &diags.0 {
                tracing::error!("{d}");
            }
            tracing::error!(
                errors = diags.0.len(),
                "new configuration is invalid; keeping the running one"
            );
            return None;
        }
    };
    match assemble(old.store.clone(), cfg).await {
        Ok(rt) => {
            tracing::info!(
                feeds = rt.config.feeds.len(),
                watches = rt.config.rules.watches.len(),
                "configuration reloaded"
            );
            Some(rt)
        }
        Err(e) => {
            tracing::error!(error = %e, "reload failed; keeping the running configuration");
            None
        }
    }
}

/// One cycle: poll the feeds that are due, then build the digests that are due (a
/// digest missed while the daemon was down is due at its first cycle) and send every
/// email due — alerts, digests, flood summaries whose hour ended; return how long to
/// sleep before the next one (until the next feed is due, between 1 s and 30 s).
async fn cycle(rt: &Runtime) -> Result<Duration, DaemonError> {
    let now = Utc::now();
    let due = rt.store.call(move |s| s.due_feeds(now)).await?;
    let due: Vec<String> = due
        .into_iter()
        .filter(|n| rt.config.feed(n).is_some())
        .collect();
    if !due.is_empty() {
        poll_feeds_with(rt, &due, now, metrics::record_poll).await;
    }
    deliver::deliver_due(&rt.store, &rt.mailer, &rt.config, Utc::now()).await?;
    let next = rt.store.call(|s| s.next_due()).await?;
    let wait = next.map_or(30, |t| (t - Utc::now()).num_seconds().clamp(1, 30));
    Ok(Duration::from_secs(wait as u64))
}
