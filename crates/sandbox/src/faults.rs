//! Fault injection: make chosen operations fail the way Klaviyo (or a proxy in front of it) can.
//!
//! # Syntax (`--fault SPEC`, [`Fault::from_str`], `POST /__sandbox/faults`)
//!
//! ```text
//! SPEC    := TARGET "=" PLAN
//!          | "revoke:" KEY "@after:" N [":" TARGET]
//! TARGET  := operationId                    e.g. bulk_import_profiles
//!          | METHOD " " PATH                e.g. POST /api/profile-bulk-import-jobs
//!          | "*"                            every API operation
//! PLAN    := ACTION "@" P ["," ACTION "@" P]...   each request: ACTION with probability P (0..=1)
//!          | "seq:" ACTION ["," ACTION]...        the n-th request gets the n-th action, then ok
//! ACTION  := ok | 500 | 503 | 504          JSON:API error document with that status
//!          | html502 | html503 | html504 | html524   text/html body, like a proxy's
//!          | 429[:SECS]                    a `throttled` answer (Retry-After SECS, default 1)
//!          | 429:none                      a `throttled` answer with no Retry-After and no time
//!                                        in its detail (a gateway's bare 429)
//!          | 429:raw:TEXT                  a `throttled` answer whose Retry-After is TEXT as it is
//!                                        (`1e20`, `-5`, `NaN`: a broken or hostile server) and
//!                                        no time in its detail; TEXT has no `,` or `@`
//!          | drop                          close the connection without answering
//!          | slow:MS                       wait MS milliseconds, then answer normally
//!          | revoke                        revoke the request's key: this and later requests 401
//!          | echo_key                      a JSON:API 400 whose detail quotes the request's API key
//!                                        (a proxy or API that repeats what it was sent: the
//!                                        client must never print or store that text unredacted)
//! ```
//!
//! `revoke:pk_x@after:5:bulk_import_profiles` answers the first 5 requests to
//! `bulk_import_profiles` normally and revokes `pk_x` at the 6th (that request and every later one
//! made with `pk_x`, to any operation, gets 401). Without `:TARGET` every API request counts.
//!
//! Faults act before authentication and rate limiting (as a proxy would); a request that gets an
//! injected failure is not processed. Several faults may match one request: each counts the
//! request, and the first one (in the order given) whose action is not `ok` decides.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use segport_klaviyo::spec::Operation;

/// What happens to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Answer normally.
    Ok,
    /// A JSON:API error document with this 5xx status.
    Status(u16),
    /// A text/html error page with this status (502, 503, 504 or 524), like a proxy's.
    Html(u16),
    /// 429 `throttled` with `Retry-After` of this many seconds.
    Throttle(u64),
    /// 429 `throttled` with no hint at all: no `Retry-After`, no "Expected available in N
    /// seconds" in the detail. Klaviyo's 429 does not always carry `Retry-After` (API.md); this
    /// is the worst case, where the client must pick its own backoff.
    ThrottleBare,
    /// 429 `throttled` whose `Retry-After` is this text, as it is (printable ASCII), and no time
    /// in the detail: what a client does with `1e20`, `99999999999999999999`, `-5` or `NaN`.
    ThrottleRaw(String),
    /// Close the connection without answering.
    Drop,
    /// Wait, then answer normally.
    Slow(Duration),
    /// Revoke the request's key (this request and later ones get 401).
    Revoke,
    /// A 400 `invalid` whose detail quotes the request's API key.
    EchoKey,
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultTarget {
    /// Every API operation.
    Any,
    /// An operationId from the spec, e.g. `bulk_import_profiles`.
    Operation(String),
    /// A method and the spec's path pattern, e.g. `GET /api/lists/{id}`.
    Route { method: String, path: String },
}

impl FaultTarget {
    pub(crate) fn matches(&self, op: &Operation) -> bool {
        match self {
            FaultTarget::Any => true,
            FaultTarget::Operation(id) => op.id == id,
            FaultTarget::Route { method, path } => {
                op.method.eq_ignore_ascii_case(method) && op.path == path
            }
        }
    }
}

/// How a fault picks the action for each matching request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultPlan {
    /// Each request independently: the first action whose cumulative probability exceeds a
    /// random draw, else `Ok`.
    Random(Vec<(FaultAction, f64)>),
    /// The n-th matching request gets the n-th action; after the sequence, `Ok`.
    Sequence(Vec<FaultAction>),
    /// After `after` matching requests, `key` is revoked.
    RevokeAfter { key: String, after: u64 },
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub target: FaultTarget,
    pub plan: FaultPlan,
}

/// Why a fault spec could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultParseError {
    #[error("fault `{0}`: expected TARGET=PLAN or revoke:KEY@after:N[:TARGET]")]
    Shape(String),
    #[error("fault `{spec}`: unknown action `{action}` (ok, 500, 503, 504, html502, html503, html504, html524, 429[:SECS], 429:none, 429:raw:TEXT, drop, slow:MS, revoke)")]
    Action { spec: String, action: String },
    #[error("fault `{spec}`: bad number `{value}`")]
    Number { spec: String, value: String },
    #[error("fault `{spec}`: probability {value} is not between 0 and 1 (or they add up to more than 1)")]
    Probability { spec: String, value: f64 },
    #[error("fault `{spec}`: unknown operation `{target}` (use an operationId from the spec, METHOD /path, or *)")]
    Target { spec: String, target: String },
}

fn parse_target(spec: &str, t: &str) -> Result<FaultTarget, FaultParseError> {
    let t = t.trim();
    if t == "*" {
        return Ok(FaultTarget::Any);
    }
    let known = |op: &Operation, target: &FaultTarget| target.matches(op);
    let target = match t.split_once(' ') {
        Some((m, p)) => FaultTarget::Route {
            method: m.trim().to_ascii_uppercase(),
            path: p.trim().to_owned(),
        },
        None => FaultTarget::Operation(t.to_owned()),
    };
    if segport_klaviyo::spec::OPERATIONS
        .iter()
        .any(|op| known(op, &target))
    {
        Ok(target)
    } else {
        Err(FaultParseError::Target {
            spec: spec.to_owned(),
            target: t.to_owned(),
        })
    }
}

fn number<T: FromStr>(spec: &str, v: &str) -> Result<T, FaultParseError> {
    v.trim().parse().map_err(|_| FaultParseError::Number {
        spec: spec.to_owned(),
        value: v.to_owned(),
    })
}

fn parse_action(spec: &str, a: &str) -> Result<FaultAction, FaultParseError> {
    let a = a.trim();
    let bad = || FaultParseError::Action {
        spec: spec.to_owned(),
        action: a.to_owned(),
    };
    Ok(match a {
        "ok" => FaultAction::Ok,
        "500" | "503" | "504" => FaultAction::Status(number(spec, a)?),
        "html502" | "html503" | "html504" | "html524" => FaultAction::Html(number(spec, &a[4..])?),
        "429" => FaultAction::Throttle(1),
        "drop" => FaultAction::Drop,
        "revoke" => FaultAction::Revoke,
        "echo_key" => FaultAction::EchoKey,
        _ => {
            if a == "429:none" {
                FaultAction::ThrottleBare
            } else if let Some(raw) = a.strip_prefix("429:raw:") {
                // A header value: printable ASCII (the spec's own `,` and `@` cannot occur).
                if raw.is_empty() || !raw.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                    return Err(bad());
                }
                FaultAction::ThrottleRaw(raw.to_owned())
            } else if let Some(secs) = a.strip_prefix("429:") {
                FaultAction::Throttle(number(spec, secs)?)
            } else if let Some(ms) = a.strip_prefix("slow:") {
                FaultAction::Slow(Duration::from_millis(number(spec, ms)?))
            } else {
                return Err(bad());
            }
        }
    })
}

impl FromStr for Fault {
    type Err = FaultParseError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let s = spec.trim();
        let shape = || FaultParseError::Shape(spec.to_owned());
        if let Some(rest) = s.strip_prefix("revoke:") {
            let (key, rest) = rest.split_once("@after:").ok_or_else(shape)?;
            let (n, target) = match rest.split_once(':') {
                Some((n, t)) => (n, parse_target(spec, t)?),
                None => (rest, FaultTarget::Any),
            };
            if key.trim().is_empty() {
                return Err(shape());
            }
            return Ok(Fault {
                target,
                plan: FaultPlan::RevokeAfter {
                    key: key.trim().to_owned(),
                    after: number(spec, n)?,
                },
            });
        }
        let (target, plan) = s.split_once('=').ok_or_else(shape)?;
        let target = parse_target(spec, target)?;
        let plan = plan.trim();
        let plan = if let Some(seq) = plan.strip_prefix("seq:") {
            FaultPlan::Sequence(
                seq.split(',')
                    .map(|a| parse_action(spec, a))
                    .collect::<Result<_, _>>()?,
            )
        } else {
            let mut total = 0.0;
            let mut choices = Vec::new();
            for part in plan.split(',') {
                let (a, p) = part.split_once('@').ok_or_else(shape)?;
                let p: f64 = number(spec, p)?;
                total += p;
                if !(0.0..=1.0).contains(&p) || total > 1.0 + 1e-9 {
                    return Err(FaultParseError::Probability {
                        spec: spec.to_owned(),
                        value: p,
                    });
                }
                choices.push((parse_action(spec, a)?, p));
            }
            FaultPlan::Random(choices)
        };
        Ok(Fault { target, plan })
    }
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAction::Ok => write!(f, "ok"),
            FaultAction::Status(s) => write!(f, "{s}"),
            FaultAction::Html(s) => write!(f, "html{s}"),
            FaultAction::Throttle(s) => write!(f, "429:{s}"),
            FaultAction::ThrottleBare => write!(f, "429:none"),
            FaultAction::ThrottleRaw(raw) => write!(f, "429:raw:{raw}"),
            FaultAction::Drop => write!(f, "drop"),
            FaultAction::Slow(d) => write!(f, "slow:{}", d.as_millis()),
            FaultAction::Revoke => write!(f, "revoke"),
            FaultAction::EchoKey => write!(f, "echo_key"),
        }
    }
}

impl fmt::Display for FaultTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultTarget::Any => write!(f, "*"),
            FaultTarget::Operation(id) => write!(f, "{id}"),
            FaultTarget::Route { method, path } => write!(f, "{method} {path}"),
        }
    }
}

impl fmt::Display for Fault {
    /// The spec syntax, so that `s.parse::<Fault>()?.to_string()` round-trips.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.plan {
            FaultPlan::RevokeAfter { key, after } => {
                write!(f, "revoke:{key}@after:{after}")?;
                if self.target != FaultTarget::Any {
                    write!(f, ":{}", self.target)?;
                }
                Ok(())
            }
            FaultPlan::Sequence(seq) => {
                let parts: Vec<String> = seq.iter().map(ToString::to_string).collect();
                write!(f, "{}=seq:{}", self.target, parts.join(","))
            }
            FaultPlan::Random(choices) => {
                let parts: Vec<String> = choices.iter().map(|(a, p)| format!("{a}@{p}")).collect();
                write!(f, "{}={}", self.target, parts.join(","))
            }
        }
    }
}

/// A fault with its count of matching requests.
pub(crate) struct ActiveFault {
    pub fault: Fault,
    pub seen: u64,
}

/// What the gate must do for one request.
pub(crate) struct Decision {
    pub action: FaultAction,
    /// Keys to revoke before authenticating this request (`revoke:KEY@after:N`).
    pub revoke: Vec<String>,
}

/// Counts the request against every matching fault and decides its action.
pub(crate) fn decide(faults: &mut [ActiveFault], op: &Operation) -> Decision {
    let mut decision = Decision {
        action: FaultAction::Ok,
        revoke: Vec::new(),
    };
    for active in faults.iter_mut() {
        if !active.fault.target.matches(op) {
            continue;
        }
        active.seen += 1;
        let n = active.seen;
        let action = match &active.fault.plan {
            FaultPlan::Sequence(seq) => seq
                .get((n - 1) as usize)
                .cloned()
                .unwrap_or(FaultAction::Ok),
            FaultPlan::Random(choices) => {
                let draw: f64 = rand::random();
                let mut acc = 0.0;
                choices
                    .iter()
                    .find(|(_, p)| {
                        acc += p;
                        draw < acc
                    })
                    .map(|(a, _)| a.clone())
                    .unwrap_or(FaultAction::Ok)
            }
            FaultPlan::RevokeAfter { key, after } => {
                if n > *after {
                    decision.revoke.push(key.clone());
                }
                FaultAction::Ok
            }
        };
        if decision.action == FaultAction::Ok {
            decision.action = action;
        }
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_round_trip() {
        for spec in [
            "bulk_import_profiles=503@0.1",
            "bulk_import_profiles=seq:ok,503,html502,drop,slow:2000,ok",
            "POST /api/profile-bulk-import-jobs=seq:504,429:3,revoke",
            "bulk_import_profiles=seq:429:none,429:2,ok",
            "get_lists=seq:429:raw:1e20,429:raw:-5,429:raw:NaN,ok",
            "*=429:none@0.5",
            "*=500@0.25,drop@0.5",
            "revoke:pk_x@after:5:bulk_import_profiles",
            "revoke:pk_x@after:0",
        ] {
            let f: Fault = spec.parse().expect(spec);
            assert_eq!(f.to_string(), spec);
        }
    }

    #[test]
    fn a_bare_429_is_its_own_action() {
        let f: Fault = "get_lists=seq:429:none,429,429:7".parse().unwrap();
        assert_eq!(
            f.plan,
            FaultPlan::Sequence(vec![
                FaultAction::ThrottleBare,
                FaultAction::Throttle(1),
                FaultAction::Throttle(7),
            ])
        );
        assert!(matches!(
            "get_lists=seq:429:never".parse::<Fault>(),
            Err(FaultParseError::Number { .. })
        ));
    }

    #[test]
    fn a_raw_retry_after_is_sent_as_written() {
        let f: Fault = "get_lists=seq:429:raw:99999999999999999999,429:raw:inf"
            .parse()
            .unwrap();
        assert_eq!(
            f.plan,
            FaultPlan::Sequence(vec![
                FaultAction::ThrottleRaw("99999999999999999999".into()),
                FaultAction::ThrottleRaw("inf".into()),
            ])
        );
        let echo: Fault = "*=echo_key@1".parse().unwrap();
        assert_eq!(echo.to_string(), "*=echo_key@1");
        for bad in ["get_lists=seq:429:raw:", "get_lists=seq:429:raw:a\u{7}b"] {
            assert!(
                matches!(bad.parse::<Fault>(), Err(FaultParseError::Action { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_specs_are_rejected() {
        assert!(matches!(
            "no_such_op=503@0.1".parse::<Fault>(),
            Err(FaultParseError::Target { .. })
        ));
        assert!(matches!(
            "get_lists=seq:ok,418".parse::<Fault>(),
            Err(FaultParseError::Action { .. })
        ));
        assert!(matches!(
            "get_lists=500@0.7,drop@0.7".parse::<Fault>(),
            Err(FaultParseError::Probability { .. })
        ));
        assert!(matches!(
            "get_lists".parse::<Fault>(),
            Err(FaultParseError::Shape(_))
        ));
        assert!(matches!(
            "get_lists=slow:abc@1".parse::<Fault>(),
            Err(FaultParseError::Number { .. })
        ));
    }
}
