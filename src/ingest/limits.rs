//! Ingest, requests in flight (contract §6): at most `concurrency` in all and `per_host`
//! to one host, feeds and article pages alike. Invariant: a request takes its host's slot
//! before a global one, so a request waiting for a busy host holds no global slot; a
//! slot is held only while its request is in flight, never while waiting for anything
//! else (the CPU, the writer), which is what keeps the two kinds of request from
//! deadlocking each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The host's slot and the global one, released together when dropped.
pub type Slots = (OwnedSemaphorePermit, OwnedSemaphorePermit);

pub struct Limits {
    global: Arc<Semaphore>,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Limits {
    pub fn new(concurrency: usize, per_host: usize) -> Limits {
        Limits {
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The host of a URL, as the limits count it (empty for a URL without one).
    pub fn host_of(url: &str) -> String {
        url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default()
    }

    fn host(&self, host: &str) -> Arc<Semaphore> {
        // A poisoned map only means another task panicked while inserting: the map is
        // still a valid map of semaphores.
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
            .clone()
    }

    /// Wait for a slot for `host` and a global one. `None` only if the limits were
    /// closed, which they never are while a poll runs.
    pub async fn acquire(&self, host: &str) -> Option<Slots> {
        let host = self.host(host).acquire_owned().await.ok()?;
        let all = self.global.clone().acquire_owned().await.ok()?;
        Some((host, all))
    }
}
