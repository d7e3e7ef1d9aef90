//! Refreshes that have been sent and not yet saved, counted process-wide.
//!
//! Between sending a refresh and saving its answer, the stored refresh token may already be
//! spent at Salesforce: stopping then loses the rotated one. A program that is asked to stop
//! (a signal, a shutdown) waits for [`settled`] first. The count is process-wide because the
//! refreshes run in detached tasks that the program's own futures do not own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static SETTLED: Notify = Notify::const_new();

/// Held from just before a refresh is sent until its answer is saved (or has failed).
#[derive(Debug)]
pub(crate) struct SendGuard(());

impl SendGuard {
    /// Counts one more refresh in flight until the guard is dropped.
    pub(crate) fn begin() -> SendGuard {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        SendGuard(())
    }
}

impl Drop for SendGuard {
    fn drop(&mut self) {
        if IN_FLIGHT.fetch_sub(1, Ordering::SeqCst) == 1 {
            SETTLED.notify_waiters();
        }
    }
}

/// How many refreshes in this process have been sent and not yet saved.
///
/// ```
/// assert_eq!(sfauth::in_flight::count(), 0);
/// ```
pub fn count() -> usize {
    IN_FLIGHT.load(Ordering::SeqCst)
}

/// Waits until no refresh is in flight, for at most `limit`. True when none is left.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// assert!(sfauth::in_flight::settled(Duration::from_millis(10)).await);
/// # }
/// ```
pub async fn settled(limit: Duration) -> bool {
    let wait = async {
        loop {
            let notified = SETTLED.notified();
            tokio::pin!(notified);
            // Register before reading the count, so a drop in between is not missed.
            notified.as_mut().enable();
            if count() == 0 {
                return;
            }
            notified.await;
        }
    };
    tokio::time::timeout(limit, wait).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settled_waits_for_the_last_guard() {
        let guard = SendGuard::begin();
        assert!(!settled(Duration::from_millis(20)).await);
        let waiter = tokio::spawn(settled(Duration::from_secs(10)));
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(guard);
        assert!(waiter.await.unwrap());
    }
}
