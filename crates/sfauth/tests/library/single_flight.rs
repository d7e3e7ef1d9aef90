//! One refresh in flight per token, whatever the number of callers (invariant 3).

use std::time::Duration;

use crate::support::Org;
use sfauth::RefreshAction;
use sfauth_emulator::Config;

/// Enough latency that callers really overlap with the refresh in flight.
fn slow() -> Config {
    Config {
        latency: Duration::from_millis(200),
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_tasks_on_a_stale_token_make_one_refresh() {
    let org = Org::start(slow()).await;
    org.make_stale();
    let session = org.session(org.client());
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { s.access_token().await })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for task in tasks {
        tokens.insert(task.await.unwrap().unwrap().expose().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    let stats = org.emulator.stats();
    assert_eq!(stats.refreshes_served, 1);
    assert_eq!(stats.refused_parallel, 0);
    assert_eq!(stats.reuse_detected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_sessions_sharing_a_file_make_one_refresh() {
    // Each session has its own store handle and lock file descriptor, as separate processes
    // would: only the file lock can keep them from refreshing in parallel.
    let org = Org::start(slow()).await;
    org.make_stale();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = org.session(org.client());
            tokio::spawn(async move { s.access_token().await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), org.stored().access_token());
    }
    let stats = org.emulator.stats();
    assert_eq!(stats.refreshes_served, 1);
    assert_eq!(stats.refused_parallel, 0);
    assert_eq!(stats.reuse_detected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_started_together_make_one_and_the_rest_adopt_it() {
    let org = Org::start(slow()).await;
    let sessions: Vec<_> = (0..8).map(|_| org.session(org.client())).collect();
    // Every session reads the token before any refresh starts, as processes started together do.
    for s in &sessions {
        s.current().await.unwrap();
    }
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|s| tokio::spawn(async move { s.refresh().await }))
        .collect();
    let mut adopted = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().action == RefreshAction::Adopted {
            adopted += 1;
        }
    }
    assert_eq!(adopted, 7);
    let stats = org.emulator.stats();
    assert_eq!(stats.refreshes_served, 1);
    assert_eq!(stats.reuse_detected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_after_another_finished_refreshes_again() {
    // Adoption is for refreshes that overlapped; a later call is a new refresh.
    let org = Org::start(Config::default()).await;
    let a = org.session(org.client());
    let b = org.session(org.client());
    a.refresh().await.unwrap();
    let outcome = b.refresh().await.unwrap();
    assert!(matches!(outcome.action, RefreshAction::Refreshed { .. }));
    assert_eq!(org.emulator.stats().refreshes_served, 2);
    assert_eq!(org.emulator.stats().reuse_detected, 0);
}

#[test]
fn session_is_cheap_to_clone_and_shareable_across_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<sfauth::Session>();
    shareable::<sfauth::Api>();
    // A clone shares the state (one Arc), so it is one pointer wide.
    assert_eq!(
        std::mem::size_of::<sfauth::Session>(),
        std::mem::size_of::<usize>()
    );
}
