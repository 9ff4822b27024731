//! Reload triggers for the daemon: changes to any configuration or rule file (file
//! watching, debounced) become one message on a channel; SIGHUP is sent to the same
//! channel by the binary. Invariant: a burst of writes (an editor saving, a `cp`, a
//! rename over the file) produces one reload, after the writes have settled.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// How long the files must be quiet before a reload.
pub const DEBOUNCE: Duration = Duration::from_millis(400);

/// Watches the folders holding `files` and sends `()` on `tx` when one of the files
/// changes. Dropping it stops the watching.
pub struct FileWatch {
    _watcher: RecommendedWatcher,
    _forward: tokio::task::JoinHandle<()>,
}

impl FileWatch {
    pub fn start(files: &[PathBuf], tx: mpsc::Sender<()>) -> notify::Result<FileWatch> {
        let wanted: HashSet<PathBuf> = files.iter().map(|p| normalise(p)).collect();
        let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if let Ok(ev) = res {
                    let relevant = ev.paths.iter().any(|p| wanted.contains(&normalise(p)));
                    if relevant && !ev.kind.is_access() {
                        let _ = raw_tx.send(());
                    }
                }
            })?;
        // Watch folders, not files: editors and `mv` replace the file, which ends a watch
        // on the file itself.
        let dirs: HashSet<PathBuf> = files
            .iter()
            .map(|f| {
                normalise(f)
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            })
            .collect();
        for d in &dirs {
            watcher.watch(d, RecursiveMode::NonRecursive)?;
        }
        let forward = tokio::spawn(async move {
            while raw_rx.recv().await.is_some() {
                // Debounce: wait until the writes stop.
                loop {
                    match tokio::time::timeout(DEBOUNCE, raw_rx.recv()).await {
                        Ok(Some(())) => continue,
                        Ok(None) => return,
                        Err(_) => break,
                    }
                }
                if tx.send(()).await.is_err() {
                    return;
                }
            }
        });
        Ok(FileWatch {
            _watcher: watcher,
            _forward: forward,
        })
    }
}

/// An absolute, lexically cleaned path (files may not exist yet, so no canonicalize of
/// the file itself; its folder is canonicalized when it exists).
fn normalise(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::CurDir => {}
            other => clean.push(other),
        }
    }
    match (clean.parent(), clean.file_name()) {
        (Some(dir), Some(name)) => dir.canonicalize().map_or(clean.clone(), |d| d.join(name)),
        _ => clean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_of_writes_is_one_reload_and_other_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.toml");
        std::fs::write(&rules, "a").unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let _w = FileWatch::start(std::slice::from_ref(&rules), tx).unwrap();
        std::fs::write(dir.path().join("other.txt"), "x").unwrap();
        for i in 0..5 {
            std::fs::write(&rules, format!("b{i}")).unwrap();
        }
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .unwrap(),
            Some(())
        );
        // Nothing more: the burst was one reload, the other file none.
        assert!(tokio::time::timeout(DEBOUNCE * 3, rx.recv()).await.is_err());
        // Replacing the file by rename (as editors do) is seen too.
        let tmp = dir.path().join(".rules.toml.swp");
        std::fs::write(&tmp, "c").unwrap();
        std::fs::rename(&tmp, &rules).unwrap();
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .unwrap(),
            Some(())
        );
    }
}
