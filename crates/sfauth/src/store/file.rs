//! [`FileStore`]: a seed-format JSON token file, written atomically with mode 0600.
//!
//! A save writes a temp file in the same directory, fsyncs it, renames it over the token
//! file and fsyncs the directory, so a crash at any instant leaves the old file or the new
//! one. Refreshes are serialized by an advisory lock on a separate `<file>.lock`: the token
//! file itself is replaced by each rename, so a lock on it would not hold.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{StoreLock, TokenStore};
use crate::error::{Error, ErrorKind, Result};
use crate::token::Token;

/// How long a process waits for another one's refresh before giving up.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a lock wait lasts before the [`WaitNotice`] is told.
pub const WAIT_NOTICE_AFTER: Duration = Duration::from_secs(1);

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
/// store.save(&lock, &token).await?;
/// assert_eq!(store.load().await?, token);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FileStore {
    path: PathBuf,
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

    /// The token file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file's path: `<file>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        lock_path_for(&self.path)
    }
}

/// The lock file that guards `path`: `<path>.lock` beside it. A separate file, because the
/// guarded one is replaced by a rename on every save, which would drop a lock held on it.
///
/// ```
/// use std::path::Path;
/// assert_eq!(sfauth::store::file::lock_path_for(Path::new("/t/a.json")), Path::new("/t/a.json.lock"));
/// ```
pub fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

fn io_error(path: &Path, doing: &str, e: &io::Error) -> Error {
    Error::new(
        ErrorKind::Usage,
        format!("cannot {doing} {}: {e}", path.display()),
    )
    .with_hint("check the path and its permissions")
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
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot create directory {}: {e}", dir.display()),
        )
    })
}

/// Writes `bytes` to `path` atomically and durably with mode 0600: a temp file in the same
/// directory, fsync, rename over `path`, fsync the directory. A crash at any instant leaves
/// the old file or the new one.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("private/config.toml");
/// sfauth::store::file::write_private_file(&path, b"x = 1\n").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"x = 1\n");
/// ```
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    create_private_dir(&dir)?;
    // tempfile creates the file 0600 on Unix, in the target's directory, so the rename
    // stays on one file system.
    let mut tmp = tempfile::Builder::new()
        .prefix(".sfauth-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| io_error(path, "create a temp file beside", &e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io_error(path, "write", &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| io_error(path, "set permissions on", &e))?;
    }
    tmp.persist(path)
        .map_err(|e| io_error(path, "replace", &e.error))?;
    // The rename is durable only once the directory entry is.
    #[cfg(unix)]
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(path, "sync the directory of", &e))?;
    Ok(())
}

/// Takes the exclusive advisory lock on `lock_path` (created 0600 if missing), polling with
/// a short growing sleep rather than blocking a thread, for at most `timeout`.
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
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(lock_path).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot open lock file {}: {e}", lock_path.display()),
        )
        .with_hint("sfauth needs to create the .lock file beside the file it protects")
    })?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    let mut notice = notice;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(StoreLock::new(file)),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("cannot lock {}: {e}", lock_path.display()),
                ));
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
                    timeout.as_secs()
                ),
            )
            .with_hint("another sfauth is refreshing this token and seems stuck; find it with `fuser` or `lsof` on the lock file"));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

#[async_trait]
impl TokenStore for FileStore {
    async fn load(&self) -> Result<Token> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => zeroize::Zeroizing::new(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("token file {} does not exist", self.path.display()),
                )
                .with_hint(
                    "pass the path of a Salesforce token JSON file with --token-file \
                     (or SFAUTH_TOKEN_FILE)",
                ));
            }
            Err(e) => return Err(io_error(&self.path, "read token file", &e)),
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

    async fn lock(&self) -> Result<StoreLock> {
        lock_file_with_notice(
            &self.lock_path(),
            self.lock_timeout,
            self.wait_notice.as_ref(),
        )
        .await
    }

    async fn save(&self, _lock: &StoreLock, token: &Token) -> Result<()> {
        let json = token.to_json_pretty();
        let store = self.clone();
        tokio::task::spawn_blocking(move || write_private_file(&store.path, json.as_bytes()))
            .await
            .map_err(|e| Error::internal(format!("the token writer panicked: {e}")))?
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
        assert!(e.hint().unwrap().contains("--token-file"));
    }
}
