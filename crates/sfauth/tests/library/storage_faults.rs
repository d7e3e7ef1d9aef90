//! Before a refresh is sent, sfauth knows it can save the answer; a store that cannot be
//! written is a storage error, with nothing sent and nothing changed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{Org, Tmpfs};
use async_trait::async_trait;
use sfauth::{Error, ErrorKind, FileStore, StoreLock, Token, TokenStore};
use sfauth_emulator::Config;

/// The org's token copied into `dir`.
fn token_in(org: &Org, dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("_salesforce.json");
    std::fs::write(&path, org.bytes()).unwrap();
    path
}

fn no_temp_file_in(dir: &std::path::Path) -> bool {
    !crate::support::names_in(dir)
        .iter()
        .any(|n| n.starts_with(".sfauth-"))
}

/// Refreshes the token file at `path`, which cannot be saved: a storage error, with nothing
/// sent to the org.
async fn refused_before_sending(org: &Org, path: &std::path::Path) -> Error {
    let e = org
        .session_over(FileStore::new(path))
        .refresh()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage, "{e}");
    assert_eq!(org.emulator.stats().token_requests, 0);
    e
}

#[tokio::test]
async fn a_full_disk_fails_before_the_refresh_is_sent() {
    let org = Org::start(Config::default()).await;
    let disk = Tmpfs::mount(64);
    let path = token_in(&org, disk.path());
    disk.fill();

    let e = refused_before_sending(&org, &path).await;

    assert!(e.to_string().contains("nothing was sent"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), org.bytes());
    assert!(no_temp_file_in(disk.path()));
}

#[tokio::test]
async fn a_read_only_directory_fails_before_the_refresh_is_sent() {
    let org = Org::start(Config::default()).await;
    let disk = Tmpfs::mount(256);
    let path = token_in(&org, disk.path());
    // The lock file exists (an earlier run made it), so the lock itself still works.
    drop(FileStore::new(&path).lock().await.unwrap());
    disk.remount_read_only();

    let e = refused_before_sending(&org, &path).await;

    assert!(e.to_string().contains("nothing was sent"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), org.bytes());
}

#[tokio::test]
async fn a_read_only_directory_without_a_lock_file_is_a_storage_error() {
    let org = Org::start(Config::default()).await;
    let disk = Tmpfs::mount(256);
    let path = token_in(&org, disk.path());
    disk.remount_read_only();

    refused_before_sending(&org, &path).await;
}

/// A file store whose saves always fail, counting them.
#[derive(Debug)]
struct SaveFails {
    inner: FileStore,
    saves: Arc<AtomicUsize>,
}

#[async_trait]
impl TokenStore for SaveFails {
    async fn load(&self) -> sfauth::Result<Token> {
        self.inner.load().await
    }
    async fn lock(&self) -> sfauth::Result<StoreLock> {
        self.inner.lock().await
    }
    async fn prepare(&self, lock: &StoreLock) -> sfauth::Result<()> {
        self.inner.prepare(lock).await
    }
    async fn save(&self, _lock: &StoreLock, _token: &Token) -> sfauth::Result<()> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        Err(Error::new(
            ErrorKind::Usage,
            "the test store refuses to save",
        ))
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

async fn refresh_with_failing_saves(org: &Org) -> (Error, usize) {
    let saves = Arc::new(AtomicUsize::new(0));
    let store = SaveFails {
        inner: FileStore::new(&org.path),
        saves: Arc::clone(&saves),
    };
    let e = org.session_over(store).refresh().await.unwrap_err();
    (e, saves.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_failed_save_after_a_rotation_is_retried_then_says_the_new_token_is_lost() {
    let org = Org::start(Config::default()).await;
    let (e, saves) = refresh_with_failing_saves(&org).await;
    assert_eq!(e.kind(), ErrorKind::Storage);
    assert!(e.to_string().contains("lost"), "{e}");
    assert_eq!(saves, 3);
    assert_eq!(org.emulator.stats().refreshes_served, 1);
}

#[tokio::test]
async fn a_failed_save_without_rotation_says_the_stored_token_is_still_usable() {
    let org = Org::start(Config {
        rotation: false,
        ..Config::default()
    })
    .await;
    let before = org.bytes();
    let (e, _) = refresh_with_failing_saves(&org).await;
    assert_eq!(e.kind(), ErrorKind::Storage);
    assert!(e.to_string().contains("unchanged and still usable"), "{e}");
    assert!(!e.to_string().contains("lost"), "{e}");
    assert_eq!(org.bytes(), before);
}

#[tokio::test]
async fn a_full_disk_fails_before_a_jwt_renewal_is_sent() {
    let emulator = crate::support::jwt_emulator().await;
    let login = sfauth::LoginUrl::parse(&emulator.url()).unwrap();
    let bearer = crate::support::jwt_bearer(&emulator, crate::support::jwt_key());
    let app = sfauth::ConnectedApp::new(emulator.config().client_id.clone());
    let first = crate::support::app_client(&emulator, app)
        .jwt_bearer(&bearer)
        .await
        .unwrap()
        .token;
    let disk = Tmpfs::mount(64);
    let path = disk.path().join("jwt.json");
    std::fs::write(&path, first.to_json_pretty().as_bytes()).unwrap();
    let before = std::fs::read(&path).unwrap();
    disk.fill();
    let session = sfauth::Session::builder(
        FileStore::new(&path),
        sfauth::ConnectedApp::new(emulator.config().client_id.clone()),
    )
    .login_url(login)
    .renewal(sfauth::Renewal::JwtBearer(bearer))
    .http(crate::support::fast_http())
    .build();

    let e = session.refresh().await.unwrap_err();

    assert_eq!(e.kind(), ErrorKind::Storage, "{e}");
    assert_eq!(emulator.stats().token_requests, 1, "only the first login");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
