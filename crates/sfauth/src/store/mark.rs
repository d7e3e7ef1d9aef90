//! [`RefreshMark`]: who is sending a refresh of a stored token, recorded before it is sent.
//!
//! With refresh-token rotation, a holder of the store's lock that dies between sending a
//! refresh and saving its answer may have spent the stored refresh token: Salesforce rotated
//! it, and the new one died with the holder. Sending the old one again would be a reuse,
//! which revokes the whole token family. The mark is how the next holder knows to check
//! first (see [`Session`](crate::Session)).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A refresh some holder of a store's lock started: who, when, and by when its request
/// had timed out. Kept in the store beside the token; holds no secret.
///
/// ```
/// use std::time::Duration;
/// use sfauth::RefreshMark;
/// let mark = RefreshMark::now(Duration::from_secs(30));
/// let text = mark.to_text();
/// assert_eq!(RefreshMark::from_text(&text), Some(mark.clone()));
/// assert!(mark.holder().contains(&std::process::id().to_string()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshMark {
    holder: String,
    started_ms: u64,
    deadline_ms: u64,
}

/// The longest a mark's request is taken to run: a mark written by a misconfigured client
/// never makes the next holder wait longer than this.
const MAX_REQUEST_TIME: Duration = Duration::from_secs(300);

impl RefreshMark {
    /// A mark for a refresh this process starts now, whose request gives up within
    /// `request_time` (timeouts and retries included).
    pub fn now(request_time: Duration) -> RefreshMark {
        let started_ms = unix_ms(SystemTime::now());
        let request_ms =
            u64::try_from(request_time.min(MAX_REQUEST_TIME).as_millis()).unwrap_or(u64::MAX);
        RefreshMark {
            holder: format!("pid {} on {}", std::process::id(), host_name()),
            started_ms,
            deadline_ms: started_ms.saturating_add(request_ms),
        }
    }

    /// Who sent the refresh: a process id and a host name.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// When the refresh was started.
    pub fn started(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.started_ms)
    }

    /// How long from now until the marked request has surely ended (zero once it has): an
    /// answer Salesforce was still working on when its client died may still rotate the
    /// token until then.
    pub fn time_left(&self) -> Duration {
        let now = unix_ms(SystemTime::now());
        let left = self.deadline_ms.saturating_sub(now);
        Duration::from_millis(left).min(MAX_REQUEST_TIME)
    }

    /// The mark as stores keep it: `started_ms deadline_ms holder`.
    pub fn to_text(&self) -> String {
        format!("{} {} {}", self.started_ms, self.deadline_ms, self.holder)
    }

    /// A mark a store kept, or `None` if `text` is not one.
    pub fn from_text(text: &str) -> Option<RefreshMark> {
        let mut parts = text.splitn(3, ' ');
        let started_ms = parts.next()?.parse().ok()?;
        let deadline_ms = parts.next()?.parse().ok()?;
        let holder = parts.next()?.chars().take(200).collect();
        Some(RefreshMark {
            holder,
            started_ms,
            deadline_ms,
        })
    }
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// This machine's name, for telling holders apart in messages.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "an unnamed host".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_that_is_not_one_is_none() {
        assert_eq!(RefreshMark::from_text(""), None);
        assert_eq!(RefreshMark::from_text("12 x pid 1 on h"), None);
        assert_eq!(RefreshMark::from_text("12 13"), None);
    }

    #[test]
    fn a_mark_whose_deadline_passed_has_no_time_left() {
        let mark = RefreshMark::from_text("1000 2000 pid 1 on h").unwrap();
        assert_eq!(mark.time_left(), Duration::ZERO);
        assert_eq!(mark.holder(), "pid 1 on h");
    }

    #[test]
    fn a_far_future_deadline_waits_at_most_the_longest_request() {
        let mark = RefreshMark::from_text(&format!("0 {} pid 1 on h", u64::MAX)).unwrap();
        assert_eq!(mark.time_left(), MAX_REQUEST_TIME);
    }
}
