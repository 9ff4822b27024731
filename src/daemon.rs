//! The daemon on top of the pipeline: poll due feeds, deliver due alerts, sleep until the
//! next feed is due, until the shutdown future resolves. Invariants: shutdown is passed
//! in (signals are the binary's business, tests pass their own); work in flight when it
//! fires is allowed to finish for a bounded time; the clock is read here, once per cycle,
//! and handed to the pure stages.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::config::Config;
use crate::deliver::{self, DeliverError, Mailer};
use crate::fetch::Fetcher;
use crate::poll::{FeedReport, Runtime, poll_feeds};
use crate::store::{Store, StoreHandle};

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
}

/// Build the runtime for a configuration: store opened and synced, matcher compiled.
pub async fn runtime(config: Config) -> Result<Runtime, DaemonError> {
    let matcher = config.rules.compile().map_err(|errs| {
        DaemonError::Rules(
            errs.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let state_dir = config.state_dir.clone();
    let feeds = config.feeds.clone();
    let store = tokio::task::spawn_blocking(move || -> Result<Store, crate::store::StoreError> {
        let mut s = Store::open_in(&state_dir)?;
        s.sync_feeds(&feeds)?;
        Ok(s)
    })
    .await
    .map_err(|e| crate::store::StoreError::Task(e.to_string()))??;
    Ok(Runtime {
        fetcher: Fetcher::new(config.poll.timeout)?,
        mailer: Mailer::new(&config.mail)?,
        matcher: Arc::new(matcher),
        store: StoreHandle::new(store),
        config: Arc::new(config),
    })
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
    let stats =
        deliver::deliver_due(&rt.store, &rt.mailer, &rt.config.mail.from, Utc::now()).await?;
    Ok((reports, stats))
}

/// Run until `shutdown` resolves. A cycle in progress when it does is given up to
/// `grace` to finish; the database stays consistent either way (every write is a
/// transaction), so an interrupted cycle is simply redone at the next start.
pub async fn run(
    rt: Runtime,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> Result<(), DaemonError> {
    tracing::info!(
        feeds = rt.config.feeds.len(),
        watches = rt.config.rules.watches.len(),
        state_dir = %rt.config.state_dir.display(),
        "vigie running"
    );
    tokio::pin!(shutdown);
    loop {
        let cycle = cycle(&rt);
        tokio::pin!(cycle);
        let wait = tokio::select! {
            r = &mut cycle => r?,
            () = &mut shutdown => {
                tracing::info!("shutting down; letting in-flight work finish");
                match tokio::time::timeout(grace, cycle).await {
                    Ok(r) => { r?; }
                    Err(_) => tracing::warn!("in-flight work did not finish within {grace:?}; it will be redone at the next start"),
                }
                return Ok(());
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => {
                tracing::info!("shutting down");
                return Ok(());
            }
        }
    }
}

/// One cycle: poll the feeds that are due, deliver what is due; return how long to
/// sleep before the next one (until the next feed is due, between 1 s and 30 s).
async fn cycle(rt: &Runtime) -> Result<Duration, DaemonError> {
    let now = Utc::now();
    let due = rt.store.call(move |s| s.due_feeds(now)).await?;
    let due: Vec<String> = due
        .into_iter()
        .filter(|n| rt.config.feed(n).is_some())
        .collect();
    if !due.is_empty() {
        poll_feeds(rt, &due, now).await;
    }
    deliver::deliver_due(&rt.store, &rt.mailer, &rt.config.mail.from, Utc::now()).await?;
    let next = rt.store.call(|s| s.next_due()).await?;
    let wait = next.map_or(30, |t| (t - Utc::now()).num_seconds().clamp(1, 30));
    Ok(Duration::from_secs(wait as u64))
}
