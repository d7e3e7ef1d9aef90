//! [`FileStore`]: a seed-format JSON token file, written atomically with mode 0600.
//!
//! A save writes a temp file in the same directory, fsyncs it, renames it over the token
//! file and fsyncs the directory, so a crash at any instant leaves the old file or the new
//! one. Refreshes are serialized by an advisory lock on a separate `<file>.lock`: the token
//! file itself is replaced by each rename, so a lock on it would not hold.
//!
//! Three rules keep a rotated refresh token from being lost:
//!
//! - **Room first.** [`TokenStore::prepare`] creates the temp file and fills it with reserved
//!   room, fsynced, before the refresh is sent; the save then overwrites it in place. A full
//!   disk or a read-only directory fails before anything reaches Salesforce.
//! - **Leftovers are finished.** Temp files are named `.sfauth-<file name>-XXXXXX.tmp`. A
//!   process killed between its temp file's fsync and the rename leaves the live token in
//!   one; the next `lock()` adopts a complete, newer leftover of the same user and deletes
//!   the stale ones.
//! - **Through symlinks.** A symlinked token file is written at its final target (the link
//!   stays a link), and the lock lives beside that target, so two links to one file share
//!   one lock. The lock file itself is never followed.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tempfile::NamedTempFile;
use zeroize::Zeroizing;

use super::{StoreLock, TokenStore};
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::token::Token;

/// How long a process waits for another one's refresh before giving up.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a lock wait lasts before the [`WaitNotice`] is told.
pub const WAIT_NOTICE_AFTER: Duration = Duration::from_secs(1);

/// The largest token file sfauth reads. A token is a few KiB; anything far bigger is not one,
/// and reading it whole would be unbounded.
pub const MAX_TOKEN_FILE_BYTES: u64 = 1024 * 1024;

/// The least room [`TokenStore::prepare`] reserves for a save.
pub const MIN_RESERVED_BYTES: u64 = 16 * 1024;

/// Symlinks followed at most when resolving a token file (the kernel's own limit).
const MAX_SYMLINK_HOPS: usize = 40;

/// Told once, with the lock file's path, when a lock wait has lasted [`WAIT_NOTICE_AFTER`]:
/// a program on a terminal can say what it is waiting for. The library itself never prints.
pub type WaitNotice = Arc<dyn Fn(&Path) + Send + Sync>;

/// A token in a JSON file, the format of Salesforce's token response (and of the seed
/// samples' `_salesforce.json`). Keys sfauth does not know are kept.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{FileStore, Token, TokenStore};
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::new(dir.path().join("tokens/_salesforce.json"));
/// let token = Token::from_json(br#"{"access_token":"00Dx!AQ","instance_url":"https://x.my.salesforce.com"}"#).unwrap();
/// let lock = store.lock().await?;
/// store.prepare(&lock).await?; // optional: proves the save can succeed
/// store.save(&lock, &token).await?;
/// assert_eq!(store.load().await?, token);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FileStore {
    path: PathBuf,
    lock_suffix: &'static str,
    lock_timeout: Duration,
    wait_notice: Option<WaitNotice>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .field("lock_timeout", &self.lock_timeout)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// A store for the token file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore {
            path: path.into(),
            lock_suffix: ".lock",
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            wait_notice: None,
        }
    }

    /// How long `lock()` waits for another process.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Calls `notice` once when `lock()` has waited [`WAIT_NOTICE_AFTER`] for another
    /// process.
    ///
    /// ```
    /// let store = sfauth::FileStore::new("t.json")
    ///     .with_wait_notice(|lock| eprintln!("waiting for {}", lock.display()));
    /// # let _ = store;
    /// ```
    pub fn with_wait_notice(mut self, notice: impl Fn(&Path) + Send + Sync + 'static) -> Self {
        self.wait_notice = Some(Arc::new(notice));
        self
    }

    /// The token file's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file that is really read and written: the path with its symlinks followed (see
    /// [`resolve_target`]).
    pub fn target(&self) -> PathBuf {
        resolve_target(&self.path)
    }

    /// The lock file's path: `<target>.lock`, beside the resolved target.
    pub fn lock_path(&self) -> PathBuf {
        let target = self.target();
        let mut name = target.file_name().unwrap_or_default().to_os_string();
        name.push(self.lock_suffix);
        target.with_file_name(name)
    }

    /// With the lock file named `<target><suffix>`: for a file whose other writer uses
    /// `<target>.lock` for a lock of its own kind.
    pub(crate) fn with_lock_suffix(mut self, suffix: &'static str) -> Self {
        self.lock_suffix = suffix;
        self
    }

    /// The file's bytes, bounded and checked as a token file's are; `describe` names the
    /// file in errors ("token file", "Postman environment").
    pub(crate) fn read_private(&self, describe: &str) -> Result<Zeroizing<Vec<u8>>> {
        match read_bounded(&self.path) {
            Ok(bytes) => Ok(bytes),
            Err(ReadError::Missing) => Err(Error::new(
                ErrorKind::Usage,
                format!("{describe} {} does not exist", self.path.display()),
            )),
            Err(ReadError::Unusable(what)) => Err(Error::new(
                ErrorKind::Usage,
                format!("{describe} {} {what}", self.path.display()),
            )),
            Err(ReadError::Io(e)) => Err(io_error(&self.path, &format!("read {describe}"), &e)),
        }
    }

    /// Replaces the file with `bytes`, atomically and at 0600, into the room
    /// [`prepare`](TokenStore::prepare) set aside under `lock` (or a new temp file).
    pub(crate) async fn write_locked(
        &self,
        lock: &StoreLock,
        bytes: Zeroizing<Vec<u8>>,
    ) -> Result<()> {
        let target = self.target();
        let reserved = lock
            .take_reservation::<Reservation>()
            .filter(|r| r.target == target);
        tokio::task::spawn_blocking(move || {
            create_private_dir(&parent_dir(&target))?;
            let tmp = match reserved {
                Some(reservation) => reservation.file,
                None => new_temp(&target)?,
            };
            commit(&target, tmp, &bytes)
        })
        .await
        .map_err(blocking_failed)?
    }
}

/// The lock file that guards `path`: `<path>.lock` beside it. A separate file, because the
/// guarded one is replaced by a rename on every save, which would drop a lock held on it.
///
/// ```
/// use std::path::Path;
/// assert_eq!(sfauth::files::lock_path_for(Path::new("/t/a.json")), Path::new("/t/a.json.lock"));
/// ```
pub fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// `path` with its chain of symlinks followed to the final file, which need not exist yet
/// (a dangling link resolves to where it points). A path that is not a symlink comes back
/// as it is. Writing at the target, rather than replacing the link, keeps the link a link.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let real = dir.path().join("real.json");
/// let link = dir.path().join("link.json");
/// std::os::unix::fs::symlink("real.json", &link).unwrap();
/// assert_eq!(sfauth::files::resolve_target(&link), real);
/// ```
pub fn resolve_target(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        let is_link = fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            break;
        }
        match fs::read_link(&current) {
            Ok(next) if next.is_absolute() => current = next,
            Ok(next) => current = parent_dir(&current).join(next),
            Err(_) => break,
        }
    }
    current
}

pub(crate) fn io_error(path: &Path, doing: &str, e: &io::Error) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!("cannot {doing} {}: {e}", path.display()),
    )
    .with_hint("check the disk's free space and the permissions of the file and its directory")
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates `dir` and its missing parents with mode 0700; an existing directory is left as
/// it is (it is the user's).
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| io_error(dir, "create directory", &e))
}

/// The temp-file name prefix for `target`: `.sfauth-<file name>-`, so a leftover names the
/// file it belongs to.
fn temp_prefix(target: &Path) -> OsString {
    let mut prefix = OsString::from(".sfauth-");
    prefix.push(target.file_name().unwrap_or_default());
    prefix.push("-");
    prefix
}

const TEMP_SUFFIX: &str = ".tmp";
const TEMP_RANDOM_CHARS: usize = 6;

/// Whether `name` is one of `target`'s temp files: the prefix, exactly the random part's
/// length of alphanumerics, the suffix. `a.json`'s leftovers are not `a.json-x`'s.
fn is_temp_of(target: &Path, name: &std::ffi::OsStr) -> bool {
    let prefix = temp_prefix(target);
    let (Some(name), Some(prefix)) = (name.to_str(), prefix.to_str()) else {
        return false;
    };
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX))
        .is_some_and(|random| {
            random.len() == TEMP_RANDOM_CHARS && random.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// A new, empty temp file (0600) in `target`'s directory, so the rename stays on one file
/// system.
fn new_temp(target: &Path) -> Result<NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&temp_prefix(target))
        .suffix(TEMP_SUFFIX)
        .rand_bytes(TEMP_RANDOM_CHARS)
        .tempfile_in(parent_dir(target))
        .map_err(|e| io_error(target, "create a temp file beside", &e))
}

/// Overwrites `tmp` with `bytes` from offset 0, cuts it to their length, fsyncs it and
/// renames it over `target`, then fsyncs the directory (the rename is durable only once the
/// directory entry is).
fn commit(target: &Path, mut tmp: NamedTempFile, bytes: &[u8]) -> Result<()> {
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    tmp.rewind()
        .and_then(|_| tmp.write_all(bytes))
        .and_then(|()| tmp.as_file().set_len(len))
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io_error(target, "write", &e))?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|e| io_error(target, "set permissions on", &e))?;
    tmp.persist(target)
        .map_err(|e| io_error(target, "replace", &e.error))?;
    sync_dir(target)
}

fn sync_dir(target: &Path) -> Result<()> {
    File::open(parent_dir(target))
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(target, "sync the directory of", &e))
}

/// Writes `bytes` to `path` atomically and durably with mode 0600: a temp file in the same
/// directory, fsync, rename over `path`, fsync the directory. A crash at any instant leaves
/// the old file or the new one. A symlink at `path` is written through to its target.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("private/config.toml");
/// sfauth::files::write_private_file(&path, b"x = 1\n").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"x = 1\n");
/// ```
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = resolve_target(path);
    create_private_dir(&parent_dir(&target))?;
    commit(&target, new_temp(&target)?, bytes)
}

/// The temp file a [`TokenStore::prepare`] set aside, held by the [`StoreLock`]. Dropping it
/// removes the file, so an abandoned refresh leaves nothing behind.
struct Reservation {
    target: PathBuf,
    file: NamedTempFile,
}

/// Creates `target`'s temp file and fills it with `room` bytes of filler, fsynced: the disk
/// space the save will overwrite is then already allocated.
fn reserve(target: &Path, room: u64) -> Result<Reservation> {
    create_private_dir(&parent_dir(target))?;
    let mut file = new_temp(target)?;
    let chunk = [0u8; 4096];
    let mut left = room;
    while left > 0 {
        let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        file.write_all(&chunk[..n])
            .map_err(|e| io_error(target, "reserve room for a save beside", &e))?;
        left -= n as u64;
    }
    file.as_file()
        .sync_all()
        .map_err(|e| io_error(target, "reserve room for a save beside", &e))?;
    Ok(Reservation {
        target: target.to_path_buf(),
        file,
    })
}

/// Why a token file could not be read.
pub(crate) enum ReadError {
    Missing,
    /// Not a token file at all (the message says what it is): a usage problem.
    Unusable(String),
    Io(io::Error),
}

/// Reads a regular file of at most [`MAX_TOKEN_FILE_BYTES`]. Opened non-blocking, so a FIFO
/// never hangs the read; its type is checked on the open file, so it cannot change between
/// the check and the read.
pub(crate) fn read_bounded(path: &Path) -> std::result::Result<Zeroizing<Vec<u8>>, ReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ReadError::Missing,
            _ => ReadError::Io(e),
        })?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else if !kind.is_file() {
        Some("not a regular file")
    } else {
        None
    };
    if let Some(what) = what {
        return Err(ReadError::Unusable(format!("is {what}, not a token file")));
    }
    let too_big = || {
        ReadError::Unusable(format!(
            "is larger than {} KiB, too big for a token file",
            MAX_TOKEN_FILE_BYTES / 1024
        ))
    };
    if meta.len() > MAX_TOKEN_FILE_BYTES {
        return Err(too_big());
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(
        usize::try_from(meta.len()).unwrap_or_default(),
    ));
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// Finishes what a killed save left beside `target`: adopts the newest complete leftover
/// that holds a later token of the same user (same `id`, later `issued_at`) by renaming it
/// over `target`, and deletes the other leftovers. Runs under the lock, so no other sfauth
/// is writing one of them. Leftovers are judged against the stored token only: with no
/// readable token at `target`, they are left alone.
fn recover_leftovers(target: &Path) -> Result<()> {
    let Ok(stored) = read_bounded(target) else {
        return Ok(());
    };
    let Ok(stored) = Token::from_json(&stored) else {
        return Ok(());
    };
    let dir = parent_dir(target);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(());
    };
    let leftovers: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| is_temp_of(target, &e.file_name()))
        .map(|e| e.path())
        .collect();
    let newer = |candidate: &Token| {
        candidate.id().is_some()
            && candidate.id() == stored.id()
            && candidate.issued_at_millis() > stored.issued_at_millis()
    };
    let mut best: Option<(u64, PathBuf, usize)> = None;
    for path in &leftovers {
        let Ok(bytes) = read_bounded(path) else {
            continue;
        };
        // A save overwrites reserved filler (NUL bytes) and then cuts the file: a kill in
        // between leaves the complete token followed by filler.
        let len = bytes.len() - bytes.iter().rev().take_while(|b| **b == 0).count();
        let Ok(token) = Token::from_json(&bytes[..len]) else {
            continue;
        };
        if newer(&token) {
            let at = token.issued_at_millis().unwrap_or_default();
            if best.as_ref().is_none_or(|(b, _, _)| at > *b) {
                best = Some((at, path.clone(), len));
            }
        }
    }
    if let Some((_, path, len)) = &best {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| io_error(path, "open the leftover", &e))?;
        file.set_len(*len as u64)
            .and_then(|()| file.set_permissions(fs::Permissions::from_mode(0o600)))
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(path, "finish the leftover", &e))?;
        fs::rename(path, target).map_err(|e| io_error(target, "adopt a leftover over", &e))?;
        sync_dir(target)?;
        tracing::info!(
            file = %target.display(),
            "adopted the newer token a stopped save left in a temp file"
        );
    }
    for path in leftovers {
        if best
            .as_ref()
            .is_some_and(|(_, adopted, _)| *adopted == path)
        {
            continue;
        }
        if let Err(e) = fs::remove_file(&path) {
            tracing::warn!(file = %path.display(), error = %e, "cannot remove a stale temp file");
        }
    }
    Ok(())
}

/// Takes the exclusive advisory lock on `lock_path` (created 0600 if missing), polling with
/// a short growing sleep rather than blocking a thread, for at most `timeout`. A symlink at
/// `lock_path` is refused, never followed: the lock must not create a file elsewhere.
pub async fn lock_file(lock_path: &Path, timeout: Duration) -> Result<StoreLock> {
    lock_file_with_notice(lock_path, timeout, None).await
}

/// [`lock_file`], telling `notice` once when the wait has lasted [`WAIT_NOTICE_AFTER`].
pub async fn lock_file_with_notice(
    lock_path: &Path,
    timeout: Duration,
    notice: Option<&WaitNotice>,
) -> Result<StoreLock> {
    create_private_dir(&parent_dir(lock_path))?;
    // O_NONBLOCK: a FIFO planted at the lock path must not hang the open.
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(flags)
        .open(lock_path)
        .or_else(|e| match e.raw_os_error() {
            // A lock file that exists in a directory this process cannot write locks as
            // well read-only; the store then says clearly, before sending anything, that
            // it cannot save.
            Some(libc::EROFS | libc::EACCES | libc::EPERM) => OpenOptions::new()
                .read(true)
                .custom_flags(flags)
                .open(lock_path)
                .map_err(|_| e),
            _ => Err(e),
        })
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                Error::new(
                    ErrorKind::Usage,
                    format!(
                        "lock file {} is a symbolic link; sfauth does not follow one for its lock",
                        lock_path.display()
                    ),
                )
                .with_hint("remove the symbolic link; sfauth creates the lock file itself")
            } else {
                io_error(lock_path, "open lock file", &e)
                    .with_hint("sfauth needs to create the .lock file beside the file it protects")
            }
        })?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("lock file {} is not a regular file", lock_path.display()),
        )
        .with_hint("remove it; sfauth creates the lock file itself"));
    }
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    let mut notice = notice;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(StoreLock::new(file)),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => {
                return Err(io_error(lock_path, "lock", &e));
            }
        }
        if started.elapsed() >= WAIT_NOTICE_AFTER
            && let Some(tell) = notice.take()
        {
            tell(lock_path);
        }
        if started.elapsed() >= timeout {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "another process has held {} for over {} s",
                    lock_path.display(),
                    timeout.as_secs_f64()
                ),
            )
            .with_hint("another sfauth is refreshing this token and seems stuck; find it with `fuser` or `lsof` on the lock file")
            .with_origin(crate::error::Origin::Storage));
        }
        tokio::time::sleep(pause.min(timeout.saturating_sub(started.elapsed()))).await;
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

fn blocking_failed(e: tokio::task::JoinError) -> Error {
    // The payload of a panic may hold anything: it is not shown.
    let _ = e;
    Error::internal("a token file task stopped unexpectedly (a bug in sfauth)")
}

#[async_trait]
impl TokenStore for FileStore {
    async fn load(&self) -> Result<Token> {
        let bytes = match read_bounded(&self.path) {
            Ok(bytes) => bytes,
            Err(ReadError::Missing) => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("token file {} does not exist", self.path.display()),
                )
                .with_hint("give the path of a Salesforce token JSON file")
                .with_remedy(Remedy::TokenFile));
            }
            Err(ReadError::Unusable(what)) => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("token file {} {what}", self.path.display()),
                )
                .with_hint("point sfauth at a regular JSON file holding a Salesforce token"));
            }
            Err(ReadError::Io(e)) => return Err(io_error(&self.path, "read token file", &e)),
        };
        Token::from_json(&bytes).map_err(|problem| {
            Error::new(
                ErrorKind::Usage,
                format!(
                    "token file {} is not a usable token: {problem}",
                    self.path.display()
                ),
            )
            .with_hint(
                "the file must hold a JSON object like Salesforce's token response, with at \
                 least access_token and instance_url (and refresh_token to refresh)",
            )
        })
    }

    /// Takes the lock beside the resolved target, then finishes what a killed save left
    /// behind (see the module docs).
    async fn lock(&self) -> Result<StoreLock> {
        let target = self.target();
        let lock = lock_file_with_notice(
            &self.lock_path(),
            self.lock_timeout,
            self.wait_notice.as_ref(),
        )
        .await?;
        tokio::task::spawn_blocking(move || recover_leftovers(&target))
            .await
            .map_err(blocking_failed)??;
        Ok(lock)
    }

    /// Reserves the save's temp file beside the resolved target: `max(2 × the current
    /// file's size, 16 KiB)` of filler, fsynced.
    async fn prepare(&self, lock: &StoreLock) -> Result<()> {
        let target = self.target();
        let reservation = tokio::task::spawn_blocking(move || {
            let current = fs::metadata(&target).map(|m| m.len()).unwrap_or_default();
            reserve(&target, current.saturating_mul(2).max(MIN_RESERVED_BYTES))
        })
        .await
        .map_err(blocking_failed)?
        .map_err(|e| {
            Error::new(
                ErrorKind::Storage,
                format!("{e}; nothing was sent, and the stored token is unchanged"),
            )
            .with_hint(
                "free space on the disk or make the token file's directory writable, then \
                 run again",
            )
        })?;
        lock.set_reservation(reservation);
        Ok(())
    }

    async fn save(&self, lock: &StoreLock, token: &Token) -> Result<()> {
        let json = token.to_json_pretty();
        self.write_locked(lock, Zeroizing::new(json.as_bytes().to_vec()))
            .await
    }

    /// Removes the token file (through a symlink: its target, and the link with it), then
    /// fsyncs the directory so the removal survives a crash. A missing file is already
    /// deleted.
    async fn delete(&self, lock: &StoreLock) -> Result<()> {
        let _ = lock;
        let (path, target) = (self.path.clone(), self.target());
        tokio::task::spawn_blocking(move || {
            for file in [&target, &path] {
                match fs::remove_file(file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(file, "delete token file", &e)),
                }
            }
            sync_dir(&target)
        })
        .await
        .map_err(blocking_failed)?
    }

    fn describe(&self) -> String {
        format!("token file {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(access: &str) -> Token {
        Token::from_json(
            format!(
                r#"{{"access_token":"{access}","instance_url":"https://x.my.salesforce.com"}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn save_writes_mode_0600_over_a_0644_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        fs::write(&path, "{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let store = FileStore::new(&path);
        let lock = store.lock().await.unwrap();
        store.save(&lock, &token("a")).await.unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[tokio::test]
    async fn save_creates_missing_directories_0700() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/t.json");
        let store = FileStore::new(&path);
        let lock = store.lock().await.unwrap();
        store.save(&lock, &token("a")).await.unwrap();
        let mode = fs::metadata(dir.path().join("a/b"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[tokio::test]
    async fn save_leaves_no_temp_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("t.json"));
        let lock = store.lock().await.unwrap();
        store.save(&lock, &token("a")).await.unwrap();
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["t.json", "t.json.lock"]);
    }

    #[tokio::test]
    async fn second_lock_waits_and_times_out_while_the_first_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let held = FileStore::new(&path).lock().await.unwrap();
        let waiter = FileStore::new(&path).with_lock_timeout(Duration::from_millis(100));
        let e = waiter.lock().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        drop(held);
        waiter.lock().await.unwrap();
    }

    #[tokio::test]
    async fn save_through_a_dangling_symlink_creates_its_target_and_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        let store = FileStore::new(&link);
        let lock = store.lock().await.unwrap();
        store.prepare(&lock).await.unwrap();
        store.save(&lock, &token("a")).await.unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(store.load().await.unwrap(), token("a"));
        assert_eq!(store.lock_path(), dir.path().join("real.json.lock"));
    }

    #[tokio::test]
    async fn corrupt_file_is_a_usage_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        fs::write(&path, "{\"access_token\": ").unwrap();
        let e = FileStore::new(&path).load().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains(&path.display().to_string()));
        assert!(e.to_string().contains("not valid JSON"));
    }

    #[tokio::test]
    async fn missing_file_is_a_usage_error_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let e = FileStore::new(dir.path().join("nope.json"))
            .load()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains("does not exist"));
        assert_eq!(e.remedy(), Some(Remedy::TokenFile));
        assert!(
            !e.hint().unwrap().contains("--"),
            "the library names no flag"
        );
    }
}
