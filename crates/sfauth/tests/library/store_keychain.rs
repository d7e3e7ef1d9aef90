//! The OS keychain store, against a real Secret Service (gnome-keyring on a private D-Bus
//! session). The library reads the bus address from its environment, which a test cannot
//! change in its own process (the tests share it): each scenario runs in a child process of
//! this test binary, started with the environment it needs. The child halves are
//! `#[ignore]`d, so that they run only that way (`--ignored --exact NAME`).

use std::time::Duration;

use sfauth::{KeychainStore, StoreKey};
use sfauth_test_support::command::{Run, TestCommand};
use sfauth_test_support::keychain::SecretService;

use crate::store_contract::{StoreUnderTest, contract, next_number};

struct Entries(tempfile::TempDir);

impl StoreUnderTest for Entries {
    type Store = KeychainStore;

    fn fresh(&self) -> KeychainStore {
        let name = StoreKey::parse(&format!(
            "contract-{}-{}",
            std::process::id(),
            next_number()
        ))
        .unwrap();
        KeychainStore::new(&name, self.0.path()).with_lock_timeout(Duration::from_secs(10))
    }
}

/// Runs the `#[ignore]`d test `name` of this module in a child with `envs`; it must pass.
fn in_child<K: AsRef<std::ffi::OsStr>, V: AsRef<std::ffi::OsStr>>(
    name: &str,
    envs: impl IntoIterator<Item = (K, V)>,
) -> Run {
    let run = TestCommand::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", &format!("store_keychain::{name}")])
        .envs(envs)
        .ok();
    assert!(
        run.stdout.contains("1 passed"),
        "{name} ran and passed in the child: {}",
        run.stdout
    );
    run
}

#[test]
fn the_keychain_store_keeps_the_store_contract() {
    let keychain = SecretService::start();
    in_child("contract_in_the_keychain", keychain.envs());
}

#[test]
#[ignore = "the child half of the_keychain_store_keeps_the_store_contract"]
fn contract_in_the_keychain() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(contract(&Entries(tempfile::tempdir().unwrap())));
}

#[test]
fn a_keychain_that_does_not_answer_is_a_storage_error_naming_why() {
    in_child(
        "probe_without_a_bus",
        [("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    );
}

#[test]
#[ignore = "the child half of a_keychain_that_does_not_answer_is_a_storage_error_naming_why"]
fn probe_without_a_bus() {
    let e = KeychainStore::probe().unwrap_err();
    assert_eq!(e.kind(), sfauth::ErrorKind::Storage, "{e}");
    assert!(e.to_string().contains("nonexistent"), "{e}");
}
