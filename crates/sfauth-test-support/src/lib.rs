//! The one support layer of sfauth's test suites, shaped like cargo's `cargo-test-support`:
//! what a test needs to set up a scene, run the `sfauth` binary in it, and check what
//! came out, each written once.
//!
//! - [`org`]: an emulated org on `127.0.0.1`, built and started in one call;
//! - [`token`]: token files in the seeds' format, and the one way to make a token stale;
//! - [`fixtures`]: the test-only JWT keys, as text or as paths;
//! - [`browser`]: a scripted browser for `login web`, over reqwest;
//! - [`command`]: the `sfauth` binary with a clean environment and a time limit, its
//!   finished and running runs;
//! - [`home`]: a config home (`$SFAUTH_HOME`) of a test's own, with its stored orgs;
//! - [`contract`]: the exit codes and the failure contract a failed run keeps;
//! - [`http`]: raw HTTP/1.1 answers, split;
//! - [`lock`] and [`net`]: a token file's lock held from outside, ports that refuse;
//! - [`services`]: real PostgreSQL and Redis servers for the fleet stores;
//! - [`agent`]: a running `sfauth agent` and its API over the unix socket;
//! - [`proxy`]: a running `sfauth proxy` and raw HTTP/1.1 requests to it;
//! - [`postman`]: exported Postman environments with the seeds' variables;
//! - [`sf_core`]: the real `@salesforce/core`, doing what the Salesforce CLI does with its
//!   files;
//! - [`keychain`]: a real Secret Service (gnome-keyring on a private D-Bus session).
//!
//! It serves the tests of `sfauth` and `sfauth-cli`. The emulator's own tests cannot use
//! it: it depends on the emulator, so a dev-dependency back would be a cycle.
//!
//! `use sfauth_test_support::prelude::*;` brings in what nearly every test uses.

pub mod agent;
pub mod browser;
pub mod command;
pub mod contract;
pub mod fixtures;
pub mod home;
pub mod http;
pub mod keychain;
pub mod lock;
pub mod net;
pub mod org;
pub mod postman;
pub mod proxy;
pub mod services;
pub mod sf_core;
pub mod token;

/// What nearly every test uses, in one import.
pub mod prelude {
    pub use crate::browser::{Browser, query_param, with_query_param};
    pub use crate::command::{
        Run, Running, TestCommand, finish_all, on_token_file, printed_by_all, refresh, sfauth,
        token,
    };
    pub use crate::contract::{Snapshot, exit, secrets_of};
    pub use crate::home::Home;
    pub use crate::org::{OrgBuilder, OrgExt, USERNAME, org};
    pub use crate::token::{
        TokenFile, aged, issued_at_rfc3339, keys, mode, rfc3339_secs, stale, text, without,
    };
    pub use sfauth_emulator::{Config, Consent, Emulator, Fault, TlsLeaf};
}

/// Polls `done` every 20 ms for at most `limit`; panics naming `what` if it never holds.
pub fn wait_until(what: &str, limit: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
