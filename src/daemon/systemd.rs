//! systemd integration (`Type=notify`): READY when serving, STATUS after each cycle,
//! STOPPING at shutdown, and watchdog pings only while the scheduler's heartbeat is
//! fresh — so a stuck scheduler gets the service restarted. Outside systemd (no
//! `NOTIFY_SOCKET`) every call is a no-op.

use std::sync::Arc;

use sd_notify::NotifyState;

use crate::daemon::server::Health;

fn send(state: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

pub fn ready() {
    send(&[NotifyState::Ready]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

pub fn status(line: &str) {
    send(&[NotifyState::Status(line)]);
}

/// systemd's watchdog interval for this service (`WatchdogSec=`), if it has one.
pub fn watchdog_interval() -> Option<std::time::Duration> {
    sd_notify::watchdog_enabled()
}

/// Ping the watchdog at half its interval while the scheduler is alive, until `stop`.
pub fn spawn_watchdog(health: Arc<Health>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Some(interval) = sd_notify::watchdog_enabled() else {
        return;
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval / 2);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            if health.is_fresh() {
                send(&[NotifyState::Watchdog]);
            }
        }
    });
}
