//! The Salesforce CLI's auth file as the store: the contract, and round trips with the real
//! `@salesforce/core` (it writes an org, sfauth refreshes it, the CLI reads what sfauth
//! wrote; the CLI refreshes it and drops the rotated refresh token, sfauth catches it).

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use sfauth::{ConnectedApp, ErrorKind, Session, SfCliHome, SfCliStore, SfKey, TokenStore};
use sfauth_emulator::{Config, Emulator};
use sfauth_test_support::sf_core::SfCore;

use crate::store_contract::{StoreUnderTest, contract, next_number, token};
use crate::support::fast_http;

const USER: &str = "ada@example.com";

/// Homes with a generic key file and, per store, an auth file with no token yet.
struct AuthFiles(tempfile::TempDir);

impl StoreUnderTest for AuthFiles {
    type Store = SfCliStore;

    fn fresh(&self) -> SfCliStore {
        let sfdx = self.0.path().join(".sfdx");
        std::fs::create_dir_all(&sfdx).unwrap();
        std::fs::write(
            sfdx.join("key.json"),
            json!({"account": "local", "key": "ab".repeat(32), "service": "sfdx"}).to_string(),
        )
        .unwrap();
        let username = format!("user{}@contract.test", next_number());
        std::fs::write(
            sfdx.join(format!("{username}.json")),
            json!({"username": username, "orgId": "00Dx0000000001", "instanceUrl": "https://acme.my.salesforce.com"})
                .to_string(),
        )
        .unwrap();
        home(self.0.path())
            .store(&username)
            .unwrap()
            .with_lock_timeout(Duration::from_secs(10))
    }
}

fn home(dir: &Path) -> SfCliHome {
    SfCliHome::at(dir).with_key_file()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sf_cli_store_keeps_the_store_contract() {
    contract(&AuthFiles(tempfile::tempdir().unwrap())).await;
}

/// The CLI's auth file for a token `org` just issued, written by `@salesforce/core`, with
/// the org's app and the alias `dev`.
fn logged_in(org: &Emulator, v2: bool) -> SfCore {
    let sf = SfCore::new(v2);
    sf.log_in(org, USER, "dev");
    sf
}

fn session(sf: &SfCore, app: ConnectedApp) -> Session {
    let store = home(sf.home.path()).store("dev").unwrap();
    Session::builder(store, app).http(fast_http()).build()
}

async fn app_of(sf: &SfCore) -> ConnectedApp {
    let app = home(sf.home.path()).store("dev").unwrap().app().unwrap();
    let mut connected = ConnectedApp::new(app.client_id.unwrap());
    if let Some(secret) = app.client_secret {
        connected = connected.with_secret(secret);
    }
    connected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_the_cli_saved_is_refreshed_and_what_sfauth_wrote_the_cli_reads_back() {
    for v2 in [false, true] {
        let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
        let sf = tokio::task::block_in_place(|| logged_in(&org, v2));
        let before: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sf.auth_file(USER)).unwrap()).unwrap();
        let store = home(sf.home.path()).store("dev").unwrap();
        assert_eq!(store.username(), USER);
        let loaded = store.load().await.unwrap();
        let written = tokio::task::block_in_place(|| sf.read_org(USER));
        assert_eq!(
            loaded.access_token().expose(),
            written["accessToken"].as_str().unwrap()
        );
        let app = app_of(&sf).await;
        let token = session(&sf, app.clone()).refresh().await.unwrap().token;
        assert_eq!(org.stats().refreshes_served, 1);
        // What sfauth wrote, the CLI decrypts: the new access token and the rotated refresh
        // token, every other field as it was.
        let read = tokio::task::block_in_place(|| sf.read_org(USER));
        assert_eq!(
            read["accessToken"].as_str(),
            Some(token.access_token().expose())
        );
        assert_eq!(
            read["refreshToken"].as_str(),
            token.refresh_token().as_ref().map(|r| r.expose()),
            "the rotated refresh token"
        );
        assert_ne!(read["refreshToken"], written["refreshToken"]);
        let after: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sf.auth_file(USER)).unwrap()).unwrap();
        for field in [
            "loginUrl",
            "clientId",
            "orgId",
            "isDevHub",
            "username",
            "clientSecret",
        ] {
            assert_eq!(after[field], before[field], "{field} (v2: {v2})");
        }
        let record = after["sfauth"].as_str().unwrap();
        assert!(!record.contains(token.access_token().expose()));
        // Its age is known now: served again without a refresh.
        session(&sf, app).token().await.unwrap();
        assert_eq!(org.stats().refreshes_served, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_refresh_that_drops_the_rotated_refresh_token_is_caught_and_nothing_is_replayed() {
    let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
    let sf = tokio::task::block_in_place(|| logged_in(&org, true));
    let app = app_of(&sf).await;
    // sfauth refreshes once: the org is seen to rotate.
    session(&sf, app.clone()).refresh().await.unwrap();
    // The CLI refreshes (on a 401, say) with the refresh token sfauth saved, and writes
    // back the one it sent: that one is spent now.
    let refreshed = tokio::task::block_in_place(|| sf.refresh_org(USER));
    let spent = refreshed["refreshToken"].as_str().unwrap().to_owned();
    assert!(
        !org.refresh_token_is_live(&spent),
        "the CLI kept a spent refresh token"
    );
    let before = org.stats();
    let e = session(&sf, app).refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginRequired, "{e}");
    assert!(e.to_string().contains("Salesforce CLI"), "{e}");
    let stats = org.stats();
    assert_eq!(stats.introspections, before.introspections + 1, "checked");
    assert_eq!(stats.refreshes_served, before.refreshes_served, "not sent");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_cli_refreshed_is_taken_as_of_unknown_age() {
    let org = sfauth_emulator::spawn(Config {
        rotation: false,
        ..Config::default()
    })
    .await
    .unwrap();
    let sf = tokio::task::block_in_place(|| logged_in(&org, false));
    let app = app_of(&sf).await;
    session(&sf, app).refresh().await.unwrap();
    let refreshed = tokio::task::block_in_place(|| sf.refresh_org(USER));
    let loaded = home(sf.home.path())
        .store("dev")
        .unwrap()
        .load()
        .await
        .unwrap();
    assert_eq!(
        loaded.access_token().expose(),
        refreshed["accessToken"].as_str().unwrap()
    );
    assert_eq!(loaded.issued_at(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_file_sealed_with_another_key_is_a_clear_error_and_is_left_as_it_was() {
    let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
    let sf = tokio::task::block_in_place(|| logged_in(&org, true));
    let path = sf.auth_file(USER);
    let before = std::fs::read(&path).unwrap();
    std::fs::write(
        sf.sfdx_dir().join("key.json"),
        json!({"account": "local", "key": "cd".repeat(32), "service": "sfdx"}).to_string(),
    )
    .unwrap();
    let e = session(&sf, ConnectedApp::new("x"))
        .token()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(e.to_string().contains("cannot be decrypted"), "{e}");
    assert!(e.hint().unwrap().contains("sf org login"), "{e:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(org.stats().token_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_waits_for_the_cli_holding_its_rotation_lock() {
    let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
    let sf = tokio::task::block_in_place(|| logged_in(&org, true));
    // As the CLI's refresh holds it (a directory, kept fresh).
    let lock = sf
        .sfdx_dir()
        .join(format!("{USER}.json.token-rotation.lock"));
    std::fs::create_dir(&lock).unwrap();
    let store = home(sf.home.path())
        .store("dev")
        .unwrap()
        .with_lock_timeout(Duration::from_millis(600));
    let e = store.lock().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains("Salesforce CLI"), "{e}");
    std::fs::remove_dir(&lock).unwrap();
    let held = store.lock().await.unwrap();
    assert!(
        lock.is_dir(),
        "sfauth holds the CLI's lock while it refreshes"
    );
    drop(held);
    assert!(!lock.exists());
}

#[test]
fn the_cli_s_aliases_and_orgs_are_listed_without_secrets() {
    let sf = logged_in_offline();
    let home = home(sf.home.path());
    let orgs = home.orgs().unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].username, USER);
    assert_eq!(orgs[0].aliases, ["dev"]);
    assert_eq!(orgs[0].renewal, sfauth::SfCliRenewal::RefreshToken);
    assert!(!format!("{orgs:?}").contains("5Aep"));
    assert_eq!(home.resolve("dev").unwrap(), USER);
    assert_eq!(home.resolve(USER).unwrap(), USER);
    let e = home.resolve("nope").unwrap_err();
    assert!(e.hint().unwrap().contains("sfauth orgs --sf"), "{e:?}");
}

/// An auth file sealed by hand with a key of the test's own (no emulator, no CLI).
fn logged_in_offline() -> SfCore {
    let sf = SfCore::new(true);
    let sfdx = sf.sfdx_dir();
    std::fs::create_dir_all(&sfdx).unwrap();
    let key_text = "ef".repeat(32);
    std::fs::write(
        sfdx.join("key.json"),
        json!({"account": "local", "key": key_text, "service": "sfdx"}).to_string(),
    )
    .unwrap();
    let key = SfKey::parse(&key_text).unwrap();
    std::fs::write(
        sf.auth_file(USER),
        json!({
            "username": USER,
            "accessToken": key.encrypt("00Dx!AQ.offline").unwrap(),
            "refreshToken": key.encrypt("5Aep.offline").unwrap(),
            "instanceUrl": "https://acme.my.salesforce.com",
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        sfdx.join("alias.json"),
        r#"{"orgs": {"dev": "ada@example.com"}}"#,
    )
    .unwrap();
    sf
}

#[tokio::test]
async fn a_saved_token_loads_back_from_a_file_sealed_by_hand() {
    let sf = logged_in_offline();
    let store = home(sf.home.path()).store("dev").unwrap();
    assert_eq!(
        store.load().await.unwrap().access_token().expose(),
        "00Dx!AQ.offline"
    );
    let lock = store.lock().await.unwrap();
    store.save(&lock, &token("next")).await.unwrap();
    drop(lock);
    assert_eq!(store.load().await.unwrap(), token("next"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_while_the_cli_writes_waits_for_its_lock_and_sees_the_whole_file() {
    let sf = logged_in_offline();
    let path = sf.auth_file(USER);
    let whole = std::fs::read(&path).unwrap();
    // The CLI mid-write: its lock held, the file truncated in place.
    let lock = sf.sfdx_dir().join(format!("{USER}.json.lock"));
    std::fs::create_dir(&lock).unwrap();
    std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    let writer = {
        let (path, lock, whole) = (path.clone(), lock.clone(), whole.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::write(&path, &whole).unwrap();
            std::fs::remove_dir(&lock).unwrap();
        })
    };
    let store = home(sf.home.path()).store("dev").unwrap();
    let token = store.load().await.unwrap();
    assert_eq!(token.access_token().expose(), "00Dx!AQ.offline");
    writer.join().unwrap();
}
