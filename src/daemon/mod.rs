//! Daemon, on top of the pipeline: poll due feeds, deliver due alerts, sleep until the
//! next feed is due, until the shutdown future resolves. In: a [`Runtime`] (configuration,
//! store, clients), [`Controls`] and the shutdown future. Out: polls, emails, and the
//! health the outside sees. Files: `reload` (watching the configuration's files),
//! `maintenance` (retention, search index, feed-health notices, status line),
//! `feed_health` (its pure decisions), `server` (`/healthz`, `/metrics`, and the Atom
//! feeds of `publish`), `metrics`, `systemd` (notify and watchdog).
//! Invariants: shutdown is passed in (signals are the binary's business, tests pass their
//! own); work in flight when it fires is allowed to finish for a bounded time; the clock
//! is read here, in the async shell — at each step of a cycle, so that a long poll does
//! not make the next step late — and handed to the pure stages as an argument.

pub mod feed_health;
pub mod maintenance;
pub mod metrics;
pub mod publish;
pub mod reload;
pub mod server;
pub mod systemd;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::{self, Config};
use crate::deliver::{self, DeliverError, Mailer};
use crate::fetch::Fetcher;
use crate::ingest::{FeedReport, Limits, Runtime, poll_feeds, poll_feeds_limited};
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
    let store_config = config.store.clone();
    let feeds = config.feeds.clone();
    // The store opens (schema brought up to date, feeds synced) on a blocking thread
    // while this one builds the HTTP client (which reads the system's CA certificates):
    // a command starts in the longer of the two, not their sum.
    // On a shared database, a feed claimed stays this instance's for twice a poll's time
    // out, and ten seconds more: its poll ends by then, or another instance takes it over.
    let lease = config.poll.timeout * 2 + Duration::from_secs(10);
    let opening = tokio::task::spawn_blocking(move || {
        let mut store = Store::open_config(&state_dir, store_config.as_ref())?;
        store.join(crate::store::instance::instance_name(&state_dir), lease);
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
        Mailer::new(&config.mail, &config.channels)?,
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

/// Run until `shutdown` resolves. Feeds are polled continuously: each loop starts the
/// feeds that have fallen due and are not already being polled (a poll of its own, under
/// request limits shared by all), delivers what is due, and sleeps until the next feed is
/// due, a poll ends, a reload is asked for or [`tick`] has passed — it never waits for a
/// poll to end, so one slow feed holds no other back and a reload applies between two
/// feeds. Liveness is that loop going round (the heartbeat), not polls ending. At shutdown,
/// polls in flight are given up to `grace` to finish; the database stays consistent
/// either way (every write is a transaction), so an interrupted poll is redone at the
/// next start.
pub async fn run(
    mut rt: Runtime,
    mut ctl: Controls,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    match rt.store.call(|s| s.take_back_leases()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            feeds = n,
            "took back the feed leases of this instance's previous run"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot take back this instance's earlier leases; they lapse")
        }
    }
    let watchdog = systemd::watchdog_interval();
    let tick = tick(watchdog);
    let health = Arc::new(Health::new(rt.store.clone(), stale_after(watchdog, tick)));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let feeds = Arc::new(publish::Publisher::new(rt.config.clone()));
    if let Some(srv) = &rt.config.server {
        let listener = server::bind(&srv.listen).await?;
        tracing::info!(listen = %srv.listen, "health and metrics on /healthz and /metrics");
        let mut stop = stop_rx.clone();
        let serving = server::serve(listener, health.clone(), feeds.clone(), async move {
            let _ = stop.changed().await;
        });
        tokio::spawn(serving);
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
    let (chores_tx, mut chores_rx) = mpsc::unbounded_channel::<()>();
    let mut chores = Chores::new(chores_tx);
    // Whether something happened since the last round of chores (a poll ended, time
    // passed, a reload): a round that ends wakes the loop without starting another.
    let mut want_chores = true;
    let mut limits = limits_of(&rt);
    let mut in_flight: HashSet<String> = HashSet::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<String>();
    let mut polls = JoinSet::new();
    tokio::pin!(shutdown);
    // When this instance last told the others it is there (on a shared database).
    let mut told: Option<std::time::Instant> = None;
    // On a shared database the loop goes round at least every 10 s, so that the leases of
    // polls in flight are renewed (each runs at least 12 s) while the instance lives.
    let shared = matches!(rt.store.call(|s| Ok(s.is_shared())).await, Ok(true));
    let longest = if shared {
        tick.min(Duration::from_secs(10))
    } else {
        tick
    };
    let result = loop {
        health.beat();
        if told.is_none_or(|t| t.elapsed() >= HEARTBEAT) {
            told = Some(std::time::Instant::now());
            match rt.store.call(|s| s.heartbeat()).await {
                Ok(c) => health.set_coordination(c),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot tell the other instances this one is here")
                }
            }
        }
        // A poll that ended while another arm of the select won still has alerts to deliver.
        while let Ok(name) = done_rx.try_recv() {
            in_flight.remove(&name);
            want_chores = true;
        }
        let now = Utc::now();
        if let Err(e) = start_due(&rt, &limits, &mut in_flight, &done_tx, &mut polls, now).await {
            tracing::error!(error = %e, "reading the feeds' schedule failed; retrying shortly");
        }
        if want_chores && chores.start(&rt).await {
            want_chores = false;
        }
        systemd::status(&maintenance::status_line(&rt, Utc::now()).await);
        let wait = match rt.store.call(move |s| s.next_due_after(now)).await {
            Ok(next) => next.map_or(longest, |t| {
                (t - Utc::now())
                    .to_std()
                    .unwrap_or_default()
                    .clamp(Duration::from_millis(250), longest)
            }),
            Err(_) => longest.min(Duration::from_secs(5)),
        };
        tracing::debug!(
            seconds = wait.as_secs_f64(),
            in_flight = in_flight.len(),
            "sleeping until the next feed is due"
        );
        tokio::select! {
            () = tokio::time::sleep(wait) => want_chores = true,
            Some(name) = done_rx.recv() => {
                in_flight.remove(&name);
                want_chores = true;
                // Feeds of one poll end together: deliver for a few at once.
                tokio::time::sleep(Duration::from_millis(200).min(tick)).await;
            }
            // A round says it ended just before its task returns: wait for the task.
            Some(()) = chores_rx.recv() => chores.finish().await,
            Some(_) = polls.join_next(), if !polls.is_empty() => {}
            Some(()) = ctl.reload_rx.recv() => {
                want_chores = true;
                if let Some(new) = reload(&rt).await {
                    rt = new;
                    feeds.update(rt.config.clone());
                    limits = limits_of(&rt);
                    watch = start_watch(&rt, &ctl.reload_tx);
                }
            }
            () = &mut shutdown => {
                tracing::info!(in_flight = in_flight.len(), "shutting down; letting in-flight polls finish");
                systemd::stopping();
                let finish = async {
                    while polls.join_next().await.is_some() {}
                    chores.finish().await;
                };
                if tokio::time::timeout(ctl.grace, finish).await.is_err() {
                    tracing::warn!("in-flight polls did not finish within {:?}; they will be redone at the next start", ctl.grace);
                }
                break Ok(());
            }
        }
    };
    drop(watch);
    let _ = stop_tx.send(true);
    result
}

/// Start a poll of the feeds due at `now` that are configured and not being polled.
async fn start_due(
    rt: &Runtime,
    limits: &Arc<Limits>,
    in_flight: &mut HashSet<String>,
    done: &mpsc::UnboundedSender<String>,
    polls: &mut JoinSet<()>,
    now: chrono::DateTime<Utc>,
) -> Result<(), DaemonError> {
    let room = rt.config.poll.concurrency.saturating_sub(in_flight.len());
    let due = rt.store.call(move |s| s.claim_due_feeds(now, room)).await?;
    let due: Vec<String> = due
        .into_iter()
        .filter(|n| rt.config.feed(n).is_some() && !in_flight.contains(n))
        .collect();
    if due.is_empty() {
        return Ok(());
    }
    in_flight.extend(due.iter().cloned());
    let (rt, limits, done) = (rt.clone(), limits.clone(), done.clone());
    polls.spawn(async move {
        poll_feeds_limited(&rt, &limits, &due, now, |r| {
            metrics::record_poll(r);
            let _ = done.send(r.name.clone());
        })
        .await;
    });
    Ok(())
}

/// Delivery and housekeeping, in a task of their own so that a slow mail server never
/// holds the scheduler back; one round at a time (a round still running is not doubled).
struct Chores {
    running: Option<tokio::task::JoinHandle<maintenance::Schedule>>,
    schedule: Option<maintenance::Schedule>,
    /// Told when a round ends.
    ended: mpsc::UnboundedSender<()>,
}

impl Chores {
    fn new(ended: mpsc::UnboundedSender<()>) -> Chores {
        Chores {
            running: None,
            schedule: None,
            ended,
        }
    }

    /// Start a round (deliver what is due, then the housekeeping that is due), unless one
    /// is still running; whether one was started.
    async fn start(&mut self, rt: &Runtime) -> bool {
        if let Some(h) = self.running.take_if(|h| h.is_finished()) {
            self.schedule = h.await.ok();
        }
        if self.running.is_some() {
            return false;
        }
        let mut schedule = self.schedule.take().unwrap_or_default();
        let (rt, ended) = (rt.clone(), self.ended.clone());
        self.running = Some(tokio::spawn(async move {
            if let Err(e) =
                deliver::deliver_due(&rt.store, &rt.mailer, &rt.config, Utc::now()).await
            {
                tracing::error!(error = %e, "delivery failed; retrying shortly");
            }
            maintenance::run_due(&rt, &mut schedule, Utc::now()).await;
            let _ = ended.send(());
            schedule
        }));
        true
    }

    /// Wait for the round in progress, if any.
    async fn finish(&mut self) {
        if let Some(h) = self.running.take() {
            self.schedule = h.await.ok();
        }
    }
}

fn limits_of(rt: &Runtime) -> Arc<Limits> {
    Arc::new(Limits::new(
        rt.config.poll.concurrency,
        rt.config.poll.per_host,
    ))
}

/// How often an instance tells the others (and `/healthz`) it is there and what it holds.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// The longest the scheduler sleeps: 30 s, or a quarter of systemd's watchdog interval,
/// so that its heartbeat is always fresh for the watchdog while it is alive.
fn tick(watchdog: Option<Duration>) -> Duration {
    let max = Duration::from_secs(30);
    watchdog.map_or(max, |w| (w / 4).clamp(Duration::from_millis(100), max))
}

/// The scheduler is stuck when its loop has not gone round for this long: systemd's
/// watchdog interval when it has one (the loop goes round at least four times in it),
/// else four ticks.
fn stale_after(watchdog: Option<Duration>, tick: Duration) -> Duration {
    watchdog.unwrap_or(tick * 4)
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
