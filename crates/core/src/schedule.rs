//! Export schedules: `manual`, `every N hours`, or `daily at HH:MM` (local time).
//!
//! A schedule is due when its next time after the last run has passed. A missed schedule (the
//! laptop was asleep, the app closed) runs once when next checked, not once per missed slot:
//! the next time is always computed from the last run, never accumulated.
//!
//! Daylight saving time: a daily time that a spring-forward gap skips (02:30 on the last Sunday
//! of March in Europe) runs at the first instant after the gap that day (03:00); one that a
//! fall-back repeats runs once, at the earlier of the two.

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(export)]
pub enum Schedule {
    Manual,
    /// Every N hours after the last run.
    Every {
        hours: u32,
    },
    /// Every day at this local time (`HH:MM`).
    Daily {
        #[ts(type = "string")]
        at: NaiveTime,
    },
}

/// Text that is not a schedule (its message: `ErrorCode::ScheduleInvalid`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub struct ScheduleError {
    pub text: String,
}

impl Schedule {
    /// Parse the text form used in config files and the CLI.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let err = || ScheduleError {
            text: text.to_string(),
        };
        let t = text.trim().to_ascii_lowercase();
        if t.is_empty() || t == "manual" {
            return Ok(Schedule::Manual);
        }
        if let Some(rest) = t.strip_prefix("every ") {
            let n = rest
                .trim()
                .trim_end_matches("hours")
                .trim_end_matches("hour")
                .trim_end_matches('h')
                .trim();
            let hours: u32 = n.parse().map_err(|_| err())?;
            if !(1..=720).contains(&hours) {
                return Err(err());
            }
            return Ok(Schedule::Every { hours });
        }
        if let Some(rest) = t.strip_prefix("daily ") {
            let rest = rest.trim().trim_start_matches("at ").trim();
            let at = NaiveTime::parse_from_str(rest, "%H:%M").map_err(|_| err())?;
            return Ok(Schedule::Daily { at });
        }
        Err(err())
    }

    /// When the export should run next, given when it last started (or was created, if never
    /// run). `None` for manual exports.
    pub fn next_after<Tz: TimeZone>(&self, last: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
        match *self {
            Schedule::Manual => None,
            Schedule::Every { hours } => Some(last + Duration::hours(i64::from(hours))),
            Schedule::Daily { at } => {
                let local = last.with_timezone(tz);
                let mut day = local.date_naive();
                loop {
                    let candidate = at_or_after_gap(tz, day.and_time(at));
                    if let Some(c) = candidate {
                        if c > last {
                            return Some(c);
                        }
                    }
                    day = day.succ_opt()?;
                }
            }
        }
    }

    /// Is a run due at `now`?
    pub fn is_due<Tz: TimeZone>(&self, last: DateTime<Utc>, now: DateTime<Utc>, tz: &Tz) -> bool {
        self.next_after(last, tz).is_some_and(|next| next <= now)
    }
}

/// The instant a local time stands for: the earliest when the time happens twice (fall back),
/// or, when it does not happen at all (in a spring-forward gap), the first instant after the gap
/// on the same day. `None` only if no time of that day from `local` on exists.
fn at_or_after_gap<Tz: TimeZone>(tz: &Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let resolve = |t: NaiveDateTime| {
        tz.from_local_datetime(&t)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
    };
    if let Some(d) = resolve(local) {
        return Some(d);
    }
    // In a gap (at most hours long): the first minute after it, then within the minute before
    // that the first second (time zone transitions fall on whole seconds).
    let day = local.date();
    let mut minute = local;
    let found = loop {
        minute = minute.checked_add_signed(Duration::minutes(1))?;
        if minute.date() != day {
            return None;
        }
        if let Some(d) = resolve(minute) {
            break d;
        }
    };
    (1..60)
        .rev()
        .filter_map(|s| minute.checked_sub_signed(Duration::seconds(s)))
        .filter(|t| *t > local)
        .find_map(resolve)
        .or(Some(found))
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Manual => f.write_str("manual"),
            Schedule::Every { hours } => write!(f, "every {hours}h"),
            Schedule::Daily { at } => write!(f, "daily {}", at.format("%H:%M")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_and_prints_the_text_form() {
        for (text, printed) in [
            ("manual", "manual"),
            ("", "manual"),
            ("every 6h", "every 6h"),
            ("Every 12 hours", "every 12h"),
            ("daily 09:30", "daily 09:30"),
            ("daily at 7:05", "daily 07:05"),
        ] {
            let s = Schedule::parse(text).unwrap();
            assert_eq!(s.to_string(), printed);
            assert_eq!(Schedule::parse(&s.to_string()).unwrap(), s);
        }
        for bad in [
            "weekly",
            "every 0h",
            "every 1000h",
            "daily 25:00",
            "every x",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_n_hours_counts_from_the_last_run() {
        let s = Schedule::parse("every 6h").unwrap();
        let last = t("2026-11-25T08:00:00Z");
        assert!(!s.is_due(last, t("2026-11-25T13:59:59Z"), &Utc));
        assert!(s.is_due(last, t("2026-11-25T14:00:00Z"), &Utc));
    }

    #[test]
    fn daily_uses_local_time_and_a_missed_day_runs_once() {
        let warsaw = FixedOffset::east_opt(3600).unwrap();
        let s = Schedule::parse("daily 09:30").unwrap();
        // Last ran Monday 09:30 local (08:30 UTC); the laptop slept until Thursday noon.
        let last = t("2026-11-23T08:30:00Z");
        assert_eq!(s.next_after(last, &warsaw), Some(t("2026-11-24T08:30:00Z")));
        let thursday = t("2026-11-26T11:00:00Z");
        assert!(s.is_due(last, thursday, &warsaw));
        // It runs once at Thursday noon; the next time is Friday 09:30, not the missed days.
        assert_eq!(
            s.next_after(thursday, &warsaw),
            Some(t("2026-11-27T08:30:00Z"))
        );
        assert!(!s.is_due(thursday, t("2026-11-26T23:00:00Z"), &warsaw));
    }

    #[test]
    fn a_daily_time_in_the_spring_forward_gap_runs_when_the_gap_ends_that_day() {
        let warsaw = chrono_tz::Europe::Warsaw;
        let s = Schedule::parse("daily 02:30").unwrap();
        // Sunday 2026-03-29, the last of March: at 02:00 CET (01:00 UTC) clocks jump to 03:00
        // CEST, so 02:30 does not exist that day. Last run: Saturday 02:30 CET.
        let saturday = t("2026-03-28T01:30:00Z");
        let gap_end = t("2026-03-29T01:00:00Z"); // 03:00 CEST
        assert_eq!(s.next_after(saturday, &warsaw), Some(gap_end));
        assert!(!s.is_due(saturday, t("2026-03-29T00:59:59Z"), &warsaw));
        assert!(s.is_due(saturday, gap_end, &warsaw));
        // Run at 03:00 (or a minute later, when the scheduler looked): next is Monday 02:30.
        let monday = t("2026-03-30T00:30:00Z");
        assert_eq!(s.next_after(gap_end, &warsaw), Some(monday));
        assert_eq!(
            s.next_after(t("2026-03-29T01:01:00Z"), &warsaw),
            Some(monday)
        );
        // Every time of the gap runs at 03:00 that Sunday; 03:00 itself is a plain time.
        let saturday_late = t("2026-03-28T02:30:00Z"); // 03:30 CET
        for at in ["daily 02:00", "daily 02:59", "daily 03:00"] {
            let s = Schedule::parse(at).unwrap();
            assert_eq!(s.next_after(saturday_late, &warsaw), Some(gap_end), "{at}");
        }
    }

    #[test]
    fn a_daily_time_repeated_by_the_fall_back_runs_once_at_the_earliest() {
        let warsaw = chrono_tz::Europe::Warsaw;
        let s = Schedule::parse("daily 02:30").unwrap();
        // Sunday 2026-10-25: at 03:00 CEST (01:00 UTC) clocks go back to 02:00 CET, so 02:30
        // happens twice: 00:30 UTC (CEST) and 01:30 UTC (CET).
        let saturday = t("2026-10-24T00:30:00Z");
        let first = t("2026-10-25T00:30:00Z");
        assert_eq!(s.next_after(saturday, &warsaw), Some(first));
        // Having run at the first 02:30, the second one is not a run: next is Monday 02:30 CET.
        let monday = t("2026-10-26T01:30:00Z");
        assert_eq!(s.next_after(first, &warsaw), Some(monday));
        assert!(!s.is_due(first, t("2026-10-25T01:30:00Z"), &warsaw));
        assert!(!s.is_due(first, t("2026-10-26T01:29:59Z"), &warsaw));
        assert!(s.is_due(first, monday, &warsaw));
    }

    #[test]
    fn manual_is_never_due() {
        assert!(!Schedule::Manual.is_due(t("2020-01-01T00:00:00Z"), Utc::now(), &Utc));
    }
}
