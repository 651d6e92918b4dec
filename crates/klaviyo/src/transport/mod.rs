//! The one request path every endpoint goes through ([`Client::send`]): the rate limiter of the
//! request's operation (see `limiter.rs`), sending, retries per [`RetryPolicy`] (`retry`),
//! cancellation, and the mapping of answers to [`Error`] (`errors`).

pub(crate) mod errors;
pub(crate) mod request;
pub(crate) mod retry;

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, Url};

use crate::{jsonapi, limiter, Client, Error};
use errors::{status_error, transport_error};
pub(crate) use request::Request;
pub use retry::RetryPolicy;
use retry::{parse_retry_after, Retry};

/// A failed attempt: the error, whether it may be retried, and what the answer (if any) said
/// about the rate limit.
struct Failure {
    error: Error,
    retry: Retry,
    rate: Option<limiter::RateHeaders>,
    /// Whether an HTTP answer arrived (as opposed to a network failure).
    answered: bool,
}

impl Client {
    /// Sends `req`: waits for the rate limiter of its operation, sends, retries per
    /// [`RetryPolicy`], maps answers to [`Error`]. Returns the body of a 2xx answer.
    pub(crate) async fn send(&self, req: &Request) -> Result<bytes::Bytes, Error> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let method = req.method();
        let path = req.path.as_str();
        let url = req.url(&self.inner.base);
        let limiter = self.limits.op(req.op.id);
        debug_assert!(
            limiter.is_some(),
            "{} is not an operation of the spec",
            req.op.id
        );
        let policy = &self.inner.retry;
        // Attempts so far (the first included), failures other than 429 among them, 429s, and
        // when the first 429 came.
        let mut attempt: u32 = 1;
        let mut failures: u32 = 0;
        let mut throttles: u32 = 0;
        let mut throttled_since: Option<tokio::time::Instant> = None;
        loop {
            let mut permit = match &limiter {
                Some(l) => {
                    // What is left of this request's time for waiting out 429s.
                    let budget = policy
                        .max_retry_after
                        .saturating_sub(throttled_since.map_or(Duration::ZERO, |t| t.elapsed()));
                    let (permit, waited) = l.acquire(&self.cancel, budget).await?;
                    self.stats.update(|s| {
                        s.limiter_wait += waited;
                        s.requests += 1;
                        s.retries += u64::from(attempt > 1);
                    });
                    Some(permit)
                }
                None => {
                    self.stats.update(|s| {
                        s.requests += 1;
                        s.retries += u64::from(attempt > 1);
                    });
                    None
                }
            };
            if let Some(p) = permit.as_mut() {
                p.sent();
            }
            // A call that changes something in Klaviyo (a bulk import, a new list) is not
            // abandoned once sent: its answer says whether Klaviyo acted on it, and a caller
            // that checkpoints acknowledged work must see it (a cancelled export would otherwise
            // send an accepted batch again when resumed). It ends within the request timeout.
            // A read is abandoned at once.
            let outcome = if method == Method::GET {
                tokio::select! {
                    _ = self.cancel.cancelled() => return Err(Error::Cancelled),
                    r = self.send_once(&method, &url, req.body.clone()) => r,
                }
            } else {
                self.send_once(&method, &url, req.body.clone()).await
            };
            let Failure {
                error,
                retry,
                rate,
                answered,
            } = match outcome {
                Ok((bytes, rate)) => {
                    if let Some(p) = permit {
                        p.answered(rate);
                    }
                    return Ok(bytes);
                }
                Err(failure) => failure,
            };
            let throttled_for = match &error {
                Error::RateLimited { retry_after } => {
                    throttles += 1;
                    Some(retry_after.unwrap_or_else(|| policy.backoff(throttles)))
                }
                _ => {
                    failures += 1;
                    None
                }
            };
            self.stats.update(|s| match &error {
                Error::RateLimited { .. } => s.throttled += 1,
                Error::Server { .. } => s.server_errors += 1,
                Error::Timeout | Error::Unreachable { .. } => s.network_errors += 1,
                _ => {}
            });
            match (permit, throttled_for) {
                (Some(p), Some(wait)) => p.throttled(wait),
                (Some(p), None) if answered => p.answered(rate),
                (p, _) => drop(p),
            }
            let may_retry = match retry {
                Retry::Safe(_) => true,
                Retry::IfIdempotent => req.idempotent,
                Retry::No => false,
            };
            // For support: the operation and Klaviyo's error code (never headers, bodies or
            // query strings, which may hold emails).
            let give_up = |error: Error| {
                tracing::warn!(%method, path, attempt, code = error.code(), "Klaviyo request failed");
                Err(error)
            };
            let out_of_attempts = match throttled_for {
                // Bounded by time: the waits of this request's 429s so far, and this one.
                Some(wait) => {
                    let since = *throttled_since.get_or_insert_with(tokio::time::Instant::now);
                    policy.max_attempts <= 1 || since.elapsed() + wait > policy.max_retry_after
                }
                None => failures >= policy.max_attempts,
            };
            if !may_retry || out_of_attempts {
                return give_up(error);
            }
            let delay = match (throttled_for, &retry) {
                // The limiter holds every request of this operation back until then.
                (Some(_), _) if limiter.is_some() => Duration::ZERO,
                (Some(d), _) => d,
                (None, Retry::Safe(Some(d))) => *d,
                (None, _) => policy.backoff(failures),
            };
            tracing::warn!(%method, path, attempt, code = error.code(), delay_ms = delay.as_millis() as u64, "Klaviyo request failed; retrying");
            if !delay.is_zero() {
                self.sleep(delay).await?;
            }
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        body: Option<bytes::Bytes>,
    ) -> Result<(bytes::Bytes, Option<limiter::RateHeaders>), Failure> {
        let network = |e: &reqwest::Error| {
            let (error, retry) = transport_error(e, url);
            Failure {
                error,
                retry,
                rate: None,
                answered: false,
            }
        };
        let mut req = self.http.request(method.clone(), url.clone());
        if let Some(body) = body {
            req = req.header(CONTENT_TYPE, jsonapi::MEDIA_TYPE).body(body);
        }
        let resp = req.send().await.map_err(|e| network(&e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let rate = limiter::parse_headers(resp.headers());
        let bytes = resp.bytes().await.map_err(|e| network(&e))?;
        tracing::debug!(%method, path = url.path(), status = status.as_u16(), "Klaviyo answered");
        if status.is_success() {
            return Ok((bytes, rate));
        }
        let (error, retry) = status_error(status, &bytes, retry_after);
        Err(Failure {
            error,
            retry,
            rate,
            answered: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::{ApiKey, Client, Error, RetryPolicy};

    #[tokio::test]
    async fn a_hostile_retry_after_stops_the_call_with_the_resumable_rate_limit_error() {
        for v in ["1e20", "99999999999999999999", "inf"] {
            let (url, count) = answering(move |_| {
                reply(
                    "429 Too Many Requests",
                    &format!("retry-after: {v}\r\n"),
                    BARE_429,
                )
            })
            .await;
            let c = Client::new(&url, ApiKey::new(format!("pk_hostile_{v}")))
                .expect("client")
                .with_retry_policy(quick_policy(Duration::from_secs(1)));
            let started = std::time::Instant::now();
            let err = c.get_lists(None).await.expect_err("rate limited");
            assert!(
                matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(86_400)),
                "{v}: {err:?}"
            );
            assert_eq!(err.code(), "klaviyo.rate_limited", "{v}");
            assert!(started.elapsed() < Duration::from_secs(2), "{v}");
            assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1, "{v}");
        }
        // Not a delay at all: as if there were no Retry-After (the policy's backoff).
        for v in ["-5", "NaN"] {
            let (url, count) = answering(move |n| {
                if n == 0 {
                    reply(
                        "429 Too Many Requests",
                        &format!("retry-after: {v}\r\n"),
                        BARE_429,
                    )
                } else {
                    reply("200 OK", "", NO_LISTS)
                }
            })
            .await;
            let c = Client::new(&url, ApiKey::new(format!("pk_nonsense_{v}")))
                .expect("client")
                .with_retry_policy(quick_policy(Duration::from_secs(10)));
            c.get_lists(None).await.expect("retried after a backoff");
            assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2, "{v}");
        }
    }

    /// A local server that answers the n-th request (from 0) with `answer(n)`, one request a
    /// connection. Returns its URL and the number of requests so far.
    async fn answering(
        answer: impl Fn(u64) -> String + Send + Sync + 'static,
    ) -> (String, Arc<std::sync::atomic::AtomicU64>) {
        use std::sync::atomic::{AtomicU64, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let count = Arc::new(AtomicU64::new(0));
        let (seen, answer) = (count.clone(), Arc::new(answer));
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let reply = answer(n);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => head.extend_from_slice(&buf[..k]),
                        }
                    }
                    let _ = conn.write_all(reply.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        (url, count)
    }

    fn reply(status: &str, headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/vnd.api+json\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    const BARE_429: &str = r#"{"errors":[{"status":429,"code":"throttled","title":"Request was throttled.","detail":"Request was throttled."}]}"#;
    const NO_LISTS: &str = r#"{"data":[],"links":{"self":"x","next":null}}"#;

    fn quick_policy(max_retry_after: Duration) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after,
        }
    }

    #[tokio::test]
    async fn a_429_storm_longer_than_max_attempts_is_waited_out() {
        // Nine 429s in a row, three attempts allowed: 429s were never processed, so they do not
        // use up attempts (before, the third 429 ended the call).
        let (url, count) = answering(|n| {
            if n < 9 {
                reply("429 Too Many Requests", "retry-after: 0\r\n", BARE_429)
            } else {
                reply("200 OK", "", NO_LISTS)
            }
        })
        .await;
        let c = Client::new(&url, ApiKey::new("pk_storm".into()))
            .expect("client")
            .with_retry_policy(quick_policy(Duration::from_secs(10)));
        c.get_lists(None).await.expect("the storm is waited out");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 10);
        let stats = c.stats();
        assert_eq!((stats.requests, stats.throttled, stats.retries), (10, 9, 9));
    }

    #[tokio::test]
    async fn a_429_that_never_ends_backs_off_and_gives_up_after_max_retry_after() {
        let (url, count) = answering(|_| reply("429 Too Many Requests", "", BARE_429)).await;
        let c = Client::new(&url, ApiKey::new("pk_forever".into()))
            .expect("client")
            .with_retry_policy(quick_policy(Duration::from_millis(600)));
        let started = std::time::Instant::now();
        let err = c.get_lists(None).await.expect_err("rate limited");
        let elapsed = started.elapsed();
        assert!(
            matches!(err, Error::RateLimited { retry_after: None }),
            "{err:?}"
        );
        let n = count.load(std::sync::atomic::Ordering::SeqCst);
        // Backing off (10 ms doubling to 50 ms, plus the limiter's jitter), not spinning; and
        // it ends once the 429s have lasted about max_retry_after.
        assert!((4..=60).contains(&n), "{n} requests");
        assert!(
            elapsed >= Duration::from_millis(500) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
    }

    #[tokio::test]
    async fn requests_held_back_by_a_429_longer_than_the_policy_allows_give_up_at_once() {
        let (url, count) = answering(|n| {
            if n == 0 {
                reply("429 Too Many Requests", "retry-after: 30\r\n", BARE_429)
            } else {
                reply("200 OK", "", NO_LISTS)
            }
        })
        .await;
        let c = Client::new(&url, ApiKey::new("pk_long".into()))
            .expect("client")
            .with_retry_policy(quick_policy(Duration::from_secs(1)));
        let started = std::time::Instant::now();
        let err = c.get_lists(None).await.expect_err("asked for 30 s");
        assert!(
            matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(30)),
            "{err:?}"
        );
        // The next request of the operation would wait ~30 s in the limiter: it gives up
        // without being sent, instead of hanging there for half a minute.
        let err = c.get_lists(None).await.expect_err("still blocked");
        assert!(
            matches!(err, Error::RateLimited { retry_after: Some(d) } if d > Duration::from_secs(28)),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn max_attempts_still_bounds_server_errors() {
        let (url, count) = answering(|_| reply("503 Service Unavailable", "", "{}")).await;
        let c = Client::new(&url, ApiKey::new("pk_503".into()))
            .expect("client")
            .with_retry_policy(quick_policy(Duration::from_secs(10)));
        let err = c.get_lists(None).await.expect_err("503");
        assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
    }
}
