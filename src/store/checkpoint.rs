//! Store stage, background checkpoints: a second connection, on a thread of its own,
//! copies the write-ahead log into the database file while the writer goes on, so that
//! neither a commit nor the closing of the store pays for copying a burst of writes (a
//! first poll's 10,000 articles) at once.
//!
//! Invariants: only PASSIVE checkpoints, which never block the writer or a reader and
//! never wait; nudges coalesce (at most one is pending); the thread is started by the
//! first nudge, so a store that never writes much never has one; it ends, its connection
//! closed, when the store is dropped — the last connection to close makes the final
//! checkpoint, as before.

use std::path::PathBuf;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::JoinHandle;

pub(crate) struct Checkpointer {
    path: PathBuf,
    worker: Option<Worker>,
    /// The thread could not be started: commits carry on without it (SQLite's own
    /// automatic checkpoints still bound the log).
    failed: bool,
}

struct Worker {
    nudges: SyncSender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    pub(crate) fn new(path: PathBuf) -> Checkpointer {
        Checkpointer {
            path,
            worker: None,
            failed: false,
        }
    }

    /// A transaction was committed: checkpoint what the log holds, soon, off this thread.
    pub(crate) fn nudge(&mut self) {
        if self.worker.is_none() && !self.failed {
            self.worker = self.start();
            self.failed = self.worker.is_none();
        }
        if let Some(w) = &self.worker {
            match w.nudges.try_send(()) {
                // Full: a checkpoint is already due, and it will take this commit too.
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {
                    self.worker = None;
                    self.failed = true;
                }
            }
        }
    }

    fn start(&self) -> Option<Worker> {
        let conn = match rusqlite::Connection::open(&self.path) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "no background checkpoints");
                return None;
            }
        };
        // Same durability as the writer's connection: the log is synced before it is
        // copied and the database after, whatever this setting says.
        let _ = conn.pragma_update(None, "synchronous", "NORMAL");
        let (nudges, rx) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("vigie-checkpoint".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // Busy (another checkpoint running) or an I/O error: the next nudge,
                    // or the close, tries again; nothing is lost either way.
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::debug!(error = %e, "background checkpoint");
                    }
                }
            });
        match thread {
            Ok(thread) => Some(Worker { nudges, thread }),
            Err(e) => {
                tracing::debug!(error = %e, "no background checkpoints");
                None
            }
        }
    }
}

impl Drop for Checkpointer {
    /// Wait for the checkpoint under way and close the connection, so that the store's
    /// files are settled when it is gone (a test or a command may reopen them at once).
    fn drop(&mut self) {
        if let Some(Worker { nudges, thread }) = self.worker.take() {
            drop(nudges);
            let _ = thread.join();
        }
    }
}
