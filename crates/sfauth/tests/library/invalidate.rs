//! `Session::invalidate`: refresh after a 401, once per rejected token.

use std::time::Duration;

use crate::support::Org;
use sfauth_emulator::Config;

#[tokio::test]
async fn invalidating_the_current_token_refreshes_it() {
    let org = Org::start(Config::default()).await;
    let session = org.session(org.client());
    let rejected = session.access_token().await.unwrap();
    let renewed = session.invalidate(&rejected).await.unwrap();
    assert_ne!(renewed.access_token(), rejected);
    assert_eq!(org.emulator.stats().refreshes_served, 1);
}

#[tokio::test]
async fn invalidating_a_token_already_replaced_makes_no_request() {
    let org = Org::start(Config::default()).await;
    let session = org.session(org.client());
    let old = session.access_token().await.unwrap();
    let current = session.refresh().await.unwrap().token;
    let answer = session.invalidate(&old).await.unwrap();
    assert_eq!(answer.access_token(), current.access_token());
    assert_eq!(org.emulator.stats().token_requests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_401s_for_one_token_makes_one_refresh() {
    let org = Org::start(Config {
        latency: Duration::from_millis(150),
        ..Config::default()
    })
    .await;
    let session = org.session(org.client());
    let rejected = session.access_token().await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (s, r) = (session.clone(), rejected.clone());
            tokio::spawn(async move { s.invalidate(&r).await })
        })
        .collect();
    for task in tasks {
        assert_ne!(task.await.unwrap().unwrap().access_token(), rejected);
    }
    let stats = org.emulator.stats();
    assert_eq!(stats.refreshes_served, 1);
    assert_eq!(stats.refused_parallel, 0);
}

#[tokio::test]
async fn introspected_expiry_is_recorded_once_per_refresh() {
    use sfauth::ExpirySource;
    const INTROSPECTED_EXP_KEY: &str = sfauth::ExpiryPolicy::INTROSPECTED_EXP_KEY;
    let org = Org::start(Config::default()).await;
    let session =
        sfauth::Session::builder(sfauth::FileStore::new(&org.path), org.client_with_secret())
            .http(crate::support::fast_http())
            .introspect_expiry(true)
            .build();
    session.refresh().await.unwrap();
    let stored = org.stored();
    assert!(stored.get(INTROSPECTED_EXP_KEY).is_some());
    assert_eq!(
        sfauth::ExpiryPolicy::default()
            .expiry(&stored)
            .unwrap()
            .source,
        ExpirySource::Introspection
    );
    // Served fresh from the file: no further introspection.
    session.access_token().await.unwrap();
    assert_eq!(org.emulator.stats().introspections, 1);
}

#[tokio::test]
async fn without_the_secret_introspection_is_skipped() {
    let org = Org::start(Config::default()).await;
    let session = sfauth::Session::builder(sfauth::FileStore::new(&org.path), org.client())
        .introspect_expiry(true)
        .build();
    session.refresh().await.unwrap();
    assert_eq!(org.emulator.stats().introspections, 0);
    assert!(
        org.stored()
            .get(sfauth::ExpiryPolicy::INTROSPECTED_EXP_KEY)
            .is_none()
    );
}
