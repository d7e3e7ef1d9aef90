//! The token file: crash leftovers, symlinks, and what counts as a token file.

use std::path::Path;
use std::time::Duration;

use crate::support::Org;
use sfauth::{ErrorKind, FileStore, Token, TokenStore};
use sfauth_emulator::{Config, Fault};

/// `token` with a later `issued_at` and another access token: what a refresh saves.
fn newer(token: &Token) -> Token {
    let mut next = token.clone();
    let at = token.issued_at_millis().unwrap() + 60_000;
    next.set("issued_at", at.to_string());
    next.set("access_token", "00Dxx!AQ.newer");
    next
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

// Crash leftovers.

#[tokio::test]
async fn lock_adopts_a_complete_newer_leftover_of_the_same_user() {
    let org = Org::start(Config::default()).await;
    let rotated = newer(&org.stored());
    let leftover = org.dir().join(".sfauth-_salesforce.json-a1B2c3.tmp");
    write(&leftover, rotated.to_json_pretty().as_bytes());

    drop(FileStore::new(&org.path).lock().await.unwrap());

    assert_eq!(org.stored(), rotated);
    assert!(!leftover.exists());
}

#[tokio::test]
async fn lock_adopts_a_leftover_whose_reserved_filler_was_not_cut_yet() {
    let org = Org::start(Config::default()).await;
    let rotated = newer(&org.stored());
    let mut bytes = rotated.to_json_pretty().as_bytes().to_vec();
    bytes.extend([0u8; 4096]);
    write(
        &org.dir().join(".sfauth-_salesforce.json-a1B2c3.tmp"),
        &bytes,
    );

    drop(FileStore::new(&org.path).lock().await.unwrap());

    assert_eq!(org.stored(), rotated);
}

#[tokio::test]
async fn lock_deletes_stale_leftovers_and_keeps_the_stored_token() {
    let org = Org::start(Config::default()).await;
    let before = org.bytes();
    let mut older = org.stored();
    older.set("issued_at", "1000");
    let mut other_user = newer(&org.stored());
    other_user.set(
        "id",
        "https://login.salesforce.com/id/00Dxx0000001gPL/005OTHER",
    );
    let dir = org.dir();
    write(
        &dir.join(".sfauth-_salesforce.json-old000.tmp"),
        older.to_json_pretty().as_bytes(),
    );
    write(
        &dir.join(".sfauth-_salesforce.json-fill00.tmp"),
        &[0u8; 16384],
    );
    write(
        &dir.join(".sfauth-_salesforce.json-user00.tmp"),
        other_user.to_json_pretty().as_bytes(),
    );

    drop(FileStore::new(&org.path).lock().await.unwrap());

    assert_eq!(org.bytes(), before);
    assert_eq!(
        crate::support::names_in(dir),
        ["_salesforce.json", "_salesforce.json.lock"]
    );
}

#[tokio::test]
async fn lock_leaves_other_files_leftovers_alone() {
    let org = Org::start(Config::default()).await;
    let before = org.bytes();
    let rotated = newer(&org.stored());
    let dir = org.dir();
    let others = [
        ".sfauth-config.toml-a1B2c3.tmp",
        ".sfauth-_salesforce.json.bak-a1B2c3.tmp",
        ".sfauth-_salesforce.json-toolong1.tmp",
    ];
    for name in others {
        write(&dir.join(name), rotated.to_json_pretty().as_bytes());
    }

    drop(FileStore::new(&org.path).lock().await.unwrap());

    assert_eq!(org.bytes(), before);
    for name in others {
        assert!(dir.join(name).exists(), "{name} was touched");
    }
}

#[tokio::test]
async fn a_failed_refresh_leaves_no_temp_file() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(Fault::OAuthError {
        status: 400,
        error: "invalid_grant".into(),
        description: "expired access/refresh token".into(),
    });
    org.session(org.client()).refresh().await.unwrap_err();
    assert_eq!(
        crate::support::names_in(org.dir()),
        ["_salesforce.json", "_salesforce.json.lock"]
    );
}

#[tokio::test]
async fn a_refresh_leaves_no_temp_file() {
    let org = Org::start(Config::default()).await;
    org.session(org.client()).refresh().await.unwrap();
    assert_eq!(
        crate::support::names_in(org.dir()),
        ["_salesforce.json", "_salesforce.json.lock"]
    );
}

// Symlinks.

#[tokio::test]
async fn a_refresh_through_a_symlink_writes_the_target_and_keeps_the_link() {
    let org = Org::start(Config::default()).await;
    let before = org.stored().refresh_token().unwrap();
    let links = tempfile::tempdir().unwrap();
    let link = links.path().join("token.json");
    std::os::unix::fs::symlink(&org.path, &link).unwrap();

    org.session_over(FileStore::new(&link))
        .refresh()
        .await
        .unwrap();

    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_ne!(org.stored().refresh_token().unwrap(), before);
    assert!(org.dir().join("_salesforce.json.lock").exists());
    assert_eq!(crate::support::names_in(links.path()), ["token.json"]);
}

#[tokio::test]
async fn two_symlinks_to_one_file_share_one_lock() {
    let org = Org::start(Config::default()).await;
    let links = tempfile::tempdir().unwrap();
    let (a, b) = (links.path().join("a.json"), links.path().join("b.json"));
    std::os::unix::fs::symlink(&org.path, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();

    let held = FileStore::new(&a).lock().await.unwrap();
    let e = FileStore::new(&b)
        .with_lock_timeout(Duration::from_millis(100))
        .lock()
        .await
        .unwrap_err();

    assert_eq!(e.kind(), ErrorKind::Unavailable);
    drop(held);
    assert_eq!(
        FileStore::new(&a).lock_path(),
        FileStore::new(&b).lock_path()
    );
}

#[tokio::test]
async fn a_symlink_at_the_lock_path_is_refused_not_followed() {
    let org = Org::start(Config::default()).await;
    let lock_path = org.dir().join("_salesforce.json.lock");
    let elsewhere = org.dir().join("elsewhere");
    std::os::unix::fs::symlink(&elsewhere, &lock_path).unwrap();

    let e = FileStore::new(&org.path).lock().await.unwrap_err();

    assert!(
        e.to_string().contains(&lock_path.display().to_string()),
        "{e}"
    );
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(!elsewhere.exists());
}

// What counts as a token file.

async fn load_error(path: &Path) -> sfauth::Error {
    // A bound, so a load that blocks fails the test instead of hanging it.
    tokio::time::timeout(Duration::from_secs(20), FileStore::new(path).load())
        .await
        .expect("load returned")
        .unwrap_err()
}

#[tokio::test]
async fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("token.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let e = load_error(&fifo).await;
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("FIFO"), "{e}");
}

#[tokio::test]
async fn dev_zero_is_refused_as_a_device() {
    let e = load_error(Path::new("/dev/zero")).await;
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("a device"), "{e}");
}

#[tokio::test]
async fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_error(dir.path()).await;
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("a directory"), "{e}");
}

#[tokio::test]
async fn a_two_mib_file_is_refused_as_too_big() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    write(&path, &vec![b' '; 2 * 1024 * 1024]);
    let e = load_error(&path).await;
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("too big"), "{e}");
}
