//! `kill -9` at random instants of `sfauth refresh`, a few hundred times: the token file is
//! never torn, no temp file outlives the next run, a leftover holding the live token is
//! adopted, and every lost token family is explained by a kill inside the one window no
//! client can close (after the server rotated the token, before the answer reached disk).

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sfauth_test_support::prelude::*;

/// Kills tried, at most; the loop also stops at [`BUDGET`].
const ITERATIONS: usize = 300;
/// Wall time the loop may take, so a slow machine runs fewer iterations, never longer.
const BUDGET: Duration = Duration::from_secs(90);
/// Kill instants are drawn from 0 to this after the start: a debug `sfauth refresh`
/// against the emulator with [`LATENCY`] takes about this long.
const KILL_WINDOW_US: u64 = 40_000;
/// Processing time of each refresh at the emulator: widens the window between sending
/// and saving so that kills land in every phase.
const LATENCY: Duration = Duration::from_millis(5);

/// A small deterministic generator (xorshift64*), seeded from the clock and printed, so a
/// failing run can be replayed by setting `SFAUTH_CRASH_SEED`.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("SFAUTH_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        eprintln!("crash loop seed: {seed} (set SFAUTH_CRASH_SEED to replay)");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// The `.sfauth-*.tmp` files in `dir`.
fn leftovers(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("read the token directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".sfauth-") && n.ends_with(".tmp"))
        })
        .collect()
}

/// The refresh token a file holds, if it is a complete token.
fn refresh_token_in(path: &Path) -> Option<String> {
    let value: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    value["refresh_token"].as_str().map(str::to_owned)
}

/// Waits until the emulator has processed what the killed client sent: Salesforce finishes
/// a refresh whose client went away, so the rotation happens after the kill.
fn settle(org: &Emulator) {
    // The kernel closes a killed client's sockets at once, but the emulator may not have
    // accepted or read them yet: wait until it has been idle (no connection open, no
    // refresh in flight) for a while, so that nothing the client sent is still to come.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut idle_since: Option<Instant> = None;
    loop {
        if org.is_idle() {
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= LATENCY {
                return;
            }
        } else {
            idle_since = None;
        }
        assert!(
            Instant::now() < deadline,
            "the emulator never went idle after a kill"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[derive(Debug, Default)]
struct Figures {
    kills: usize,
    lost: usize,
    lost_after_processing: usize,
    leftovers_seen: usize,
    leftovers_live: usize,
}

#[test]
fn kills_at_random_instants_never_tear_the_file_and_every_loss_is_unavoidable() {
    let org = OrgBuilder::new().latency(LATENCY).start();
    let file = TokenFile::issued_by(&org);
    let dir = file.dir.path().to_path_buf();
    let mut rng = Rng::new();
    let mut figures = Figures::default();
    let started = Instant::now();

    for _ in 0..ITERATIONS {
        if started.elapsed() > BUDGET {
            break;
        }
        let served_before = org.stats().refreshes_served;
        let running = refresh(&org, &file.path).start();
        std::thread::sleep(Duration::from_micros(rng.below(KILL_WINDOW_US)));
        running.kill();
        figures.kills += 1;
        settle(&org);

        // Never torn: the file is the old complete token or the new one.
        let in_file = refresh_token_in(&file.path)
            .unwrap_or_else(|| panic!("torn token file after a kill: {:?}", file.bytes()));
        let spare = leftovers(&dir);
        figures.leftovers_seen += spare.len();
        let live_in_file = org.refresh_token_is_live(&in_file);
        let live_leftover = spare
            .iter()
            .filter_map(|p| refresh_token_in(p))
            .any(|rt| org.refresh_token_is_live(&rt));
        if live_leftover && !live_in_file {
            figures.leftovers_live += 1;
        }

        if !live_in_file && !live_leftover {
            // The family is lost: the server rotated, and the answer died with the process.
            // That needs the server to have processed a refresh from this run.
            figures.lost += 1;
            let processed = org.stats().refreshes_served > served_before;
            assert!(
                processed,
                "a token family was lost although the server processed no refresh: {figures:?}"
            );
            figures.lost_after_processing += 1;
            file.write(&org.issue_token(USERNAME));
            continue;
        }

        // Whatever the kill left, the next run adopts the live token, refreshes, and leaves
        // no temp file behind.
        let served_at_check = org.stats().refreshes_served;
        let run = refresh(&org, &file.path).run();
        assert_eq!(
            run.code,
            Some(0),
            "a run after a kill failed although a live token was on disk (in the file: \
             {live_in_file}, in a leftover: {live_leftover}; refreshes served before the kill \
             {served_before}, at the check {served_at_check}, now {}; leftovers {spare:?}): \
             {run}\n{figures:?}",
            org.stats().refreshes_served
        );
        assert_eq!(
            leftovers(&dir),
            Vec::<std::path::PathBuf>::new(),
            "a temp file outlived the run after a kill"
        );
    }

    let stats = org.stats();
    eprintln!(
        "crash loop: {} kills, {} families lost (all {} after the server processed the \
         refresh: unavoidable), {} avoidable; {} leftovers seen, {} held the live token and \
         were adopted; {stats:?}",
        figures.kills,
        figures.lost,
        figures.lost_after_processing,
        figures.lost - figures.lost_after_processing,
        figures.leftovers_seen,
        figures.leftovers_live
    );
    assert!(
        figures.kills >= 50,
        "too few kills to mean anything: {figures:?}"
    );
    assert_eq!(
        stats.reuse_detected, 0,
        "a spent refresh token was sent again"
    );
}
