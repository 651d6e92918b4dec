//! Crash-test hook (crates/cli/tests/crash.rs), off unless the environment sets it.
//!
//! A module of its own so that the engine, the store and the workspace can all stop at a named
//! point without depending on one another.
//!
//! `SEGPORT_TEST_PAUSE_AT=POINT:N` freezes the process the N-th time it reaches POINT: it
//! prints `segport-test-paused POINT:N` on stderr and sleeps for ever, so that a test can kill
//! it there with SIGKILL. Points: `read` (the N-th source row has just been read), `checkpoint`
//! (inside the N-th `Store::record_job` transaction, before it commits: Klaviyo has accepted
//! the batch but the checkpoint does not hold it yet), `job-complete` (inside the N-th
//! `Store::complete_job` transaction) and `planned` (the run is recorded and owned, before
//! anything is read or sent). The variable is read once; unset, a call costs one atomic load.
//! A release build never reads it: the hook exists only in debug builds (tests).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The environment variable that names the point and the count (`POINT:N`).
const ENV: &str = "SEGPORT_TEST_PAUSE_AT";

/// Freeze here if `SEGPORT_TEST_PAUSE_AT` names `point` and this is its N-th visit.
pub(crate) fn pause_at(point: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    static PAUSE: OnceLock<Option<(String, u64, AtomicU64)>> = OnceLock::new();
    let pause = PAUSE.get_or_init(|| {
        let v = std::env::var(ENV).ok()?;
        let (p, n) = v.rsplit_once(':')?;
        Some((p.to_owned(), n.parse().ok()?, AtomicU64::new(0)))
    });
    let Some((p, n, seen)) = pause else { return };
    if p == point && seen.fetch_add(1, Ordering::SeqCst) + 1 == *n {
        use std::io::Write;
        // Nothing to do if stderr is gone: the test then sees a process that never answers.
        let _ = writeln!(std::io::stderr(), "segport-test-paused {point}:{n}");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}
