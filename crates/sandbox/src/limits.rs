//! Klaviyo's rate limits: per account (every key of the sandbox is one account) and per operation,
//! with the numbers of the spec's `x-klaviyo-ratelimit` (via `segport_klaviyo::spec`). Two fixed
//! windows count at once — burst (1 s) and steady (1 min) — plus a daily window where the spec
//! gives one (creating lists: 150 a day).
//!
//! A window starts at the first request counted in it and lasts its length; the next request after
//! that opens a new one. (Anchoring at the first request rather than at wall-clock seconds makes
//! "the 11th call within a second" deterministic.) Rejected requests are not counted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use segport_klaviyo::spec::Operation;

/// Whether the burst and steady limits are enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Limits {
    /// No burst/steady limits and no `RateLimit-*` headers (benchmarks, the demo).
    #[default]
    Off,
    /// Klaviyo's limits from the spec, with `RateLimit-*` headers on every non-429 answer.
    Real,
}

#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

impl Window {
    fn roll(&mut self, now: Instant, len: Duration) {
        if now.duration_since(self.start) >= len {
            self.start = now;
            self.count = 0;
        }
    }

    /// Whole seconds (at least 1) until the window ends.
    fn secs_left(&self, now: Instant, len: Duration) -> u64 {
        let left = (self.start + len).saturating_duration_since(now);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        secs.max(1)
    }
}

#[derive(Clone, Copy)]
struct OpWindows {
    burst: Window,
    steady: Window,
    daily: Window,
}

/// `RateLimit-*` header values for the steady window.
#[derive(Debug, Clone, Copy)]
pub struct Headers {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

/// The outcome of [`RateLimiter::check`].
pub enum Verdict {
    /// Counted; headers to add (none with limits off or for an operation without limits).
    Allowed(Option<Headers>),
    /// Over a limit: answer 429, available again in this many seconds.
    Throttled(u64),
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

pub struct RateLimiter {
    limits: Limits,
    /// Daily caps are enforced in both modes (they are part of what an endpoint does, e.g. the
    /// 151st list of the day fails even on a sandbox started for speed).
    daily_caps: bool,
    windows: Mutex<HashMap<&'static str, OpWindows>>,
}

impl RateLimiter {
    pub fn new(limits: Limits, daily_caps: bool) -> Self {
        RateLimiter {
            limits,
            daily_caps,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, op: &Operation) -> Verdict {
        let real = self.limits == Limits::Real;
        let day_cap = op.per_day.filter(|_| self.daily_caps);
        if !real && day_cap.is_none() {
            return Verdict::Allowed(None);
        }
        let now = Instant::now();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = Window {
            start: now,
            count: 0,
        };
        let w = map.entry(op.id).or_insert(OpWindows {
            burst: fresh,
            steady: fresh,
            daily: fresh,
        });
        w.burst.roll(now, SECOND);
        w.steady.roll(now, MINUTE);
        w.daily.roll(now, DAY);
        let mut wait = 0u64;
        if real {
            if op.burst_per_second > 0 && w.burst.count >= op.burst_per_second {
                wait = wait.max(w.burst.secs_left(now, SECOND));
            }
            if op.steady_per_minute > 0 && w.steady.count >= op.steady_per_minute {
                wait = wait.max(w.steady.secs_left(now, MINUTE));
            }
        }
        if let Some(cap) = day_cap {
            if w.daily.count >= cap {
                wait = wait.max(w.daily.secs_left(now, DAY));
            }
        }
        if wait > 0 {
            return Verdict::Throttled(wait);
        }
        w.burst.count += 1;
        w.steady.count += 1;
        w.daily.count += 1;
        let headers = (real && op.steady_per_minute > 0).then(|| Headers {
            limit: op.steady_per_minute,
            remaining: op.steady_per_minute.saturating_sub(w.steady.count),
            reset_secs: w.steady.secs_left(now, MINUTE),
        });
        Verdict::Allowed(headers)
    }
}
