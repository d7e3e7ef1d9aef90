//! [`RedisStore`]: tokens in a Redis server, shared by every machine that reaches it,
//! refreshed one at a time under a lease.
//!
//! Each token is a hash `sfauth:{KEY}:token` with the fields `token` (the token JSON),
//! `version` (bumped by every write), `updated_ms` and, while a refresh is out, `mark`
//! ([`RefreshMark`]). Its lock is `sfauth:{KEY}:lock`; the braces keep both in one hash
//! slot of a cluster.
//!
//! - **The lock** is a lease: `SET lock OWNER NX PX lease`, with a random owner value. While
//!   the refresh runs the holder renews it (only if it still holds `OWNER`), and it is
//!   released by a compare-and-delete, so a holder whose lease ran out never frees the next
//!   holder's lock.
//! - **Every write** is a compare-and-set on `version`, in one Lua script: a holder whose
//!   lease ran out, and that another holder followed, cannot overwrite the newer token.
//! - **Durability** is the server's: with `appendonly yes` and `appendfsync always` a write
//!   is on disk before Redis answers, so a rotated token survives a crash of the server.
//!   Anything less can lose the last writes; the store warns when it finds the server set so.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, IntoConnectionInfo, Script};
use tokio::sync::{Mutex, OnceCell};

use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::store::keyed::{AbortOnDrop, KeyedToken};
use crate::store::location::{ServerUrl, StoreKey, StoreOptions, StoredKey};
use crate::store::{NETWORK_SAVE_RETRY_PAUSES, RefreshMark, StoreLock, TokenStore};
use crate::token::Token;

/// Extends the lease only while `OWNER` still holds it.
static RENEW: LazyLock<Script> = LazyLock::new(|| Script::new(RENEW_LUA));
const RENEW_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

/// Deletes the lock only while `OWNER` still holds it.
static UNLOCK: LazyLock<Script> = LazyLock::new(|| Script::new(UNLOCK_LUA));
const UNLOCK_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// A write over a version ('' for a key that must not exist yet): `token` sets the token
/// and clears the mark, `mark` sets the mark, `clear` clears it, `delete` removes the hash. Returns the new
/// version (0 after a delete), or -1 when the stored version is not the one expected. A token
/// write that finds its own token one version on (a retry whose first answer was lost) is
/// done.
static WRITE: LazyLock<Script> = LazyLock::new(|| Script::new(WRITE_LUA));
const WRITE_LUA: &str = r"
local current = redis.call('HGET', KEYS[1], 'version')
if (current or '') ~= ARGV[1] then
  -- A retry of a token write whose answer was lost: done already, not a conflict.
  if ARGV[2] == 'token' and tonumber(current) == (tonumber(ARGV[1]) or 0) + 1
     and redis.call('HGET', KEYS[1], 'token') == ARGV[3] then
    return tonumber(current)
  end
  return -1
end
if ARGV[2] == 'delete' then
  redis.call('DEL', KEYS[1])
  return 0
end
local next = (tonumber(current) or 0) + 1
if ARGV[2] == 'token' then
  redis.call('HSET', KEYS[1], 'token', ARGV[3], 'version', next, 'updated_ms', ARGV[4])
  redis.call('HDEL', KEYS[1], 'mark')
elseif ARGV[2] == 'clear' then
  redis.call('HSET', KEYS[1], 'version', next)
  redis.call('HDEL', KEYS[1], 'mark')
else
  redis.call('HSET', KEYS[1], 'mark', ARGV[3], 'version', next)
end
return next";

/// How many keys `keys` lists at most.
const MAX_LISTED: usize = 10_000;
/// The longest pause between two tries at a held lock.
const LOCK_POLL_CAP: Duration = Duration::from_millis(40);

/// A token store in a Redis server.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{StoreKey, StoreOptions, StoreUrl, TokenStore};
/// let url = StoreUrl::parse("rediss://cache.internal:6380/0")?;
/// let store = url.open(&StoreKey::parse("prod")?, &StoreOptions::default())?;
/// let token = store.load().await?;
/// # Ok(()) }
/// ```
pub struct RedisStore {
    client: Client,
    keyed: KeyedToken,
    options: StoreOptions,
    connection: Mutex<Option<MultiplexedConnection>>,
    /// The server's persistence is checked once, at the first lock.
    checked: OnceCell<()>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.keyed.shown)
            .field("key", &self.keyed.key)
            .finish_non_exhaustive()
    }
}

/// The lease: its owner value, and the task that renews it.
///
/// Dropped without [`release`](TokenStore::release), the lease is not freed (that needs the
/// server): it runs out on its own.
struct Lease {
    owner: String,
    lost: Arc<AtomicBool>,
    renewer: AbortOnDrop,
}

impl RedisStore {
    /// The store for `key` on the server `server` names. Connects on first use.
    pub fn new(server: &ServerUrl, key: &StoreKey, options: &StoreOptions) -> Result<Self> {
        let malformed = |e: redis::RedisError| {
            Error::new(
                ErrorKind::Usage,
                format!(
                    "the store URL `{}` is not a Redis URL: {e}",
                    server.redacted()
                ),
            )
            .with_hint("write it as redis://HOST:PORT/DB, or rediss://… for TLS")
        };
        let mut info = server
            .url()
            .clone()
            .into_connection_info()
            .map_err(malformed)?;
        if let Some(password) = server.password() {
            let settings = info
                .redis_settings()
                .clone()
                .set_password(password.expose());
            info = info.set_redis_settings(settings);
        }
        let client = Client::open(info).map_err(malformed)?;
        Ok(RedisStore {
            client,
            keyed: KeyedToken::new(server.redacted(), key, "the Redis server"),
            options: options.clone(),
            connection: Mutex::new(None),
            checked: OnceCell::new(),
        })
    }

    fn token_key(&self) -> String {
        format!("sfauth:{{{}}}:token", self.keyed.key)
    }

    fn lock_key(&self) -> String {
        format!("sfauth:{{{}}}:lock", self.keyed.key)
    }

    /// The connection, opened if there is none.
    async fn connection(&self) -> Result<MultiplexedConnection> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.connect_timeout))
            .set_response_timeout(Some(self.options.connect_timeout));
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| self.failed("connect to", &e))?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Runs `command`.
    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd, doing: &str) -> Result<T> {
        let mut connection = self.connection().await?;
        let answer = command.query_async(&mut connection).await;
        self.answered(answer, doing).await
    }

    /// `answer`, or its error; a broken connection is dropped, so the next call opens
    /// another.
    async fn answered<T>(&self, answer: redis::RedisResult<T>, doing: &str) -> Result<T> {
        match answer {
            Ok(value) => Ok(value),
            Err(e) => {
                if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                    *self.connection.lock().await = None;
                }
                Err(self.failed(doing, &e))
            }
        }
    }

    async fn script<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[&str],
        doing: &str,
    ) -> Result<T> {
        let mut connection = self.connection().await?;
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let answer = invocation.invoke_async(&mut connection).await;
        self.answered(answer, doing).await
    }

    /// What in the server's persistence settings can lose a rotated token, if anything.
    pub async fn durability_warning(&self) -> Result<Option<String>> {
        let config: std::result::Result<Vec<String>, Error> = self
            .run(
                redis::cmd("CONFIG").arg("GET").arg("append*"),
                "read the persistence settings of",
            )
            .await;
        let (aof, fsync) = match config {
            Ok(pairs) => {
                let find = |name: &str| {
                    pairs
                        .chunks(2)
                        .find(|pair| pair[0] == name)
                        .and_then(|pair| pair.get(1).cloned())
                };
                (find("appendonly"), find("appendfsync"))
            }
            // Managed servers often disable CONFIG; INFO tells whether the AOF is on.
            Err(_) => {
                let info: String = self
                    .run(
                        redis::cmd("INFO").arg("persistence"),
                        "read the persistence of",
                    )
                    .await?;
                let aof = info
                    .lines()
                    .find_map(|line| line.strip_prefix("aof_enabled:"))
                    .map(|v| if v.trim() == "1" { "yes" } else { "no" }.to_owned());
                (aof, None)
            }
        };
        Ok(match (aof.as_deref(), fsync.as_deref()) {
            (Some("yes"), Some("always")) => None,
            (Some("yes"), Some(other)) => Some(format!(
                "the Redis server of {} writes its append-only file with appendfsync {other}: a \
                 crash of the server can lose the last second of writes, a rotated refresh token \
                 among them; set appendfsync always (or replicate and WAIT), see the README's \
                 fleet section",
                self.keyed.shown
            )),
            (Some("yes"), None) => None,
            _ => Some(format!(
                "the Redis server of {} keeps no append-only file (appendonly no): a crash or \
                 restart of the server loses every write since its last snapshot, rotated \
                 refresh tokens among them; set appendonly yes and appendfsync always, see the \
                 README's fleet section",
                self.keyed.shown
            )),
        })
    }

    /// The tokens the server holds, by key.
    pub async fn keys(&self) -> Result<Vec<StoredKey>> {
        let mut cursor: u64 = 0;
        let mut names = Vec::new();
        // Bounded: each round trip moves the cursor; stop at the cap either way.
        for _ in 0..10_000 {
            let (next, batch): (u64, Vec<String>) = self
                .run(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg("sfauth:{*}:token")
                        .arg("COUNT")
                        .arg(500),
                    "list the tokens in",
                )
                .await?;
            names.extend(batch);
            cursor = next;
            if cursor == 0 || names.len() >= MAX_LISTED {
                break;
            }
        }
        names.sort();
        names.dedup();
        names.truncate(MAX_LISTED);
        let mut listed = Vec::with_capacity(names.len());
        for name in names {
            let Some(key) = name
                .strip_prefix("sfauth:{")
                .and_then(|rest| rest.strip_suffix("}:token"))
            else {
                continue;
            };
            let (version, updated, mark): (Option<u64>, Option<u64>, Option<String>) = self
                .run(
                    redis::cmd("HMGET")
                        .arg(&name)
                        .arg("version")
                        .arg("updated_ms")
                        .arg("mark"),
                    "list the tokens in",
                )
                .await?;
            listed.push(StoredKey {
                key: key.to_owned(),
                version: version.unwrap_or(0),
                updated: updated.map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
                interrupted: mark.is_some(),
            });
        }
        Ok(listed)
    }

    fn failed(&self, doing: &str, e: &redis::RedisError) -> Error {
        if e.kind() == redis::ErrorKind::AuthenticationFailed
            || e.code().is_some_and(|c| c == "WRONGPASS" || c == "NOAUTH")
        {
            return self
                .keyed
                .login_refused(e.code().unwrap_or("authentication failed"));
        }
        let detail = crate::http::chain(e);
        if e.is_io_error()
            || e.is_connection_refusal()
            || e.is_timeout()
            || e.is_connection_dropped()
        {
            return self.keyed.unreachable(&detail);
        }
        self.keyed.failed(doing, &detail)
    }

    /// A compare-and-set write; the new version, or `None` when the stored one moved.
    async fn write(
        &self,
        lock: &StoreLock,
        what: &str,
        value: &str,
        doing: &str,
    ) -> Result<Option<u64>> {
        let expected = lock.version().map(|v| v.to_string()).unwrap_or_default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
            .to_string();
        let answer: i64 = self
            .script(
                &WRITE,
                &[&self.token_key()],
                &[&expected, what, value, &now],
                doing,
            )
            .await?;
        Ok(u64::try_from(answer).ok())
    }

    async fn warn_once_about_durability(&self) {
        self.checked
            .get_or_init(|| async {
                match self.durability_warning().await {
                    Ok(Some(warning)) => tracing::warn!("{warning}"),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "cannot check the Redis server's persistence")
                    }
                }
            })
            .await;
    }
}

#[async_trait]
impl TokenStore for RedisStore {
    async fn load(&self) -> Result<Token> {
        let mut connection = self.connection().await?;
        let answer: redis::RedisResult<Option<String>> = redis::cmd("HGET")
            .arg(self.token_key())
            .arg("token")
            .query_async(&mut connection)
            .await;
        // A key of another type under the token's name is bad input, not a failing store.
        if let Err(e) = &answer
            && e.code() == Some("WRONGTYPE")
        {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "the value under the key `{}` in {} is not an sfauth token (a Redis value \
                     of another type holds its name)",
                    self.keyed.key, self.keyed.shown
                ),
            )
            .with_hint("import a Salesforce token JSON under this key; nothing was changed")
            .with_remedy(Remedy::ImportToken));
        }
        let text = self.answered(answer, "read a token from").await?;
        let text = zeroize::Zeroizing::new(text.ok_or_else(|| self.keyed.missing())?);
        self.keyed.parse(&text)
    }

    async fn lock(&self) -> Result<StoreLock> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::internal(format!("no randomness for a lease owner: {e}")))?;
        let owner: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let lease_ms = u64::try_from(self.options.lease.as_millis())
            .unwrap_or(u64::MAX)
            .max(1000);
        let lock_key = self.lock_key();
        let started = Instant::now();
        // Redis has no queue of waiters: poll, often enough that a stampede drains quickly
        // once the holder is done (each waiter holds the lock for a few round trips only),
        // with jitter so that the waiters do not poll in step.
        let mut pauses = backon::BackoffBuilder::build(
            backon::ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(2))
                .with_max_delay(LOCK_POLL_CAP)
                .with_factor(1.5)
                .with_jitter()
                .without_max_times(),
        );
        loop {
            let taken: Option<String> = self
                .run(
                    redis::cmd("SET")
                        .arg(&lock_key)
                        .arg(&owner)
                        .arg("NX")
                        .arg("PX")
                        .arg(lease_ms),
                    "lock a token in",
                )
                .await?;
            if taken.is_some() {
                break;
            }
            if started.elapsed() >= self.options.lock_timeout {
                return Err(self.keyed.lock_timed_out(self.options.lock_timeout));
            }
            tokio::time::sleep(pauses.next().unwrap_or(LOCK_POLL_CAP)).await;
        }
        self.warn_once_about_durability().await;
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(
            self.connection().await?,
            lock_key,
            owner.clone(),
            lease_ms,
            Arc::clone(&lost),
        ));
        let found: (Option<u64>, Option<String>) = self
            .run(
                redis::cmd("HMGET")
                    .arg(self.token_key())
                    .arg("version")
                    .arg("mark"),
                "lock a token in",
            )
            .await?;
        let mut lock = StoreLock::new(Lease {
            owner,
            lost,
            renewer: AbortOnDrop(renewer.abort_handle()),
        });
        if let Some(version) = found.0 {
            lock = lock.with_version(version);
        }
        if let Some(mark) = found.1.as_deref().and_then(RefreshMark::from_text) {
            lock = lock.with_interrupted(mark);
        }
        Ok(lock)
    }

    async fn mark_refreshing(&self, lock: &StoreLock, mark: &RefreshMark) -> Result<()> {
        if lock.version().is_none() {
            return Err(self.keyed.missing());
        }
        let written = self
            .write(lock, "mark", &mark.to_text(), "mark a refresh in")
            .await?;
        self.keyed.written(lock, written)
    }

    async fn clear_mark(&self, lock: &StoreLock) -> Result<()> {
        if lock.version().is_none() {
            return Ok(());
        }
        let written = self
            .write(lock, "clear", "", "clear a refresh mark in")
            .await?;
        self.keyed.written(lock, written)
    }

    async fn save(&self, lock: &StoreLock, token: &Token) -> Result<()> {
        if let Some(lease) = lock.guard::<Lease>()
            && lease.lost.load(Ordering::SeqCst)
        {
            // Still written if no one else wrote meanwhile: the version decides.
            tracing::warn!(
                "the lease on {} ran out during the refresh",
                self.describe()
            );
        }
        let json = token.to_json_pretty();
        let written = self
            .write(lock, "token", json.as_str(), "save a token in")
            .await?;
        self.keyed.written(lock, written)
    }

    async fn delete(&self, lock: &StoreLock) -> Result<()> {
        if lock.version().is_none() {
            return Ok(());
        }
        match self
            .write(lock, "delete", "", "delete a token from")
            .await?
        {
            Some(_) => Ok(()),
            None => Err(self.keyed.moved()),
        }
    }

    async fn release(&self, lock: StoreLock) -> Result<()> {
        let Some(lease) = lock.into_guard::<Lease>() else {
            return Ok(());
        };
        drop(lease.renewer);
        let _: i64 = self
            .script(
                &UNLOCK,
                &[&self.lock_key()],
                &[&lease.owner],
                "unlock a token in",
            )
            .await?;
        Ok(())
    }

    fn save_retry_pauses(&self) -> &'static [Duration] {
        NETWORK_SAVE_RETRY_PAUSES
    }

    fn describe(&self) -> String {
        self.keyed.describe()
    }
}

/// Renews the lease every third of its length while `owner` holds it; notes when it does not.
async fn renew(
    mut connection: MultiplexedConnection,
    lock_key: String,
    owner: String,
    lease_ms: u64,
    lost: Arc<AtomicBool>,
) {
    let every = Duration::from_millis((lease_ms / 3).max(100));
    loop {
        tokio::time::sleep(every).await;
        let renewed: redis::RedisResult<i64> = RENEW
            .key(&lock_key)
            .arg(&owner)
            .arg(lease_ms)
            .invoke_async(&mut connection)
            .await;
        match renewed {
            Ok(1) => {}
            Ok(_) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // A passing error: the next round tries again, while the lease lasts.
            Err(e) => tracing::debug!(error = %e, "renewing the Redis lease failed"),
        }
    }
}
