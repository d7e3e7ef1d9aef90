//! Salesforce's device flow against the emulator: start, poll through `slow_down` and
//! `authorization_pending`, and the ways it ends.

use std::time::{Duration, Instant};

use sfauth::{AppClient, ConnectedApp, DeviceAuthorization, ErrorKind};
use sfauth_emulator::{Config, Consent, Emulator};

fn client(emulator: &Emulator) -> AppClient {
    crate::support::app_client(
        emulator,
        ConnectedApp::new(emulator.config().client_id.clone()),
    )
}

fn scopes() -> Vec<String> {
    vec!["api".into(), "refresh_token".into()]
}

#[tokio::test]
async fn device_login_slows_down_when_told_and_ends_with_a_refresh_token() {
    let emulator = sfauth_emulator::spawn(Config {
        device_slow_down_polls: 1,
        device_approve_after_polls: 1,
        ..Config::default()
    })
    .await
    .unwrap();
    let client = client(&emulator);
    let started = client.device_start(&scopes()).await.unwrap();
    assert_eq!(started.interval, Duration::from_secs(1));
    assert!(!started.user_code.is_empty());
    assert!(started.verification_uri.starts_with(&emulator.url()));

    let begun = Instant::now();
    let token = client
        .device_poll(&started, Duration::from_secs(30))
        .await
        .unwrap()
        .token;
    // 1 s before the first poll (answered slow_down), then 1 + 5 s before the second.
    assert!(
        begun.elapsed() >= Duration::from_secs(7),
        "{:?}",
        begun.elapsed()
    );
    assert!(token.refresh_token().is_some());
    assert_eq!(emulator.stats().device_polls, 2);
}

/// A device login against an org with `config` that ends in an error within `wait`;
/// `tamper` changes what the start answered before polling.
async fn failed_device_login(
    config: Config,
    wait: Duration,
    tamper: impl FnOnce(&mut DeviceAuthorization),
) -> (Emulator, sfauth::Error) {
    let emulator = sfauth_emulator::spawn(config).await.unwrap();
    let client = client(&emulator);
    let mut started = client.device_start(&scopes()).await.unwrap();
    tamper(&mut started);
    let e = client.device_poll(&started, wait).await.unwrap_err();
    (emulator, e)
}

#[tokio::test]
async fn device_login_denied_by_the_user_is_denied_by_policy() {
    let config = Config {
        consent: Consent::Deny,
        device_approve_after_polls: 0,
        ..Config::default()
    };
    let (_org, e) = failed_device_login(config, Duration::from_secs(30), |_| {}).await;
    assert_eq!(e.kind(), ErrorKind::DeniedByPolicy);
}

#[tokio::test]
async fn device_login_not_approved_in_time_is_login_required() {
    let config = Config {
        device_approve_after_polls: 1000,
        ..Config::default()
    };
    let (emulator, e) = failed_device_login(config, Duration::from_millis(2500), |_| {}).await;
    assert_eq!(e.kind(), ErrorKind::LoginRequired);
    assert!(e.to_string().contains("not approved within"), "{e}");
    assert_eq!(emulator.stats().device_polls, 2);
}

#[tokio::test]
async fn an_unknown_device_code_is_login_required() {
    let (_org, e) = failed_device_login(Config::default(), Duration::from_secs(30), |started| {
        started.device_code = sfauth::Secret::from("not-a-device-code");
    })
    .await;
    assert_eq!(e.kind(), ErrorKind::LoginRequired);
}
