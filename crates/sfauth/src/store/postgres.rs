//! [`PostgresStore`]: tokens in a PostgreSQL table, shared by every machine that reaches the
//! database, refreshed one at a time under a transaction-scoped advisory lock.
//!
//! The table, created on first use (or by [`StoreUrl::init`](crate::StoreUrl::init)):
//!
//! ```sql
//! CREATE TABLE sfauth_tokens (
//!     key          text PRIMARY KEY,   -- the store key: an org's alias, or `default`
//!     token        text NOT NULL,      -- the token JSON, as a token file holds it
//!     version      bigint NOT NULL,    -- bumped by every write: the compare-and-set
//!     refresh_mark text,               -- a refresh sent and not yet saved (see RefreshMark)
//!     updated_at   timestamptz NOT NULL DEFAULT now()
//! );
//! ```
//!
//! How a refresh runs:
//!
//! - **The lock** is `pg_advisory_xact_lock` on the key, in a transaction of a connection of
//!   its own. Transaction-scoped, it also works through PgBouncer in transaction mode, and
//!   a holder that dies releases it with its connection (the server sees the socket close).
//!   The wait is bounded by `lock_timeout`; while the refresh runs the holder pings the
//!   connection, and `idle_in_transaction_session_timeout` (the lease) frees the lock of a
//!   holder that froze or lost its network.
//! - **Every write** (the mark, the token) is a single statement in its own transaction on
//!   a second connection: `UPDATE … WHERE key = $1 AND version = $2`, so it is durable when
//!   it returns (the server's `synchronous_commit`) and a holder that lost its lock cannot
//!   overwrite a newer token. Only after that commit does the session hand the new token
//!   out.
//! - Statements use the unnamed prepared statement (`query_typed`): no named statements
//!   that a pooler could hand to another client.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config};

use crate::error::{Error, ErrorKind, Result};
use crate::store::keyed::{AbortOnDrop, KeyedToken};
use crate::store::location::{ServerUrl, StoreKey, StoreOptions, StoredKey};
use crate::store::{NETWORK_SAVE_RETRY_PAUSES, RefreshMark, StoreLock, TokenStore};
use crate::token::Token;

/// The first half of every advisory lock key sfauth takes (`'SFau'`), so that its locks do
/// not collide with another application's one-number locks on the same database.
const LOCK_NAMESPACE: i32 = 0x5346_6175;
/// The advisory lock that serializes creating the table.
const SCHEMA_LOCK: i32 = 0;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS sfauth_tokens (
    key          text PRIMARY KEY,
    token        text NOT NULL,
    version      bigint NOT NULL,
    refresh_mark text,
    updated_at   timestamptz NOT NULL DEFAULT now()
)";

/// A token store in a PostgreSQL database.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{StoreKey, StoreOptions, StoreUrl, TokenStore};
/// let url = StoreUrl::parse("postgres://sfauth@db.internal/tokens")?;
/// let store = url.open(&StoreKey::parse("prod")?, &StoreOptions::default())?;
/// let token = store.load().await?;
/// # Ok(()) }
/// ```
pub struct PostgresStore {
    config: Config,
    keyed: KeyedToken,
    options: StoreOptions,
    /// One connection for reads and writes, opened on first use and again after it broke.
    shared: Mutex<Option<Arc<Client>>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.keyed.shown)
            .field("key", &self.keyed.key)
            .finish_non_exhaustive()
    }
}

/// The lock: the transaction that holds the advisory lock, and the task that keeps its
/// connection from looking idle while the refresh runs.
///
/// Dropping the last handle on the client closes its connection: the server rolls the
/// transaction back and the lock is free.
struct PgLock {
    // Declared first, so it stops before the connection closes.
    keeper: AbortOnDrop,
    client: Arc<Client>,
}

impl PostgresStore {
    /// The store for `key` in the database `server` names. Connects on first use.
    pub fn new(server: &ServerUrl, key: &StoreKey, options: &StoreOptions) -> Result<Self> {
        let url = server.url();
        let mut config: Config = url.as_str().parse().map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!(
                    "the store URL `{}` is not a PostgreSQL URL: {e}",
                    server.redacted()
                ),
            )
            .with_hint("write it as postgres://USER@HOST:PORT/DATABASE (options after `?`)")
        })?;
        if let Some(password) = server.password() {
            config.password(password.expose());
        }
        config.connect_timeout(options.connect_timeout);
        config.application_name("sfauth");
        Ok(PostgresStore {
            config,
            keyed: KeyedToken::new(server.redacted(), key, "the PostgreSQL server"),
            options: options.clone(),
            shared: Mutex::new(None),
        })
    }

    /// Creates the table if it is not there. Safe to run from many machines at once.
    pub async fn init(&self) -> Result<()> {
        let client = self.shared().await?;
        self.create_table(&client).await
    }

    /// The tokens the table holds, by key.
    pub async fn keys(&self) -> Result<Vec<StoredKey>> {
        let client = self.shared().await?;
        let sql = "SELECT key, version, extract(epoch FROM updated_at)::float8, \
                   refresh_mark IS NOT NULL FROM sfauth_tokens ORDER BY key LIMIT 10000";
        let rows = match client.query_typed(sql, &[]).await {
            Err(e) if is_undefined_table(&e) => return Ok(Vec::new()),
            other => other.map_err(|e| self.failed("list the tokens in", &e))?,
        };
        Ok(rows
            .iter()
            .map(|row| StoredKey {
                key: row.get(0),
                version: u64::try_from(row.get::<_, i64>(1)).unwrap_or(0),
                updated: seconds_to_time(row.get(2)),
                interrupted: row.get(3),
            })
            .collect())
    }

    async fn create_table(&self, client: &Client) -> Result<()> {
        // Two machines creating the table at once could collide on the catalog; the lock
        // makes the second wait and find it.
        let sql = format!(
            "BEGIN; SELECT pg_advisory_xact_lock({LOCK_NAMESPACE}, {SCHEMA_LOCK}); {CREATE_TABLE}; COMMIT"
        );
        let done = client.batch_execute(&sql).await;
        if done.is_err() {
            let _ = client.batch_execute("ROLLBACK").await;
        }
        done.map_err(|e| {
            let error = self.failed("create the table sfauth_tokens in", &e);
            match e.code() {
                Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => error.with_hint(
                    "let the store's user create tables in the database, or have its owner \
                     create the table sfauth_tokens once (see the README's fleet section)",
                ),
                // A search_path that names no existing schema leaves nowhere to create in.
                Some(code)
                    if *code == SqlState::INVALID_SCHEMA_NAME
                        || *code == SqlState::UNDEFINED_SCHEMA =>
                {
                    Error::new(
                        ErrorKind::Usage,
                        format!(
                            "the token store {} names no schema that exists to hold the table \
                             sfauth_tokens: {}",
                            self.keyed.shown,
                            db_message(&e)
                        ),
                    )
                    .with_hint(
                        "create the schema (CREATE SCHEMA name), or name one that exists in \
                         the store URL's search_path (?options=-csearch_path%3Dname)",
                    )
                }
                _ => error,
            }
        })
    }

    /// A new connection, with every statement bounded in time. TLS is set up only for a
    /// URL whose `sslmode` may use it.
    async fn connect(&self) -> Result<Client> {
        let limit = self.options.connect_timeout * 2;
        let connecting = async {
            match self.config.get_ssl_mode() {
                tokio_postgres::config::SslMode::Disable => {
                    open(&self.config, tokio_postgres::NoTls).await
                }
                _ => open(&self.config, tls_connector()?).await,
            }
            .map_err(|e| self.connect_failed(&e))
        };
        let client = tokio::time::timeout(limit, connecting)
            .await
            .map_err(|_| {
                self.keyed
                    .unreachable(&format!("no answer within {}s", limit.as_secs()))
            })??;
        let statement_ms = self.options.connect_timeout.as_millis().max(1);
        client
            .batch_execute(&format!("SET statement_timeout = {statement_ms}"))
            .await
            .map_err(|e| self.failed("set up a connection to", &e))?;
        Ok(client)
    }

    /// The shared connection, opened if there is none or it broke.
    async fn shared(&self) -> Result<Arc<Client>> {
        let mut slot = self.shared.lock().await;
        if let Some(client) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(self.connect().await?);
        *slot = Some(Arc::clone(&client));
        Ok(client)
    }

    /// Runs `query` on the shared connection, creating the table once if it is missing.
    async fn query(
        &self,
        sql: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
        doing: &str,
    ) -> Result<Vec<tokio_postgres::Row>> {
        let client = self.shared().await?;
        match client.query_typed(sql, params).await {
            Err(e) if is_undefined_table(&e) => {
                self.create_table(&client).await?;
                client.query_typed(sql, params).await
            }
            other => other,
        }
        .map_err(|e| self.failed(doing, &e))
    }

    fn key(&self) -> &str {
        self.keyed.key()
    }

    fn connect_failed(&self, e: &tokio_postgres::Error) -> Error {
        match e.code() {
            Some(code)
                if *code == SqlState::INVALID_PASSWORD
                    || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                self.keyed.login_refused(&db_message(e))
            }
            Some(code) if *code == SqlState::INVALID_CATALOG_NAME => Error::new(
                ErrorKind::Usage,
                format!(
                    "the token store {} names no database that exists: {}",
                    self.keyed.shown,
                    db_message(e)
                ),
            )
            .with_hint("create the database, or name one that exists in the store URL"),
            _ => self.keyed.unreachable(&crate::http::chain(e)),
        }
    }

    fn failed(&self, doing: &str, e: &tokio_postgres::Error) -> Error {
        if e.is_closed() || e.as_db_error().is_none() {
            return self.keyed.unreachable(&crate::http::chain(e));
        }
        self.keyed.failed(doing, &db_message(e))
    }

    /// A write over `version` (none: the key must not exist yet) in one statement of its
    /// own transaction. Returns the new version, or `None` if the stored version moved.
    async fn write(
        &self,
        version: Option<u64>,
        token: Option<&str>,
        mark: Option<&str>,
        doing: &str,
    ) -> Result<Option<u64>> {
        let key = self.key();
        let rows = match (version, token) {
            (None, Some(token)) => {
                let sql = "INSERT INTO sfauth_tokens (key, token, version, refresh_mark) \
                           VALUES ($1, $2, 1, $3) ON CONFLICT (key) DO NOTHING RETURNING version";
                self.query(
                    sql,
                    &[
                        (&key, Type::TEXT),
                        (&token, Type::TEXT),
                        (&mark, Type::TEXT),
                    ],
                    doing,
                )
                .await?
            }
            (None, None) => return Ok(None),
            (Some(version), token) => {
                let version = i64::try_from(version).unwrap_or(i64::MAX);
                // A mark alone keeps the token; a token write clears the mark.
                let sql = "UPDATE sfauth_tokens SET token = coalesce($3, token), \
                           refresh_mark = $4, version = version + 1, updated_at = now() \
                           WHERE key = $1 AND version = $2 RETURNING version";
                self.query(
                    sql,
                    &[
                        (&key, Type::TEXT),
                        (&version, Type::INT8),
                        (&token, Type::TEXT),
                        (&mark, Type::TEXT),
                    ],
                    doing,
                )
                .await?
            }
        };
        if let Some(row) = rows.first() {
            return Ok(Some(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)));
        }
        // A retry of a token write whose answer was lost finds its own token one version
        // on: done already, not a conflict.
        if let Some(token) = token {
            let next = version.map_or(1, |v| v.saturating_add(1));
            let expected = i64::try_from(next).unwrap_or(i64::MAX);
            let rows = self
                .query(
                    "SELECT version FROM sfauth_tokens WHERE key = $1 AND version = $2 AND token = $3",
                    &[(&key, Type::TEXT), (&expected, Type::INT8), (&token, Type::TEXT)],
                    doing,
                )
                .await?;
            if !rows.is_empty() {
                return Ok(Some(next));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn load(&self) -> Result<Token> {
        let rows = self
            .query(
                "SELECT token FROM sfauth_tokens WHERE key = $1",
                &[(&self.key(), Type::TEXT)],
                "read a token from",
            )
            .await?;
        let row = rows.first().ok_or_else(|| self.keyed.missing())?;
        let text = zeroize::Zeroizing::new(row.get::<_, String>(0));
        self.keyed.parse(&text)
    }

    async fn lock(&self) -> Result<StoreLock> {
        let client = Arc::new(self.connect().await?);
        let wait_ms = self.options.lock_timeout.as_millis().max(1);
        let lease_ms = self.options.lease.as_millis().max(1000);
        let statement_ms = self.options.connect_timeout.as_millis().max(1);
        let begin = format!(
            "BEGIN; SET LOCAL lock_timeout = {wait_ms}; SET LOCAL statement_timeout = {}; \
             SET LOCAL idle_in_transaction_session_timeout = {lease_ms}",
            wait_ms.saturating_add(statement_ms)
        );
        client
            .batch_execute(&begin)
            .await
            .map_err(|e| self.failed("begin a transaction in", &e))?;
        let key = self.key();
        let locked = client
            .execute_typed(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[(&LOCK_NAMESPACE, Type::INT4), (&key, Type::TEXT)],
            )
            .await;
        if let Err(e) = locked {
            if matches!(e.code(), Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE || *c == SqlState::QUERY_CANCELED)
            {
                return Err(self.keyed.lock_timed_out(self.options.lock_timeout));
            }
            return Err(self.failed("lock a token in", &e));
        }
        client
            .batch_execute(&format!("SET LOCAL statement_timeout = {statement_ms}"))
            .await
            .map_err(|e| self.failed("lock a token in", &e))?;
        let found = match client
            .query_typed(
                "SELECT version, refresh_mark FROM sfauth_tokens WHERE key = $1",
                &[(&key, Type::TEXT)],
            )
            .await
        {
            Err(e) if is_undefined_table(&e) => {
                // The lock's transaction is aborted by the error: the table is created on
                // the shared connection, and the lock taken again.
                drop(client);
                self.init().await?;
                return self.lock().await;
            }
            other => other.map_err(|e| self.failed("lock a token in", &e))?,
        };
        let keeper = tokio::spawn(keep_alive(Arc::clone(&client), self.options.lease / 3));
        let mut lock = StoreLock::new(PgLock {
            keeper: AbortOnDrop(keeper.abort_handle()),
            client,
        });
        if let Some(row) = found.first() {
            lock = lock.with_version(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0));
            if let Some(mark) = row
                .get::<_, Option<String>>(1)
                .as_deref()
                .and_then(RefreshMark::from_text)
            {
                lock = lock.with_interrupted(mark);
            }
        }
        Ok(lock)
    }

    async fn mark_refreshing(&self, lock: &StoreLock, mark: &RefreshMark) -> Result<()> {
        let text = mark.to_text();
        let Some(version) = lock.version() else {
            return Err(self.keyed.missing());
        };
        let written = self
            .write(Some(version), None, Some(&text), "mark a refresh in")
            .await?;
        self.keyed.written(lock, written)
    }

    async fn clear_mark(&self, lock: &StoreLock) -> Result<()> {
        let Some(version) = lock.version() else {
            return Ok(());
        };
        let written = self
            .write(Some(version), None, None, "clear a refresh mark in")
            .await?;
        self.keyed.written(lock, written)
    }

    async fn save(&self, lock: &StoreLock, token: &Token) -> Result<()> {
        let json = token.to_json_pretty();
        let written = self
            .write(lock.version(), Some(json.as_str()), None, "save a token in")
            .await?;
        self.keyed.written(lock, written)
    }

    async fn delete(&self, lock: &StoreLock) -> Result<()> {
        let Some(version) = lock.version() else {
            return Ok(());
        };
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        let rows = self
            .query(
                "DELETE FROM sfauth_tokens WHERE key = $1 AND version = $2 RETURNING version",
                &[(&self.key(), Type::TEXT), (&version, Type::INT8)],
                "delete a token from",
            )
            .await?;
        if rows.is_empty() {
            return Err(self.keyed.moved());
        }
        Ok(())
    }

    async fn release(&self, lock: StoreLock) -> Result<()> {
        if let Some(PgLock { keeper, client }) = lock.into_guard::<PgLock>() {
            drop(keeper);
            // The lock ends with the transaction; if this fails, it ends with the connection.
            let _ = client.batch_execute("ROLLBACK").await;
        }
        Ok(())
    }

    fn save_retry_pauses(&self) -> &'static [Duration] {
        NETWORK_SAVE_RETRY_PAUSES
    }

    fn describe(&self) -> String {
        self.keyed.describe()
    }
}

/// Runs a trivial statement every `every`, so that a holder whose refresh is slow is not
/// taken for one that froze.
async fn keep_alive(client: Arc<Client>, every: Duration) {
    let every = every.max(Duration::from_millis(200));
    loop {
        tokio::time::sleep(every).await;
        if client.batch_execute("SELECT 1").await.is_err() {
            return;
        }
    }
}

fn is_undefined_table(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNDEFINED_TABLE)
}

fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => crate::http::chain(e),
    }
}

fn seconds_to_time(seconds: f64) -> Option<SystemTime> {
    if seconds.is_finite() && seconds >= 0.0 {
        UNIX_EPOCH.checked_add(Duration::from_secs_f64(seconds.min(1e12)))
    } else {
        None
    }
}

/// Connects with `tls`, and drives the connection in a task of its own.
async fn open<T>(config: &Config, tls: T) -> std::result::Result<Client, tokio_postgres::Error>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// TLS for `sslmode=require` (and `prefer`): rustls over the system's roots (which honour
/// `SSL_CERT_FILE`), with the server's name checked. The roots are read once per process:
/// a command that connects twice (a read, then a lock) does not parse them twice.
fn tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    static TLS: OnceLock<std::result::Result<tokio_postgres_rustls::MakeRustlsConnect, String>> =
        OnceLock::new();
    let built = TLS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    });
    built
        .clone()
        .map_err(|e| Error::internal(format!("cannot set up TLS for PostgreSQL: {e}")))
}
