//! [`DirLock`]: the lock Node's `proper-lockfile` takes, which the Salesforce CLI
//! (`@salesforce/core`) holds while it writes an auth file (`<file>.lock`) and, from its
//! refresh-token-rotation support on, while it refreshes one
//! (`<file>.token-rotation.lock`).
//!
//! The lock is a directory: `mkdir` takes it, `rmdir` releases it. A holder touches the
//! directory's modification time every few seconds; a lock untouched for
//! [`STALE_AFTER`] belongs to a holder that died, and the next taker removes it. sfauth
//! takes the same locks the same way, so that it and the CLI wait for each other.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, ErrorKind, Origin, Result};
use crate::store::lock_ignoring_poison;

/// A lock untouched for this long is stale (the CLI's `lockOptions.stale`).
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(10);

/// How often a holder touches its lock: well inside [`STALE_AFTER`] (proper-lockfile's
/// default is half of it).
const TOUCH_EVERY: Duration = Duration::from_secs(5);

/// A held `proper-lockfile` lock; released (the directory removed) on drop, unless another
/// holder took it over meanwhile (this process was stopped past [`STALE_AFTER`]): then it
/// is theirs, and left alone, as proper-lockfile leaves a lock it finds compromised.
#[derive(Debug)]
pub(crate) struct DirLock {
    path: PathBuf,
    // Dropping the sender stops the thread that keeps the lock fresh.
    stop: Option<mpsc::Sender<()>>,
    toucher: Option<std::thread::JoinHandle<()>>,
    /// The modification time this holder last gave the lock; `None` once another holder
    /// has changed it.
    touched: Arc<Mutex<Option<SystemTime>>>,
}

/// Two times closer than this are the same touch (file systems round differently). A
/// takeover happens only past [`STALE_AFTER`], so it is always farther off.
const SAME_TOUCH: Duration = Duration::from_secs(1);

impl DirLock {
    /// Takes the lock `path` (a directory to be), waiting up to `timeout` for its holder.
    /// `what` names the lock's owner in the error if the wait runs out.
    pub(crate) async fn acquire(path: PathBuf, timeout: Duration, what: &str) -> Result<DirLock> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let attempt = path.clone();
            let taken = tokio::task::spawn_blocking(move || try_take(&attempt))
                .await
                .map_err(|_| Error::internal("a lock task stopped unexpectedly (a bug in sfauth)"))?
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Storage,
                        format!("cannot take the lock {}: {e}", path.display()),
                    )
                    .with_origin(Origin::Storage)
                })?;
            if taken {
                let shown = path.display().to_string();
                return DirLock::hold(path).map_err(|e| {
                    Error::new(
                        ErrorKind::Storage,
                        format!("cannot keep the lock {shown} fresh: {e}"),
                    )
                    .with_origin(Origin::Storage)
                });
            }
            if started.elapsed() >= timeout {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "{what} held the lock {} for longer than {:.0} s",
                        path.display(),
                        timeout.as_secs_f64()
                    ),
                )
                .with_hint(format!(
                    "wait for it to finish and run again; a lock left by a process that died is \
                     taken over once it is {} s old",
                    STALE_AFTER.as_secs()
                ))
                .with_origin(Origin::Storage));
            }
            tokio::time::sleep(pause.min(timeout.saturating_sub(started.elapsed()))).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    fn hold(path: PathBuf) -> io::Result<DirLock> {
        let touched = Arc::new(Mutex::new(modified(&path).ok()));
        let (stop, stopped) = mpsc::channel::<()>();
        let (dir, mine) = (path.clone(), Arc::clone(&touched));
        let toucher = std::thread::Builder::new()
            .name("sfauth-lock-touch".into())
            .spawn(move || {
                // Until the sender is dropped: touch on every pause that passes quietly, as
                // long as the lock is still this holder's.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TOUCH_EVERY) {
                    let mut last = lock_ignoring_poison(&mine);
                    if !still_mine(&dir, *last) {
                        *last = None;
                        return;
                    }
                    *last = touch(&dir).ok().or(*last);
                }
            });
        let toucher = match toucher {
            Ok(toucher) => toucher,
            Err(e) => {
                let _ = std::fs::remove_dir(&path);
                return Err(e);
            }
        };
        Ok(DirLock {
            path,
            stop: Some(stop),
            toucher: Some(toucher),
            touched,
        })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(toucher) = self.toucher.take() {
            let _ = toucher.join();
        }
        if still_mine(&self.path, *lock_ignoring_poison(&self.touched)) {
            let _ = std::fs::remove_dir(&self.path);
        } else {
            tracing::debug!(lock = %self.path.display(), "the lock was taken over; left to its holder");
        }
    }
}

/// Whether the lock at `path` still carries the time this holder gave it.
fn still_mine(path: &Path, touched: Option<SystemTime>) -> bool {
    let (Some(touched), Ok(now)) = (touched, modified(path)) else {
        return false;
    };
    let apart = now
        .duration_since(touched)
        .or_else(|e| Ok::<_, ()>(e.duration()))
        .unwrap_or_default();
    apart < SAME_TOUCH
}

fn modified(path: &Path) -> io::Result<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified())
}

/// One try: `mkdir`, or remove a stale lock and `mkdir` again. `Ok(false)`: a live holder
/// has it.
fn try_take(path: &Path) -> io::Result<bool> {
    match std::fs::create_dir(path) {
        Ok(()) => return Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let modified = match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(modified) => modified,
        // Released meanwhile: try again at once.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return try_take_once(path),
        Err(e) => return Err(e),
    };
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    if age < STALE_AFTER {
        return Ok(false);
    }
    tracing::debug!(lock = %path.display(), ?age, "taking over a stale lock");
    match std::fs::remove_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    try_take_once(path)
}

fn try_take_once(path: &Path) -> io::Result<bool> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Sets the lock's modification time to now; gives the time it now has.
fn touch(path: &Path) -> io::Result<SystemTime> {
    let dir = std::fs::File::open(path)?;
    dir.set_modified(SystemTime::now())?;
    modified(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_lock_is_waited_for_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json.lock");
        let held = DirLock::acquire(path.clone(), Duration::from_secs(1), "x")
            .await
            .unwrap();
        assert!(path.is_dir());
        let e = DirLock::acquire(path.clone(), Duration::from_millis(100), "the other holder")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("the other holder"), "{e}");
        drop(held);
        assert!(!path.exists());
        DirLock::acquire(path, Duration::from_secs(1), "x")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_lock_another_holder_took_over_is_left_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json.lock");
        let held = DirLock::acquire(path.clone(), Duration::from_secs(1), "x")
            .await
            .unwrap();
        // As the CLI does once this holder has been stopped past the stale line: it
        // removes the lock and makes its own, later.
        std::fs::remove_dir(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let later = SystemTime::now() + STALE_AFTER;
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        drop(held);
        assert!(path.is_dir(), "the other holder's lock stays");
    }

    #[tokio::test]
    async fn a_stale_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json.lock");
        std::fs::create_dir(&path).unwrap();
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(1);
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        DirLock::acquire(path, Duration::from_millis(200), "x")
            .await
            .unwrap();
    }
}
