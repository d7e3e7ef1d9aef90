//! SIGINT, SIGTERM and SIGHUP for the commands that can refresh. A refresh that was sent
//! runs to its save: stopping between the send and the save would lose the rotated refresh
//! token that the server already switched to. So a signal that arrives then is held until
//! the save is done (at most the request timeout plus a margin), and the process then exits
//! 128 + N as if the signal had ended it. With nothing in flight it exits at once.

use std::future::Future;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Added to the request timeout when waiting for a refresh in flight to be saved: the save
/// itself (an fsync or two) and a busy machine.
const SAVE_MARGIN: Duration = Duration::from_secs(5);

static HELD: AtomicUsize = AtomicUsize::new(0);
static RELEASED: Notify = Notify::const_new();

/// Like a library refresh in flight, for the CLI's own token requests that spend a refresh
/// token (`login sfdx-url`): a signal waits until the guard is dropped.
pub struct Hold(());

impl Hold {
    /// Holds signals back until the guard is dropped (bounded as for a refresh).
    pub fn begin() -> Hold {
        HELD.fetch_add(1, Ordering::SeqCst);
        Hold(())
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if HELD.fetch_sub(1, Ordering::SeqCst) == 1 {
            RELEASED.notify_waiters();
        }
    }
}

/// Whether anything that must not be cut short is running.
fn busy() -> bool {
    sfauth::in_flight::count() > 0 || HELD.load(Ordering::SeqCst) > 0
}

/// Waits until no refresh is in flight and no [`Hold`] is held, for at most `limit`.
async fn quiet(limit: Duration) {
    let wait = async {
        loop {
            let released = RELEASED.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if HELD.load(Ordering::SeqCst) == 0 {
                if sfauth::in_flight::settled(limit).await && HELD.load(Ordering::SeqCst) == 0 {
                    return;
                }
                continue;
            }
            released.await;
        }
    };
    let _ = tokio::time::timeout(limit, wait).await;
}

/// Waits until every refresh in flight (and every [`Hold`]) is done, for at most `timeout`
/// plus the save margin: how a long-running command stops.
pub async fn settle(timeout: Duration) {
    if busy() {
        quiet(timeout.saturating_add(SAVE_MARGIN)).await;
    }
}

/// The handlers of the three signals that ask a command line tool to stop.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    /// Installs the handlers (from now on these signals no longer end the process by
    /// themselves).
    pub fn install() -> std::io::Result<Signals> {
        let signals = Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        };
        tracing::debug!("signal handlers installed");
        Ok(signals)
    }

    /// The next signal's number.
    pub async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.interrupt.recv() => SignalKind::interrupt().as_raw_value(),
            _ = self.terminate.recv() => SignalKind::terminate().as_raw_value(),
            _ = self.hangup.recv() => SignalKind::hangup().as_raw_value(),
        }
    }
}

/// The exit code of a process stopped by signal `number`, as shells report it.
pub fn exit_code(number: i32) -> ExitCode {
    ExitCode::from(u8::try_from(128 + number).unwrap_or(255))
}

/// Runs `work`; a signal that arrives meanwhile ends it (`Err(exit code)`), but only once
/// no refresh is in flight: `work` keeps running meanwhile, so a refresh reaches its save,
/// for at most `timeout` plus a margin.
pub async fn deferring<T>(
    signals: &mut Signals,
    timeout: Duration,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<Result<T, ExitCode>> {
    tokio::pin!(work);
    let number = tokio::select! {
        done = &mut work => return done.map(Ok),
        number = signals.recv() => number,
    };
    if busy() {
        tracing::debug!("a refresh is in flight: stopping once it is saved");
        let settled = quiet(timeout.saturating_add(SAVE_MARGIN));
        tokio::pin!(settled);
        tokio::select! {
            biased;
            _ = &mut settled => {}
            // The work may end first (its save done, its answer printed); a refresh it
            // left running still gets its time.
            _ = &mut work => {
                settled.await;
            }
        }
    }
    Ok(Err(exit_code(number)))
}
