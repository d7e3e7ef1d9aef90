//! Single-flight benchmark: many tasks ask one [`Session`] for a token that is stale.
//!
//! Starts the Salesforce emulator in-process (refresh-token rotation on, ~100 ms per token
//! request, real HTTP on 127.0.0.1), writes a token file whose `issued_at` is three hours
//! old, builds one [`Session`] over it and spawns N tasks (default 10 000) that all call
//! [`Session::access_token`] at once. Prints one JSON line:
//!
//! ```text
//! {"tasks":10000,"wall_ms":…,"refreshes_served":1,"refused_parallel":0,"reuse_detected":0,"distinct_tokens":1,…}
//! ```
//!
//! Usage: `cargo run --release -p sfauth --example single_flight -- [TASKS] [LATENCY_MS]`.
//! Exits non-zero if a task failed.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sfauth::{ClientSecret, ConnectedApp, FileStore, LoginUrl, Session};
use sfauth_emulator::{Config, Emulator};

/// Tasks when no count is given.
const DEFAULT_TASKS: usize = 10_000;
/// Emulated processing time of each token request, when none is given.
const DEFAULT_LATENCY_MS: u64 = 100;
/// Upper bound on the whole run: the benchmark must stop by itself.
const DEADLINE: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(failed) => {
            eprintln!("single_flight: {failed} task(s) failed");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("single_flight: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the benchmark; returns the number of failed tasks.
async fn run() -> Result<usize, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tasks: usize = match args.next() {
        Some(n) => n.parse().map_err(|e| format!("TASKS {n:?}: {e}"))?,
        None => DEFAULT_TASKS,
    };
    let latency_ms: u64 = match args.next() {
        Some(n) => n.parse().map_err(|e| format!("LATENCY_MS {n:?}: {e}"))?,
        None => DEFAULT_LATENCY_MS,
    };

    // The emulator runs on its own runtime, so the tasks measured here do not share
    // worker threads with the server.
    let org = Emulator::start(Config {
        rotation: true,
        latency: Duration::from_millis(latency_ms),
        ..Config::default()
    })?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("_salesforce.json");
    write_stale_token(&org, &path)?;

    let client = ConnectedApp::new(org.config().client_id.clone())
        .with_secret(ClientSecret::from(org.config().client_secret.as_str()));
    let session = Session::builder(FileStore::new(&path), client)
        .login_url(LoginUrl::parse(&org.url())?)
        .build();
    let before = org.stats();

    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let session = session.clone();
            tokio::spawn(async move { session.access_token().await })
        })
        .collect();
    let mut tokens = HashSet::new();
    let mut failed = 0usize;
    let joined = tokio::time::timeout(DEADLINE, async {
        for handle in handles {
            match handle.await {
                Ok(Ok(token)) => {
                    tokens.insert(token.expose().to_owned());
                }
                Ok(Err(error)) => {
                    if failed == 0 {
                        eprintln!("single_flight: first failure: {error}");
                    }
                    failed += 1;
                }
                Err(join) => {
                    eprintln!("single_flight: task panicked: {join}");
                    failed += 1;
                }
            }
        }
    })
    .await;
    let wall = started.elapsed();
    if joined.is_err() {
        return Err(format!("not done after {} s", DEADLINE.as_secs()).into());
    }

    let after = org.stats();
    let report = serde_json::json!({
        "tasks": tasks,
        "wall_ms": (wall.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        "refreshes_served": after.refreshes_served - before.refreshes_served,
        "refused_parallel": after.refused_parallel - before.refused_parallel,
        "reuse_detected": after.reuse_detected - before.reuse_detected,
        "token_requests": after.token_requests - before.token_requests,
        "distinct_tokens": tokens.len(),
        "failed": failed,
        "latency_ms": latency_ms,
    });
    println!("{report}");
    Ok(failed)
}

/// Writes a login response with `issued_at` three hours back: past the 2 h session timeout.
fn write_stale_token(org: &Emulator, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut token = org.issue_token("bench@example.com");
    let three_hours_ago = SystemTime::now() - Duration::from_secs(3 * 3600);
    let ms = three_hours_ago.duration_since(UNIX_EPOCH)?.as_millis();
    token["issued_at"] = ms.to_string().into();
    std::fs::write(path, serde_json::to_vec_pretty(&token)?)?;
    Ok(())
}
