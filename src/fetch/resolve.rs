//! Fetch stage, name resolution on threads of its own. The system resolver (getaddrinfo,
//! which honours /etc/hosts and nsswitch as every other program on the machine does)
//! blocks; on tokio's blocking pool — one thread per core, busy with parsing, matching and
//! the store during a poll — a lookup would queue behind that work until its fetch timed out.
//! Invariants: a lookup never waits for CPU work, only for one of [`MAX_LOOKUPS`] slots
//! (the number of lookups at once, each on a short-lived thread of its own); a slot is held
//! until its lookup returns, even when the fetch that asked gave up meanwhile.

use std::net::ToSocketAddrs;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::Semaphore;

/// Lookups running at once (more wait their turn, asynchronously).
pub const MAX_LOOKUPS: usize = 16;

#[derive(Clone)]
pub struct ThreadResolver {
    slots: Arc<Semaphore>,
}

impl ThreadResolver {
    pub fn new() -> ThreadResolver {
        ThreadResolver {
            slots: Arc::new(Semaphore::new(MAX_LOOKUPS)),
        }
    }
}

impl Default for ThreadResolver {
    fn default() -> Self {
        ThreadResolver::new()
    }
}

impl Resolve for ThreadResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let slots = self.slots.clone();
        Box::pin(async move {
            let slot = slots.acquire_owned().await?;
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::Builder::new()
                .name("vigie-dns".into())
                .spawn(move || {
                    let found = (host.as_str(), 0).to_socket_addrs().map(Vec::from_iter);
                    drop(slot);
                    let _ = tx.send(found);
                })?;
            let addrs = rx.await??;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
