//! The stores many machines share (PostgreSQL, Redis), against the real servers: the store
//! contract, what the lock does when a holder dies or is slow, sessions on many "machines"
//! that make one refresh, a refresh whose holder died before it saved, and bad input.
//!
//! Each scenario runs on both servers: `on_both!` makes a `postgres` and a `redis` test of
//! it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sfauth::{
    ConnectedApp, ErrorKind, RefreshMark, Remedy, Secret, Session, StoreKey, StoreOptions,
    StoreUrl, Token, TokenStore,
};
use sfauth_emulator::{Config, Emulator};
use sfauth_test_support::services::{self, Persistence, Server};

use crate::store_contract::{StoreUnderTest, next_number, shared_contract, token};
use crate::support::{self, fast_http};

/// Which shared store a scenario runs on, and how to reach it.
#[derive(Clone)]
pub struct Shared {
    kind: Kind,
    url: String,
    options: StoreOptions,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Postgres,
    Redis,
}

impl Shared {
    fn postgres() -> Shared {
        Shared::on(Kind::Postgres, services::postgres())
    }

    fn redis() -> Shared {
        Shared::on(Kind::Redis, services::redis())
    }

    fn on(kind: Kind, server: &Server) -> Shared {
        Shared {
            kind,
            url: server.url_with_password(),
            options: StoreOptions::default()
                .with_lock_timeout(Duration::from_secs(20))
                .with_connect_timeout(Duration::from_secs(5)),
        }
    }

    fn with_options(mut self, options: StoreOptions) -> Shared {
        self.options = options;
        self
    }

    fn store(&self, key: &str) -> Arc<dyn TokenStore> {
        store_at(&self.url, key, &self.options)
    }

    /// A key no other test of this run uses.
    fn new_key(&self) -> String {
        format!("k{}-{}", std::process::id(), next_number())
    }

    /// Puts `text` under `key` as the raw value, as a client that is not sfauth could.
    async fn put_raw(&self, key: &str, text: &str) {
        match self.kind {
            Kind::Postgres => {
                let (client, connection) =
                    tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                        .await
                        .unwrap();
                tokio::spawn(connection);
                // The table exists once any store has been used.
                let _ = self.store(key).load().await;
                client
                    .execute(
                        "INSERT INTO sfauth_tokens (key, token, version) VALUES ($1, $2, 1) \
                         ON CONFLICT (key) DO UPDATE SET token = $2",
                        &[&key, &text],
                    )
                    .await
                    .unwrap();
            }
            Kind::Redis => {
                let client = redis::Client::open(self.url.as_str()).unwrap();
                let mut connection = client.get_multiplexed_async_connection().await.unwrap();
                let _: () = redis::cmd("HSET")
                    .arg(format!("sfauth:{{{key}}}:token"))
                    .arg("token")
                    .arg(text)
                    .arg("version")
                    .arg(1)
                    .query_async(&mut connection)
                    .await
                    .unwrap();
            }
        }
    }
}

impl StoreUnderTest for Shared {
    type Store = Arc<dyn TokenStore>;

    fn fresh(&self) -> Arc<dyn TokenStore> {
        self.store(&self.new_key())
    }
}

/// Makes a `postgres` and a `redis` test of each scenario.
macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario(super::Shared::postgres()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                super::$scenario(super::Shared::redis()).await;
            }
        }
    )*};
}

on_both!(
    keeps_the_shared_store_contract,
    a_holder_that_dies_without_releasing_frees_the_lock_within_the_lease,
    a_live_holder_keeps_its_lock_past_the_lease,
    a_value_that_is_not_a_token_is_a_usage_error_and_stays,
    a_missing_key_is_a_usage_error_that_says_to_import,
    a_wrong_password_is_a_usage_error_naming_the_store,
    an_unreachable_store_is_unavailable_and_no_refresh_is_sent,
    sessions_on_eight_machines_and_ten_thousand_tasks_make_one_refresh,
    an_interrupted_refresh_whose_token_is_live_is_refreshed_after_a_check,
    an_interrupted_refresh_that_spent_the_token_is_reported_and_not_resent,
    an_interrupted_refresh_without_the_secret_to_check_is_not_resent,
);

async fn keeps_the_shared_store_contract(shared: Shared) {
    shared_contract(&shared).await;
}

async fn a_holder_that_dies_without_releasing_frees_the_lock_within_the_lease(shared: Shared) {
    let lease = Duration::from_secs(2);
    let shared = shared.with_options(
        StoreOptions::default()
            .with_lease(lease)
            .with_lock_timeout(Duration::from_secs(20)),
    );
    let key = shared.new_key();
    let holder = shared.store(&key);
    let lock = holder.lock().await.unwrap();
    // Gone without a word: no release, and (PostgreSQL) its connection closes with it.
    drop(lock);
    drop(holder);
    let started = Instant::now();
    let next = shared.store(&key);
    let lock = next.lock().await.unwrap();
    assert!(
        started.elapsed() < lease + Duration::from_secs(3),
        "the lock was free only after {:?}",
        started.elapsed()
    );
    next.release(lock).await.unwrap();
}

async fn a_live_holder_keeps_its_lock_past_the_lease(shared: Shared) {
    let lease = Duration::from_secs(1);
    let holder_side = shared.clone().with_options(
        StoreOptions::default()
            .with_lease(lease)
            .with_lock_timeout(Duration::from_secs(5)),
    );
    let key = shared.new_key();
    let holder = holder_side.store(&key);
    let lock = holder.lock().await.unwrap();
    holder.save(&lock, &token("held")).await.unwrap();
    // A slow refresh: three leases long.
    tokio::time::sleep(lease * 3).await;
    let other = shared
        .clone()
        .with_options(StoreOptions::default().with_lock_timeout(Duration::from_millis(500)))
        .store(&key);
    let e = other.lock().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains("waiting for the lock"), "{e}");
    holder.save(&lock, &token("after")).await.unwrap();
    holder.release(lock).await.unwrap();
    assert_eq!(other.load().await.unwrap(), token("after"));
}

async fn a_value_that_is_not_a_token_is_a_usage_error_and_stays(shared: Shared) {
    let key = shared.new_key();
    shared.put_raw(&key, "{not json").await;
    let store = shared.store(&key);
    let e = store.load().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(e.to_string().contains(&format!("`{key}`")), "{e}");
    assert!(e.to_string().contains("not a usable token"), "{e}");
    assert_eq!(e.remedy(), Some(Remedy::ImportToken));
}

async fn a_missing_key_is_a_usage_error_that_says_to_import(shared: Shared) {
    let store = shared.store(&shared.new_key());
    let e = store.load().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(
        e.to_string().contains("holds no token under the key"),
        "{e}"
    );
    assert_eq!(e.remedy(), Some(Remedy::ImportToken));
}

async fn a_wrong_password_is_a_usage_error_naming_the_store(shared: Shared) {
    let url = StoreUrl::parse(&shared.url)
        .unwrap()
        .with_password(Secret::from("not-the-password"));
    let store = url
        .open(&StoreKey::parse("any").unwrap(), &shared.options)
        .unwrap();
    let e = store.load().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(e.to_string().contains("refused the login"), "{e}");
    assert!(e.to_string().contains("127.0.0.1"), "{e}");
    assert!(!e.to_string().contains("not-the-password"), "{e}");
    assert!(!e.to_string().contains(services::PASSWORD), "{e}");
}

async fn an_unreachable_store_is_unavailable_and_no_refresh_is_sent(shared: Shared) {
    let port = sfauth_test_support::net::closed_port();
    let url = shared
        .url
        .replace(&format!(":{}/", port_of(&shared.url)), &format!(":{port}/"));
    let org = support::emulator(Config::default()).await;
    let store = store_at(&url, "prod", &shared.options);
    let session = Session::builder(store, client(&org))
        .http(fast_http())
        .build();
    let e = session.refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.to_string().contains("cannot reach the token store"),
        "{e}"
    );
    assert_eq!(org.stats().token_requests, 0);
}

async fn sessions_on_eight_machines_and_ten_thousand_tasks_make_one_refresh(shared: Shared) {
    let org = support::emulator(Config {
        latency: Duration::from_millis(300),
        ..Config::default()
    })
    .await;
    let key = shared.new_key();
    import(&shared, &key, &stale(&org)).await;
    // Eight "machines": each a session with its own store handle and connections.
    let machines: Vec<Session> = (0..8).map(|_| session(&shared, &key, &org)).collect();
    let mut tasks = Vec::new();
    for i in 0..10_000 {
        let session = machines[i % machines.len()].clone();
        tasks.push(tokio::spawn(async move { session.access_token().await }));
    }
    let mut seen = std::collections::HashSet::new();
    for task in tasks {
        seen.insert(task.await.unwrap().unwrap().expose().to_owned());
    }
    let stats = org.stats();
    assert_eq!(seen.len(), 1, "every task got the one new token");
    assert_eq!(stats.refreshes_served, 1, "{stats:?}");
    assert_eq!(stats.refused_parallel, 0, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    let stored = shared.store(&key).load().await.unwrap();
    assert!(org.refresh_token_is_live(stored.refresh_token().unwrap().expose()));
}

async fn an_interrupted_refresh_whose_token_is_live_is_refreshed_after_a_check(shared: Shared) {
    let org = support::emulator(Config::default()).await;
    let key = shared.new_key();
    let before = stale(&org);
    import(&shared, &key, &before).await;
    // A holder marked a refresh and died before it sent anything.
    leave_a_mark(&shared, &key).await;
    let session = Session::builder(shared.store(&key), client_with_secret(&org))
        .http(fast_http())
        .build();
    let outcome = session.refresh().await.unwrap();
    let stats = org.stats();
    assert_eq!(
        stats.introspections, 1,
        "the refresh token was checked first"
    );
    assert_eq!(stats.refreshes_served, 1);
    assert_eq!(stats.reuse_detected, 0);
    assert_ne!(outcome.token.access_token(), before.access_token());
    let store = shared.store(&key);
    let lock = store.lock().await.unwrap();
    assert_eq!(lock.interrupted(), None, "the save cleared the mark");
    store.release(lock).await.unwrap();
}

async fn an_interrupted_refresh_that_spent_the_token_is_reported_and_not_resent(shared: Shared) {
    let org = support::emulator(Config::default()).await;
    let key = shared.new_key();
    let before = stale(&org);
    import(&shared, &key, &before).await;
    leave_a_mark(&shared, &key).await;
    // The dead holder's refresh reached Salesforce, which rotated the token; the answer
    // died with the holder.
    support::app_client(&org, client(&org))
        .refresh(&before.refresh_token().unwrap())
        .await
        .unwrap();
    let served = org.stats().refreshes_served;
    let session = Session::builder(shared.store(&key), client_with_secret(&org))
        .http(fast_http())
        .build();
    let e = session.refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginRequired, "{e}");
    assert!(e.to_string().contains("never saved its answer"), "{e}");
    assert!(e.to_string().contains("family is lost"), "{e}");
    let stats = org.stats();
    assert_eq!(
        stats.refreshes_served, served,
        "the spent token was sent again"
    );
    assert_eq!(stats.reuse_detected, 0);
    assert_eq!(
        shared.store(&key).load().await.unwrap(),
        before,
        "the store changed"
    );
}

async fn an_interrupted_refresh_without_the_secret_to_check_is_not_resent(shared: Shared) {
    let org = support::emulator(Config::default()).await;
    let key = shared.new_key();
    let before = stale(&org);
    import(&shared, &key, &before).await;
    leave_a_mark(&shared, &key).await;
    let session = session(&shared, &key, &org);
    let e = session.refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginRequired, "{e}");
    assert_eq!(e.remedy(), Some(Remedy::ClientSecret));
    assert!(e.to_string().contains("may be spent"), "{e}");
    assert_eq!(org.stats().token_requests, 0);
    assert_eq!(shared.store(&key).load().await.unwrap(), before);
}

#[tokio::test]
async fn postgres_creates_its_table_on_first_use_in_an_empty_schema() {
    let server = services::postgres();
    let schema = format!("empty_{}_{}", std::process::id(), next_number());
    let (client, connection) =
        tokio_postgres::connect(&server.url_with_password(), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let url = format!(
        "{}&options=-csearch_path%3D{schema}",
        server.url_with_password()
    );
    let store = store_at(&url, "first", &StoreOptions::default());
    let e = store.load().await.unwrap_err();
    assert!(e.to_string().contains("holds no token"), "{e}");
    let found = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'sfauth_tokens'",
            &[&schema],
        )
        .await
        .unwrap();
    assert_eq!(found.get::<_, i64>(0), 1);
}

#[tokio::test]
async fn a_search_path_naming_a_missing_schema_is_an_error_that_says_to_create_it() {
    let server = services::postgres();
    let schema = format!("missing_{}_{}", std::process::id(), next_number());
    let url = format!(
        "{}&options=-csearch_path%3D{schema}",
        server.url_with_password()
    );
    let store = store_at(&url, "any", &StoreOptions::default());
    let e = store.load().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(e.to_string().contains("names no schema"), "{e}");
    assert!(e.hint().unwrap().contains("CREATE SCHEMA"), "{e:?}");
    assert!(!e.to_string().contains(services::PASSWORD), "{e}");
}

#[tokio::test]
async fn a_url_naming_a_missing_database_is_a_usage_error_that_says_to_create_it() {
    let server = services::postgres();
    let url = server
        .url_with_password()
        .replacen("/postgres?", "/no_such_database?", 1);
    assert_ne!(url, server.url_with_password(), "the URL names a database");
    let store = store_at(&url, "any", &StoreOptions::default());
    let e = store.load().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(e.to_string().contains("names no database"), "{e}");
    assert!(e.hint().unwrap().contains("create the database"), "{e:?}");
}

#[tokio::test]
async fn a_redis_value_of_another_type_under_the_token_name_is_a_usage_error_and_stays() {
    let shared = Shared::redis();
    let key = shared.new_key();
    let name = format!("sfauth:{{{key}}}:token");
    let client = redis::Client::open(shared.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(&name)
        .arg("somebody else's")
        .query_async(&mut connection)
        .await
        .unwrap();
    let e = shared.store(&key).load().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(e.to_string().contains("not an sfauth token"), "{e}");
    assert_eq!(e.remedy(), Some(Remedy::ImportToken));
    let kept: String = redis::cmd("GET")
        .arg(&name)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(kept, "somebody else's");
}

#[tokio::test]
async fn redis_that_keeps_writes_only_in_memory_gets_a_durability_warning() {
    let server = services::start_redis(Persistence::MemoryOnly);
    let url = StoreUrl::parse(&server.url_with_password()).unwrap();
    let warning = url.init(&StoreOptions::default()).await.unwrap();
    let warning = warning.expect("a warning for appendonly no");
    assert!(warning.contains("appendonly yes"), "{warning}");
    assert!(warning.contains("appendfsync always"), "{warning}");
}

#[tokio::test]
async fn redis_with_appendfsync_always_gets_no_warning() {
    let url = StoreUrl::parse(&services::redis().url_with_password()).unwrap();
    assert_eq!(url.init(&StoreOptions::default()).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_that_meets_a_frozen_store_is_retried_until_the_store_is_back() {
    let server = services::start_redis(Persistence::Always);
    let shared = Shared::on(Kind::Redis, &server);
    let (org, key, refreshing) = slow_refresh_started(&shared).await;
    // Freeze the server while the refresh is at Salesforce, for longer than an answer may
    // take; thaw it while the save is still being retried.
    tokio::time::sleep(Duration::from_millis(400)).await;
    signal(&server, "STOP");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    signal(&server, "CONT");
    let outcome = refreshing.await.unwrap().unwrap();
    let stored = shared.store(&key).load().await.unwrap();
    assert_eq!(stored.access_token(), outcome.token.access_token());
    assert!(org.refresh_token_is_live(stored.refresh_token().unwrap().expose()));
    assert_eq!(org.stats().refreshes_served, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_dies_mid_refresh_is_a_storage_error_that_says_the_token_is_lost() {
    let server = services::start_postgres();
    let shared = Shared::on(Kind::Postgres, &server);
    let (org, _key, refreshing) = slow_refresh_started(&shared).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.kill();
    let e = refreshing.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage, "{e}");
    assert!(e.to_string().contains("could not be saved"), "{e}");
    assert_eq!(org.stats().refreshes_served, 1);
}

/// A refresh of a stale token in `shared` that takes 800 ms at the emulator, started in a
/// task of its own, over a store that waits at most 500 ms for an answer; with the org and
/// the key.
async fn slow_refresh_started(
    shared: &Shared,
) -> (
    Emulator,
    String,
    tokio::task::JoinHandle<sfauth::Result<sfauth::RefreshOutcome>>,
) {
    let shared = shared
        .clone()
        .with_options(StoreOptions::default().with_connect_timeout(Duration::from_millis(500)));
    let org = support::emulator(Config {
        latency: Duration::from_millis(800),
        ..Config::default()
    })
    .await;
    let key = shared.new_key();
    import(&shared, &key, &stale(&org)).await;
    let session = session(&shared, &key, &org);
    let refreshing = tokio::spawn(async move { session.refresh().await });
    (org, key, refreshing)
}

fn port_of(url: &str) -> u16 {
    let after = url.rsplit_once(':').unwrap().1;
    after.split('/').next().unwrap().parse().unwrap()
}

fn signal(server: &Server, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(server.pid().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// The store at `url` (a store URL as a user writes it), for `key`.
fn store_at(url: &str, key: &str, options: &StoreOptions) -> Arc<dyn TokenStore> {
    StoreUrl::parse(url)
        .unwrap()
        .open(&StoreKey::parse(key).unwrap(), options)
        .unwrap()
}

fn client(org: &Emulator) -> ConnectedApp {
    ConnectedApp::new(org.config().client_id.clone())
}

fn client_with_secret(org: &Emulator) -> ConnectedApp {
    client(org).with_secret(sfauth::ClientSecret::from(
        org.config().client_secret.as_str(),
    ))
}

fn session(shared: &Shared, key: &str, org: &Emulator) -> Session {
    Session::builder(shared.store(key), client(org))
        .http(fast_http())
        .build()
}

/// A token the emulator issued, three hours old: stale by the default policy.
fn stale(org: &Emulator) -> Token {
    let mut token = Token::from_value(org.issue_token("ada@example.com")).unwrap();
    let ms = (SystemTime::now() - Duration::from_secs(3 * 3600))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    token.set("issued_at", ms.to_string());
    token
}

/// Puts `token` under `key`, under the store's lock.
async fn import(shared: &Shared, key: &str, token: &Token) {
    let store = shared.store(key);
    let lock = store.lock().await.unwrap();
    store.save(&lock, token).await.unwrap();
    store.release(lock).await.unwrap();
}

/// Leaves the mark of a holder that sent a refresh and died before saving.
async fn leave_a_mark(shared: &Shared, key: &str) {
    let store = shared.store(key);
    let lock = store.lock().await.unwrap();
    store
        .mark_refreshing(&lock, &RefreshMark::now(Duration::ZERO))
        .await
        .unwrap();
    store.release(lock).await.unwrap();
}
