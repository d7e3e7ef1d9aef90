//! A refresh that was sent runs to its save, whatever happens to the caller's future.

use std::time::Duration;

use crate::support::Org;
use sfauth::RefreshAction;
use sfauth_emulator::Config;

fn slow_org_config() -> Config {
    Config {
        latency: Duration::from_millis(300),
        ..Config::default()
    }
}

#[tokio::test]
async fn a_refresh_dropped_by_a_caller_timeout_still_saves_the_rotated_token() {
    let org = Org::start(slow_org_config()).await;
    let before = org.stored().refresh_token().unwrap();
    let session = org.session(org.client());

    let gave_up = tokio::time::timeout(Duration::from_millis(50), session.refresh()).await;
    assert!(gave_up.is_err(), "the refresh answered within 50 ms");

    let rotated = crate::support::eventually(Duration::from_secs(10), || {
        org.stored().refresh_token().is_some_and(|r| r != before)
    })
    .await;
    assert!(
        rotated,
        "the token file never got the rotated refresh token"
    );
    assert_eq!(org.emulator.stats().refreshes_served, 1);

    org.session(org.client()).refresh().await.unwrap();
    assert_eq!(org.emulator.stats().reuse_detected, 0);
    assert_eq!(org.emulator.stats().refreshes_served, 2);
}

#[tokio::test]
async fn an_aborted_task_does_not_stop_its_refresh() {
    let org = Org::start(slow_org_config()).await;
    let before = org.stored().refresh_token().unwrap();
    let session = org.session(org.client());

    let task = tokio::spawn({
        let session = session.clone();
        async move { session.refresh().await }
    });
    // Abort once the refresh has reached the server.
    let reached = crate::support::eventually(Duration::from_secs(10), || {
        org.emulator.stats().token_requests > 0
    })
    .await;
    assert!(reached, "the refresh never reached the emulator");
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    let rotated = crate::support::eventually(Duration::from_secs(10), || {
        org.stored().refresh_token().is_some_and(|r| r != before)
    })
    .await;
    assert!(
        rotated,
        "the token file never got the rotated refresh token"
    );
    org.session(org.client()).refresh().await.unwrap();
    assert_eq!(org.emulator.stats().reuse_detected, 0);
}

#[tokio::test]
async fn a_caller_after_a_dropped_one_adopts_its_refresh_instead_of_sending_another() {
    let org = Org::start(slow_org_config()).await;
    let session = org.session(org.client());

    let gave_up = tokio::time::timeout(Duration::from_millis(50), session.refresh()).await;
    assert!(gave_up.is_err(), "the refresh answered within 50 ms");
    let outcome = session.refresh().await.unwrap();

    assert_eq!(outcome.action, RefreshAction::Adopted);
    assert_eq!(org.emulator.stats().token_requests, 1);
    assert_eq!(org.emulator.stats().reuse_detected, 0);
    assert_eq!(org.stored(), outcome.token);
}
