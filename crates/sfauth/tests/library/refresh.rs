//! The refresh job against the emulator: rotation, merge, signature, the file on disk.

use crate::support::Org;
use sfauth::{RefreshAction, SignatureCheck};
use sfauth_emulator::Config;

#[tokio::test]
async fn rotated_refresh_token_is_stored_before_the_access_token_is_returned() {
    let org = Org::start(Config::default()).await;
    let before = org.stored();
    let outcome = org.session(org.client()).refresh().await.unwrap();
    let on_disk = org.stored();
    assert_eq!(outcome.token, on_disk);
    assert_ne!(on_disk.refresh_token(), before.refresh_token());
    assert_ne!(on_disk.access_token(), before.access_token());
    assert!(matches!(
        outcome.action,
        RefreshAction::Refreshed { rotated: true, .. }
    ));
}

#[tokio::test]
async fn two_refreshes_in_a_row_under_rotation_both_succeed() {
    let org = Org::start(Config::default()).await;
    let session = org.session(org.client());
    session.refresh().await.unwrap();
    session.refresh().await.unwrap();
    let stats = org.emulator.stats();
    assert_eq!(stats.refreshes_served, 2);
    assert_eq!(stats.reuse_detected, 0);
}

#[tokio::test]
async fn a_second_process_refreshing_after_the_first_uses_the_rotated_token() {
    let org = Org::start(Config::default()).await;
    org.session(org.client()).refresh().await.unwrap();
    // A new session (as a new process would) reads the file the first one wrote.
    org.session(org.client()).refresh().await.unwrap();
    assert_eq!(org.emulator.stats().reuse_detected, 0);
    assert_eq!(org.emulator.stats().refreshes_served, 2);
}

#[tokio::test]
async fn without_rotation_the_stored_refresh_token_is_kept() {
    let org = Org::start(Config {
        rotation: false,
        ..Config::default()
    })
    .await;
    let before = org.stored();
    let outcome = org.session(org.client()).refresh().await.unwrap();
    assert!(matches!(
        outcome.action,
        RefreshAction::Refreshed { rotated: false, .. }
    ));
    assert_eq!(org.stored().refresh_token(), before.refresh_token());
}

#[tokio::test]
async fn unknown_keys_keep_their_place_and_order() {
    let org = Org::start(Config::default()).await;
    let mut value: serde_json::Value = serde_json::from_slice(&org.bytes()).unwrap();
    let map = value.as_object_mut().unwrap();
    let mut reordered = serde_json::Map::new();
    for (i, (k, v)) in map.iter().enumerate() {
        reordered.insert(k.clone(), v.clone());
        if i == 2 {
            reordered.insert("x_middle".into(), serde_json::json!({"nested": [1, 2]}));
        }
    }
    reordered.insert("x_last".into(), serde_json::json!(7));
    std::fs::write(&org.path, serde_json::to_vec_pretty(&reordered).unwrap()).unwrap();
    let mut keys_before: Vec<String> = reordered.keys().cloned().collect();
    // sfauth's own note of whether the token rotates goes at the end.
    keys_before.push(sfauth::Token::ROTATION_KEY.into());

    org.session(org.client()).refresh().await.unwrap();

    let after = org.stored();
    assert_eq!(after.keys().collect::<Vec<_>>(), keys_before);
    assert_eq!(
        after.get("x_middle"),
        Some(&serde_json::json!({"nested": [1, 2]}))
    );
}

#[tokio::test]
async fn signature_is_verified_when_the_client_secret_is_known() {
    let org = Org::start(Config::default()).await;
    let outcome = org
        .session(org.client_with_secret())
        .refresh()
        .await
        .unwrap();
    assert_eq!(
        outcome.action,
        RefreshAction::Refreshed {
            rotated: true,
            signature: SignatureCheck::Verified
        }
    );
}

#[tokio::test]
async fn signature_is_reported_unchecked_without_a_secret() {
    let org = Org::start(Config::default()).await;
    let outcome = org.session(org.client()).refresh().await.unwrap();
    assert_eq!(
        outcome.action,
        RefreshAction::Refreshed {
            rotated: true,
            signature: SignatureCheck::NoSecret
        }
    );
}

#[tokio::test]
async fn fresh_token_is_served_without_any_request() {
    let org = Org::start(Config::default()).await;
    let token = org.session(org.client()).access_token().await.unwrap();
    assert_eq!(token, org.stored().access_token());
    assert_eq!(org.emulator.stats().token_requests, 0);
}

#[tokio::test]
async fn stale_token_is_refreshed_once_then_served_from_memory() {
    let org = Org::start(Config::default()).await;
    org.make_stale();
    let session = org.session(org.client());
    let first = session.access_token().await.unwrap();
    let second = session.access_token().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first, org.stored().access_token());
    assert_eq!(org.emulator.stats().token_requests, 1);
}

#[tokio::test]
async fn site_prefix_is_part_of_the_token_url() {
    let org = Org::start(Config {
        site: "/customers".into(),
        ..Config::default()
    })
    .await;
    let session = sfauth::Session::builder(sfauth::FileStore::new(&org.path), org.client())
        .site(sfauth::SitePrefix::parse("customers").unwrap())
        .http(crate::support::fast_http())
        .build();
    session.refresh().await.unwrap();
    assert_eq!(org.emulator.stats().refreshes_served, 1);
}
