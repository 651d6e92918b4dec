//! Client-side rate limiting: per account (base URL + key) and per operation, with Klaviyo's
//! two FIXED windows at once — burst (1 s) and steady (1 min) — numbers from [`crate::spec`].
//!
//! * Burst window: a [`governor`] GCRA limiter that admits one request every
//!   `(1 s + burst_slack) / burst` — evenly spaced, never two at once. A GCRA with a burst
//!   allowance of `B` would admit up to `2B - 1` requests in one fixed second (the full burst
//!   at the end of one window plus the refills), which a fixed-window server answers with 429s
//!   (`tests::gcra_with_burst_overshoots_a_fixed_window` measures this); spacing admits at most
//!   `B` in any 1-second interval, fixed or sliding, and the slack absorbs network jitter.
//! * Steady window: a GCRA cannot express "150 per calendar minute" either (burst 150 + refill
//!   admits ~300 in the first minute), so the steady window is a fixed-window budget: the
//!   count left in the server's current window and when it ends, taken from the server's
//!   `RateLimit-Remaining` / `RateLimit-Reset` answers (minus the requests still in flight),
//!   and estimated from the spec's number and our own sends until the first answer arrives.
//!   Until an operation has had one answer only one request is in flight (a probe), so a
//!   window already spent by another process is discovered before a burst is sent into it.
//! * A 429 blocks the operation for everyone sharing the state until `Retry-After` (or the
//!   detail's "Expected available in N seconds", or a backoff) has passed, plus jitter.
//!
//! The state is shared by every [`crate::Client`] of the same base URL and key in the process
//! (a registry keyed by the base URL and a salted hash of the key).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::spec;

/// Safety margins of the client-side limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterConfig {
    /// Added to the 1-second burst window: requests are spaced `(1 s + burst_slack) / burst`.
    pub burst_slack: Duration,
    /// Added to the end of the steady window the server announces (`RateLimit-Reset` is whole
    /// seconds and may be rounded down).
    pub steady_slack: Duration,
    /// Jitter added to a 429's wait, so that waiting requests do not all wake together.
    pub throttle_jitter: Duration,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            burst_slack: Duration::from_millis(50),
            steady_slack: Duration::from_millis(1000),
            throttle_jitter: Duration::from_millis(100),
        }
    }
}

/// The `RateLimit-*` headers of one answer (steady window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateHeaders {
    pub limit: Option<u32>,
    pub remaining: u32,
    pub reset: Duration,
}

const STEADY_WINDOW: Duration = Duration::from_secs(60);

/// Every operation's limiter for one account.
pub(crate) struct AccountLimits {
    ops: Mutex<HashMap<&'static str, Arc<OpLimiter>>>,
    config: LimiterConfig,
}

type Registry = Mutex<HashMap<(String, u64), Weak<AccountLimits>>>;

fn registry() -> &'static (Registry, std::collections::hash_map::RandomState) {
    static REGISTRY: OnceLock<(Registry, std::collections::hash_map::RandomState)> =
        OnceLock::new();
    REGISTRY.get_or_init(|| (Mutex::new(HashMap::new()), Default::default()))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The key hashed with a per-process random salt: the registry never stores the key.
pub(crate) fn key_hash(key: &str) -> u64 {
    registry().1.hash_one(key)
}

impl AccountLimits {
    /// The shared limits of the account behind `base_url` + the key of `key_hash` (created on
    /// first use).
    pub(crate) fn shared(
        base_url: &str,
        key_hash: u64,
        config: LimiterConfig,
    ) -> Arc<AccountLimits> {
        let id = (base_url.to_owned(), key_hash);
        let mut map = lock(&registry().0);
        if let Some(existing) = map.get(&id).and_then(Weak::upgrade) {
            if existing.config == config {
                return existing;
            }
        }
        map.retain(|_, w| w.strong_count() > 0);
        let fresh = Arc::new(AccountLimits {
            ops: Mutex::new(HashMap::new()),
            config,
        });
        map.insert(id, Arc::downgrade(&fresh));
        fresh
    }

    pub(crate) fn config(&self) -> LimiterConfig {
        self.config
    }

    /// The limiter of one operation (by `operationId`); `None` for an unknown operation.
    pub(crate) fn op(&self, id: &str) -> Option<Arc<OpLimiter>> {
        let op = spec::operation(id)?;
        let mut ops = lock(&self.ops);
        Some(
            ops.entry(op.id)
                .or_insert_with(|| Arc::new(OpLimiter::new(op, self.config)))
                .clone(),
        )
    }
}

/// The limiter of one operation of one account.
pub(crate) struct OpLimiter {
    burst: Option<DefaultDirectRateLimiter>,
    steady: Mutex<Steady>,
    changed: Notify,
    config: LimiterConfig,
}

struct Steady {
    /// Requests per window (the spec's, or the server's `RateLimit-Limit`); 0 = unlimited.
    limit: u32,
    /// Requests we may still send in the current window.
    remaining: u32,
    /// End of the current window (with slack); `None` = no window open.
    window_end: Option<Instant>,
    /// Bumped when a new window opens: a permit of an old window gives nothing back.
    generation: u64,
    /// Sent (or about to be sent) and not yet answered.
    in_flight: u32,
    /// Whether any answer has arrived yet (until then one request at a time).
    answered: bool,
    /// After a 429: nobody sends before this.
    blocked_until: Option<Instant>,
}

enum Wait {
    Until(Instant),
    ForAnswer,
}

impl Steady {
    fn try_reserve(&mut self, now: Instant, slack: Duration) -> Result<u64, Wait> {
        if let Some(b) = self.blocked_until {
            if now < b {
                return Err(Wait::Until(b));
            }
            self.blocked_until = None;
        }
        if self.window_end.is_some_and(|end| now >= end) {
            self.window_end = None;
        }
        if self.window_end.is_none() {
            // A new server window began at or before now, so it ends at or before now + 60 s.
            self.window_end = Some(now + STEADY_WINDOW + slack);
            self.remaining = self.limit;
            self.generation += 1;
        }
        if !self.answered && self.in_flight > 0 {
            return Err(Wait::ForAnswer);
        }
        if self.limit > 0 {
            if self.remaining == 0 {
                return Err(match self.window_end {
                    Some(end) if self.in_flight == 0 => Wait::Until(end),
                    // An answer may show more room than our conservative estimate.
                    _ => Wait::ForAnswer,
                });
            }
            self.remaining -= 1;
        }
        self.in_flight += 1;
        Ok(self.generation)
    }

    fn answered(&mut self, now: Instant, headers: Option<RateHeaders>, slack: Duration) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.answered = true;
        let Some(h) = headers else { return };
        if let Some(limit) = h.limit.filter(|l| *l > 0) {
            self.limit = limit;
        }
        let end = now + h.reset + slack;
        // Requests still in flight may have been counted after this answer's.
        let from_server = h.remaining.saturating_sub(self.in_flight);
        let same_window = self.window_end.is_some_and(|cur| {
            let d = if cur > end { cur - end } else { end - cur };
            d <= Duration::from_millis(1500)
        });
        if same_window {
            self.remaining = self.remaining.min(from_server);
            if let Some(cur) = self.window_end {
                self.window_end = Some(cur.min(end));
            }
        } else {
            self.window_end = Some(end);
            self.remaining = from_server;
            self.generation += 1;
        }
    }

    fn throttled(&mut self, now: Instant, wait: Duration) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.answered = true;
        let until = now + wait;
        self.blocked_until = Some(self.blocked_until.map_or(until, |b| b.max(until)));
        if wait > Duration::from_secs(2) {
            // The steady window is spent: a new one starts when the wait is over.
            self.remaining = 0;
            self.window_end = Some(until);
        }
    }
}

impl OpLimiter {
    fn new(op: &'static spec::Operation, config: LimiterConfig) -> OpLimiter {
        let burst = NonZeroU32::new(op.burst_per_second).and_then(|b| {
            let period = (Duration::from_secs(1) + config.burst_slack) / b.get();
            Quota::with_period(period).map(|q| RateLimiter::direct(q.allow_burst(NonZeroU32::MIN)))
        });
        OpLimiter {
            burst,
            steady: Mutex::new(Steady {
                limit: op.steady_per_minute,
                remaining: op.steady_per_minute,
                window_end: None,
                generation: 0,
                in_flight: 0,
                answered: false,
                blocked_until: None,
            }),
            changed: Notify::new(),
            config,
        }
    }

    /// Waits until one request may be sent. Returns how long it waited with the permit, or
    /// [`Error::RateLimited`] at once when a 429 blocks the operation for longer than
    /// `max_blocked` from now (the caller would give up on such a 429 itself: there is no
    /// point in holding its request back that long first).
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        cancel: &CancellationToken,
        max_blocked: Duration,
    ) -> Result<(Permit, Duration), Error> {
        let started = Instant::now();
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = Instant::now();
            let (reserved, blocked_until) = {
                let mut steady = lock(&self.steady);
                let r = steady.try_reserve(now, self.config.steady_slack);
                (r, steady.blocked_until)
            };
            let generation = match reserved {
                Ok(g) => g,
                Err(wait) => {
                    let longest = now + max_blocked + self.config.throttle_jitter;
                    if let Some(until) = blocked_until.filter(|b| *b > longest) {
                        return Err(Error::RateLimited {
                            retry_after: Some(until - now),
                        });
                    }
                    let deadline = match wait {
                        Wait::Until(t) => t,
                        // Re-check at least every second even if no answer wakes us.
                        Wait::ForAnswer => Instant::now() + Duration::from_secs(1),
                    };
                    tokio::select! {
                        _ = cancel.cancelled() => return Err(Error::Cancelled),
                        _ = &mut notified => {}
                        _ = tokio::time::sleep_until(deadline) => {}
                    }
                    continue;
                }
            };
            let permit = Permit {
                limiter: self.clone(),
                generation,
                sent: false,
                done: false,
            };
            if let Some(burst) = &self.burst {
                tokio::select! {
                    _ = cancel.cancelled() => return Err(Error::Cancelled),
                    _ = burst.until_ready() => {}
                }
            }
            let blocked = lock(&self.steady)
                .blocked_until
                .is_some_and(|b| Instant::now() < b);
            if blocked {
                // A 429 arrived while we waited for the burst window.
                drop(permit);
                continue;
            }
            return Ok((permit, started.elapsed()));
        }
    }
}

/// The right to send one request; report its outcome with [`Permit::answered`] or
/// [`Permit::throttled`]. Dropped unused, it gives its place back.
pub(crate) struct Permit {
    limiter: Arc<OpLimiter>,
    generation: u64,
    sent: bool,
    done: bool,
}

impl Permit {
    /// The request is about to go out: from now on it counts at the server.
    pub(crate) fn sent(&mut self) {
        self.sent = true;
    }

    /// Any answer but a 429, with its `RateLimit-*` headers if it had them.
    pub(crate) fn answered(mut self, headers: Option<RateHeaders>) {
        self.done = true;
        let l = &self.limiter;
        lock(&l.steady).answered(Instant::now(), headers, l.config.steady_slack);
        l.changed.notify_waiters();
    }

    /// A 429: blocks the operation for `wait` plus jitter.
    pub(crate) fn throttled(mut self, wait: Duration) {
        self.done = true;
        let l = &self.limiter;
        let jitter_ms = l.config.throttle_jitter.as_millis() as u64;
        let jitter = Duration::from_millis(rand::rng().random_range(0..=jitter_ms));
        lock(&l.steady).throttled(Instant::now(), wait + jitter);
        l.changed.notify_waiters();
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let l = &self.limiter;
        let mut s = lock(&l.steady);
        s.in_flight = s.in_flight.saturating_sub(1);
        if self.sent {
            // It may have reached the server (timeout, reset, cancelled): the place stays used.
            s.answered = true;
        } else if s.generation == self.generation && s.limit > 0 {
            s.remaining = (s.remaining + 1).min(s.limit);
        }
        drop(s);
        l.changed.notify_waiters();
    }
}

/// Parses `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` (the first integer of
/// each, so `150, 150;w=60` works too). All three are needed but Limit.
pub(crate) fn parse_headers(headers: &reqwest::header::HeaderMap) -> Option<RateHeaders> {
    fn first_int(headers: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
        let v = headers.get(name)?.to_str().ok()?;
        let digits: String = v.trim().chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }
    let remaining = first_int(headers, "ratelimit-remaining")?;
    let reset = first_int(headers, "ratelimit-reset")?;
    let limit = first_int(headers, "ratelimit-limit");
    Some(RateHeaders {
        limit: limit.map(|l| u32::try_from(l).unwrap_or(u32::MAX)),
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        reset: Duration::from_secs(reset.min(3600)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    /// Requests admitted within `[from, from + 1 s)` by a limiter that is asked every millisecond.
    fn admitted_in_a_fixed_second(quota: Quota) -> (u32, u32) {
        let clock = FakeRelativeClock::default();
        let rl = RateLimiter::direct_with_clock(quota, clock.clone());
        // Idle before: the limiter is full when the first window starts.
        let mut per_window = [0u32; 2];
        for ms in 0..2000u32 {
            while rl.check().is_ok() {
                per_window[(ms / 1000) as usize] += 1;
            }
            clock.advance(Duration::from_millis(1));
        }
        (per_window[0], per_window[1])
    }

    #[test]
    fn gcra_with_burst_overshoots_a_fixed_window() {
        // The natural governor quota for "10 per second": 10 at once, refilled one per 100 ms.
        let (first, second) =
            admitted_in_a_fixed_second(Quota::per_second(NonZeroU32::new(10).expect("10")));
        assert!(
            first > 10,
            "GCRA burst 10 admitted {first} in the first fixed second"
        );
        assert_eq!(second, 10);
        // Spaced (burst 1) with slack: never more than 10 in a fixed second.
        let spaced = Quota::with_period(Duration::from_millis(105))
            .expect("period")
            .allow_burst(NonZeroU32::MIN);
        let (first, second) = admitted_in_a_fixed_second(spaced);
        assert!(first <= 10 && second <= 10, "{first} {second}");
        // Steady 150/min as a GCRA: 150 at once plus the refill, far over 150 in a minute.
        let clock = FakeRelativeClock::default();
        let rl = RateLimiter::direct_with_clock(
            Quota::per_minute(NonZeroU32::new(150).expect("150")),
            clock.clone(),
        );
        let mut in_first_minute = 0;
        for _ in 0..60_000 {
            while rl.check().is_ok() {
                in_first_minute += 1;
            }
            clock.advance(Duration::from_millis(1));
        }
        assert!(in_first_minute > 290, "{in_first_minute}");
    }

    fn steady(limit: u32) -> Steady {
        Steady {
            limit,
            remaining: limit,
            window_end: None,
            generation: 0,
            in_flight: 0,
            answered: true,
            blocked_until: None,
        }
    }

    #[test]
    fn steady_budget_follows_the_server_headers() {
        let slack = Duration::from_secs(1);
        let mut s = steady(150);
        let t0 = Instant::now();
        for _ in 0..3 {
            s.try_reserve(t0, slack).ok().expect("room");
        }
        // The server says 10 left for 20 s (another client used the rest).
        s.answered(
            t0,
            Some(RateHeaders {
                limit: Some(150),
                remaining: 10,
                reset: Duration::from_secs(20),
            }),
            slack,
        );
        // 2 still in flight: 8 more may go.
        for _ in 0..8 {
            s.try_reserve(t0, slack).ok().expect("room");
        }
        assert!(s.try_reserve(t0, slack).is_err());
        for _ in 0..10 {
            s.answered(t0, None, slack);
        }
        match s.try_reserve(t0, slack) {
            Err(Wait::Until(t)) => assert_eq!(t, t0 + Duration::from_secs(21)),
            _ => panic!("expected to wait for the window's end"),
        }
        // After the reset a full window opens.
        let t1 = t0 + Duration::from_secs(21);
        s.try_reserve(t1, slack).ok().expect("new window");
        assert_eq!(s.remaining, 149);
    }

    #[test]
    fn a_long_429_closes_the_window_until_it_is_over() {
        let mut s = steady(150);
        let t0 = Instant::now();
        s.try_reserve(t0, Duration::ZERO).ok().expect("room");
        s.throttled(t0, Duration::from_secs(30));
        assert!(matches!(
            s.try_reserve(t0 + Duration::from_secs(29), Duration::ZERO),
            Err(Wait::Until(_))
        ));
        s.try_reserve(t0 + Duration::from_secs(30), Duration::ZERO)
            .ok()
            .expect("open again");
    }

    #[test]
    fn headers_are_parsed_leniently() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("RateLimit-Limit", "150, 150;w=60".parse().expect("v"));
        h.insert("RateLimit-Remaining", "42".parse().expect("v"));
        h.insert("RateLimit-Reset", "17".parse().expect("v"));
        assert_eq!(
            parse_headers(&h),
            Some(RateHeaders {
                limit: Some(150),
                remaining: 42,
                reset: Duration::from_secs(17)
            })
        );
        h.remove("RateLimit-Reset");
        assert_eq!(parse_headers(&h), None);
    }
}
