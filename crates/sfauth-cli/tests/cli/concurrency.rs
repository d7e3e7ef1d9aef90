//! Many `sfauth` processes on one token file: one refresh at the server, everyone gets the
//! token it produced, and the server never sees a parallel or replayed refresh token.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sfauth::{FileStore, TokenStore};
use sfauth_test_support::command::COMMAND_TIMEOUT;
use sfauth_test_support::prelude::*;

/// Long enough that the callers' requests would overlap at the server if they were not
/// serialized.
const LATENCY: Duration = Duration::from_millis(200);

/// Panics unless the server served exactly one refresh, none refused as parallel, no
/// token reused.
fn assert_one_clean_refresh(org: &Emulator) {
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 1, "{stats:?}");
    assert_eq!(stats.refused_parallel, 0, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

#[test]
fn parallel_token_processes_on_a_stale_token_make_one_refresh() {
    const CALLERS: usize = 32;
    let org = OrgBuilder::new().latency(LATENCY).start();
    let issued = org.issue_token(USERNAME);
    let file = TokenFile::new(&stale(&issued));

    let runs = finish_all(
        (0..CALLERS)
            .map(|_| token(&org, &file.path).start())
            .collect(),
    );

    let printed = printed_by_all(&runs);
    let stored = file.json();
    let expected = format!("{}\n", text(&stored, "access_token"));
    assert_eq!(
        printed,
        BTreeSet::from([expected.as_str()]),
        "every caller must print the token now in the file"
    );
    assert_ne!(text(&stored, "access_token"), text(&issued, "access_token"));
    assert_ne!(
        text(&stored, "refresh_token"),
        text(&issued, "refresh_token")
    );
    assert_one_clean_refresh(&org);
}

#[test]
#[cfg(target_os = "linux")]
fn parallel_refresh_runs_make_one_refresh_and_the_others_adopt_it() {
    const CALLERS: usize = 8;
    let org = OrgBuilder::new().latency(LATENCY).start();
    let file = TokenFile::issued_by(&org);
    let store = FileStore::new(&file.path);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // "Started together" made exact on a busy machine: hold the store's lock until every
    // run has read the token and is waiting for the lock, then let them go.
    let held = runtime.block_on(store.lock()).expect("take the store lock");
    let lock_path = store
        .lock_path()
        .canonicalize()
        .expect("the lock file exists");
    let mut running: Vec<Running> = (0..CALLERS)
        .map(|_| refresh(&org, &file.path).arg("--json").start())
        .collect();
    wait_until_all_open(&mut running, &lock_path);
    assert_eq!(
        org.stats().token_requests,
        0,
        "a refresh ran while the store was locked"
    );
    drop(held);
    let runs = finish_all(running);

    let mut actions = Vec::new();
    for run in &runs {
        let summary = run.assert_ok().json();
        assert_eq!(
            summary["issued_at"],
            issued_at_rfc3339(&file.field("issued_at")),
            "{summary}"
        );
        actions.push(text(&summary, "action"));
    }
    actions.sort();
    let mut expected = vec!["adopted".to_owned(); CALLERS - 1];
    expected.push("refreshed".to_owned());
    assert_eq!(actions, expected);
    assert_one_clean_refresh(&org);
}

/// Waits (bounded) until every run has `lock_path` open, which `sfauth` does only after
/// it has read the token file. Stops early if a run exits; the caller's checks then
/// report it.
#[cfg(target_os = "linux")]
fn wait_until_all_open(running: &mut [Running], lock_path: &Path) {
    let limit = COMMAND_TIMEOUT.as_millis() / 20;
    for _ in 0..limit {
        let mut waiting = 0;
        for run in running.iter_mut() {
            if run.has_exited() {
                return;
            }
            if open_files(run.id()).iter().any(|p| p == lock_path) {
                waiting += 1;
            }
        }
        if waiting == running.len() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the sfauth processes never reached the store lock");
}

/// The files a process has open, from `/proc/PID/fd`.
#[cfg(target_os = "linux")]
fn open_files(pid: u32) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .collect()
}
