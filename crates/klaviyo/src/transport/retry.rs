//! When a failed attempt is sent again and after how long: the [`RetryPolicy`] with its
//! backoff, whether a failure may be retried at all ([`Retry`]), which failures leave it
//! unknown whether Klaviyo acted ([`is_ambiguous`]), and the 429 hints (`Retry-After`, the
//! detail's "available in N seconds").

use std::time::Duration;

use rand::Rng;

use crate::Error;

/// How failed requests are retried (idempotent requests only, plus 429s and refused
/// connections, which never reached Klaviyo).
///
/// A 429 is a refusal Klaviyo did not act on, so waiting it out is always safe: 429s are
/// bounded by time, not by `max_attempts` (a storm of short `Retry-After`s shared by many
/// senders would otherwise use up every sender's attempts in seconds and fail the run). Other
/// failures (5xx, timeouts, resets, refused connections) are bounded by `max_attempts`.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts after failures other than 429, the first included. 1 disables every retry
    /// (429s too).
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time (with jitter), up to `max_delay`. Also
    /// the wait after a 429 that gives no time (no `Retry-After`, nothing in the detail).
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest one request waits out 429s: a 429 asking for longer is returned at once as
    /// `RateLimited`, and so is one that would take the time since the request's first 429
    /// beyond this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with jitter: a random delay in [d/2, d], d = base * 2^(retry-1).
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter_ms = rand::rng().random_range(0..=half.as_millis().min(u64::MAX as u128) as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// Whether a failed attempt may be retried.
pub(crate) enum Retry {
    /// The request never reached Klaviyo, or Klaviyo refused it unprocessed (429): always safe.
    Safe(Option<Duration>),
    /// Klaviyo may have acted on it: retry only idempotent requests.
    IfIdempotent,
    No,
}

/// A failure after which it is unknown whether Klaviyo acted on the request (timeout, lost
/// connection, 503/504/524): a call that is not idempotent looks before it sends again.
pub(crate) fn is_ambiguous(e: &Error) -> bool {
    matches!(
        e,
        Error::Timeout
            | Error::Server {
                status: 503 | 504 | 524,
                ..
            }
    ) || matches!(e, Error::Unreachable { .. })
}

/// The longest wait a 429's hint is taken for. A larger hint — a hostile or broken
/// `Retry-After: 1e20`, `inf`, or twenty digits — is clamped to it instead of overflowing
/// `Duration`/`Instant` arithmetic (`Duration::from_secs_f64` panics past `u64::MAX` seconds);
/// being far over any sane `max_retry_after`, it then stops the call with the resumable
/// [`Error::RateLimited`], as any hint longer than the policy allows does.
const MAX_RETRY_HINT: Duration = Duration::from_secs(24 * 60 * 60);

/// `Retry-After` in seconds (integer or decimal), at most [`MAX_RETRY_HINT`]. A value that is
/// no delay at all (negative, NaN, text) is ignored, as if absent. HTTP dates are not used by
/// Klaviyo.
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs = v.trim().parse::<f64>().ok()?;
    if secs.is_nan() || secs.is_sign_negative() {
        return None;
    }
    if secs >= MAX_RETRY_HINT.as_secs_f64() {
        return Some(MAX_RETRY_HINT);
    }
    Duration::try_from_secs_f64(secs).ok()
}

/// "Request was throttled. Expected available in 7 seconds.", at most [`MAX_RETRY_HINT`].
pub(crate) fn available_in(detail: &str) -> Option<Duration> {
    let rest = &detail[detail.find("available in ")? + "available in ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    // Only digits: a parse error is an overflow of u64.
    let secs = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(secs).min(MAX_RETRY_HINT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_hints_are_parsed() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("x"), None);
        assert_eq!(
            available_in("Request was throttled. Expected available in 12 seconds."),
            Some(Duration::from_secs(12))
        );
    }

    #[test]
    fn hostile_retry_hints_are_clamped_to_a_day_or_ignored_never_a_panic() {
        let day = Duration::from_secs(24 * 60 * 60);
        for huge in [
            "1e20",
            "99999999999999999999",
            "18446744073709551616",
            "1e308",
            "inf",
            "+Infinity",
            "86401",
        ] {
            assert_eq!(parse_retry_after(huge), Some(day), "{huge}");
        }
        for nonsense in [
            "-5",
            "-0.5",
            "NaN",
            "-inf",
            "",
            "soon",
            "Wed, 21 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(parse_retry_after(nonsense), None, "{nonsense}");
        }
        assert_eq!(
            parse_retry_after(" 0.25 "),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_retry_after("86400"), Some(day));
        for huge in ["99999999999999999999999", "18446744073709551615", "86401"] {
            let detail = format!("Request was throttled. Expected available in {huge} seconds.");
            assert_eq!(available_in(&detail), Some(day), "{detail}");
        }
        assert_eq!(available_in("Expected available in seconds."), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..Default::default()
        };
        for _ in 0..20 {
            let d1 = p.backoff(1);
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d10 = p.backoff(10);
            assert!(
                d10 >= Duration::from_millis(500) && d10 <= Duration::from_millis(1000),
                "{d10:?}"
            );
        }
    }
}
