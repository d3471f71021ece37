//! Sign-in throttling, against guessing passwords: after [`FREE_FAILURES`]
//! failed sign-ins for one account, or from one client address, the next
//! attempt must wait one second, and twice as long after every further
//! failure (at most [`MAX_WAIT_SECS`]); after [`LOCK_FAILURES`] the account
//! or address is locked for [`LOCK_SECS`] (the bureau administrator can lift
//! it sooner). An attempt while blocked counts as a failure and is answered
//! exactly like a wrong password. Failures are forgotten [`FORGET_SECS`]
//! after the last one.

/// Failures allowed before attempts must wait.
pub const FREE_FAILURES: u32 = 5;
/// Failures that lock the account or address.
pub const LOCK_FAILURES: u32 = 20;
/// How long a lock lasts after the failure that set it, in seconds.
pub const LOCK_SECS: i64 = 3600;
/// The longest wait between attempts before the lock, in seconds.
pub const MAX_WAIT_SECS: i64 = 900;
/// Seconds without a failure after which the failures are forgotten (as long as a lock).
pub const FORGET_SECS: i64 = LOCK_SECS;

/// The failed sign-ins recorded for one account or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attempts {
    /// Failures in a row.
    pub failures: u32,
    /// When the last one was, in Unix milliseconds.
    pub last_failure_at: i64,
}

impl Attempts {
    /// The failures that still count at `now` (Unix milliseconds, as every
    /// time here).
    pub fn current(self, now: i64) -> u32 {
        if now.saturating_sub(self.last_failure_at) >= FORGET_SECS * 1000 { 0 } else { self.failures }
    }

    /// Until when an attempt at `now` is refused, if it is.
    pub fn blocked_until(self, now: i64) -> Option<i64> {
        let n = self.current(now);
        let until = if n >= LOCK_FAILURES {
            self.last_failure_at.saturating_add(LOCK_SECS * 1000)
        } else if n >= FREE_FAILURES {
            let doublings = (n - FREE_FAILURES).min(30);
            self.last_failure_at.saturating_add((1000_i64 << doublings).min(MAX_WAIT_SECS * 1000))
        } else {
            return None;
        };
        (until > now).then_some(until)
    }

    /// Whether the failures at `now` have reached the lock.
    pub fn is_locked(self, now: i64) -> bool {
        self.current(now) >= LOCK_FAILURES
    }

    /// The record after one more failure at `now`.
    pub fn failed(self, now: i64) -> Self {
        Self { failures: self.current(now).saturating_add(1), last_failure_at: now }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    fn after(failures: u32, at: i64) -> Attempts {
        (0..failures).fold(Attempts::default(), |a, _| a.failed(at))
    }

    #[test]
    fn five_failures_are_free_then_each_wait_doubles_up_to_the_cap() {
        let t = 100 * S;
        assert_eq!(after(4, t).blocked_until(t), None);
        assert_eq!(after(5, t).blocked_until(t), Some(t + S));
        assert_eq!(after(5, t).blocked_until(t + S - 1), Some(t + S));
        assert_eq!(after(5, t).blocked_until(t + S), None, "the wait has ended");
        assert_eq!(after(6, t).blocked_until(t), Some(t + 2 * S));
        assert_eq!(after(8, t).blocked_until(t), Some(t + 8 * S));
        assert_eq!(after(19, t).blocked_until(t), Some(t + MAX_WAIT_SECS * S));
    }

    #[test]
    fn twenty_failures_lock_for_an_hour_then_are_forgotten() {
        let t = 1000 * S;
        let locked = after(LOCK_FAILURES, t);
        assert!(locked.is_locked(t));
        assert_eq!(locked.blocked_until(t + LOCK_SECS * S - 1), Some(t + LOCK_SECS * S));
        assert_eq!(locked.blocked_until(t + LOCK_SECS * S), None);
        assert!(!locked.is_locked(t + LOCK_SECS * S));
        assert_eq!(locked.failed(t + LOCK_SECS * S).failures, 1, "a failure after the lock starts anew");
    }

    #[test]
    fn a_hundred_failures_stay_locked_and_never_overflow() {
        let a = after(100, 50 * S);
        assert_eq!(a.failures, 100);
        assert_eq!(a.blocked_until(51 * S), Some(50 * S + LOCK_SECS * S));
        let huge = Attempts { failures: u32::MAX, last_failure_at: i64::MAX - 1 };
        assert!(huge.blocked_until(i64::MAX - 1).is_some());
        assert_eq!(huge.failed(i64::MAX - 1).failures, u32::MAX);
    }
}
