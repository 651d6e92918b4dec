//! The Klaviyo API client Segport uses (revision [`REVISION`]). No Tauri.
//!
//! Every request goes through one function ([`Client`]'s private `request`): headers, retries
//! with backoff, and the mapping of answers to [`Error`] live there, so rate limiting can be
//! added in one place.
//!
//! The API key is held in [`ApiKey`]; [`ApiKey::expose`] is the only way to read it, and it is
//! called in exactly one place (building the Authorization header, marked sensitive).

mod error;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use error::{ApiError, Error};

/// The API revision this client is written and tested against (pinned).
pub const REVISION: &str = "2026-07-15";
/// Production base URL.
pub const DEFAULT_BASE_URL: &str = "https://a.klaviyo.com";
/// Limits of one bulk profile import job.
pub const MAX_PROFILES_PER_JOB: usize = 10_000;
pub const MAX_JOB_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_PROFILE_BYTES: usize = 100 * 1024;

const JSON_API: &str = "application/vnd.api+json";

/// A Klaviyo private API key. Its `Debug` prints `ApiKey(***)`; it cannot be serialized.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    pub fn new(key: String) -> Self {
        ApiKey(SecretString::from(key))
    }

    /// The key itself. The only way to read it: grep for `expose(` to audit every use.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// The account a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    /// `contact_information.organization_name`.
    pub name: String,
}

/// A Klaviyo list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    pub id: String,
    pub name: String,
}

/// Status of a bulk profile import job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Processing,
    Complete,
    Cancelled,
    Other(String),
}

impl JobStatus {
    fn parse(s: &str) -> Self {
        match s {
            "queued" => JobStatus::Queued,
            "processing" => JobStatus::Processing,
            "complete" => JobStatus::Complete,
            "cancelled" => JobStatus::Cancelled,
            other => JobStatus::Other(other.to_owned()),
        }
    }
}

/// A bulk profile import job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub status: JobStatus,
    pub total_count: u64,
    pub completed_count: u64,
    pub failed_count: u64,
}

impl Job {
    /// `complete` or `cancelled`: the job will not change any more.
    pub fn is_finished(&self) -> bool {
        matches!(self.status, JobStatus::Complete | JobStatus::Cancelled)
    }
}

/// How failed requests are retried (idempotent requests only, plus 429s and refused
/// connections, which never reached Klaviyo).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. 1 disables retries.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time (with jitter), up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A 429 whose Retry-After is longer than this is returned at once as `RateLimited`.
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
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter_ms = rand::rng().random_range(0..=half.as_millis().min(u64::MAX as u128) as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// Bytes of a bulk import request body around the profiles. For `n` profiles:
/// `body_len = bulk_import_envelope_len(list_id) + sum(profile lens) + (n - 1)` (commas).
pub fn bulk_import_envelope_len(list_id: &str) -> usize {
    let (prefix, suffix) = bulk_import_envelope(list_id);
    prefix.len() + suffix.len()
}

fn bulk_import_envelope(list_id: &str) -> (&'static str, String) {
    let prefix = r#"{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":["#;
    let id = serde_json::Value::String(list_id.to_owned()).to_string();
    let suffix = [
        r#"]}},"relationships":{"lists":{"data":[{"type":"list","id":"#,
        &id,
        "}]}}}}",
    ]
    .concat();
    (prefix, suffix)
}

/// Whether a failed attempt may be retried.
enum Retry {
    /// The request never reached Klaviyo, or Klaviyo refused it unprocessed (429): always safe.
    Safe(Option<Duration>),
    /// Klaviyo may have acted on it: retry only idempotent requests.
    IfIdempotent,
    No,
}

/// A Klaviyo API client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    inner: Arc<Inner>,
}

struct Inner {
    base: Url,
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `base_url` (e.g. `https://a.klaviyo.com`) using `key`.
    /// Timeouts: 30 s per request, 10 s to connect.
    pub fn new(base_url: &str, key: ApiKey) -> Result<Client, Error> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let base = Url::parse(trimmed)
            .map_err(|e| Error::InvalidBaseUrl(format!("\"{trimmed}\": {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::InvalidBaseUrl(format!(
                "\"{trimmed}\" must start with https:// or http://"
            )));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(Error::InvalidBaseUrl(format!("\"{trimmed}\" has no host")));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::InvalidBaseUrl(format!(
                "\"{trimmed}\" must not have a query or fragment"
            )));
        }
        let mut auth = HeaderValue::from_str(&format!("Klaviyo-API-Key {}", key.expose().trim()))
            .map_err(|_| Error::KeyRejected {
            detail: "the key contains characters that cannot be sent in a header".to_owned(),
        })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert("revision", HeaderValue::from_static(REVISION));
        headers.insert(ACCEPT, HeaderValue::from_static(JSON_API));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("segport/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| {
                Error::InvalidBaseUrl(format!("cannot build an HTTP client: {}", root_cause(&e)))
            })?;
        Ok(Client {
            http,
            inner: Arc::new(Inner {
                base,
                retry: RetryPolicy::default(),
            }),
        })
    }

    /// The same client with another retry policy (tests use short delays).
    pub fn with_retry_policy(self, retry: RetryPolicy) -> Client {
        Client {
            http: self.http,
            inner: Arc::new(Inner {
                base: self.inner.base.clone(),
                retry,
            }),
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// `GET /api/accounts`: verifies the key and gives the account's name.
    pub async fn get_account(&self) -> Result<Account, Error> {
        #[derive(Deserialize)]
        struct Doc {
            data: Vec<Res>,
        }
        #[derive(Deserialize)]
        struct Res {
            id: String,
            attributes: Attrs,
        }
        #[derive(Deserialize)]
        struct Attrs {
            contact_information: Contact,
        }
        #[derive(Deserialize)]
        struct Contact {
            #[serde(default)]
            organization_name: Option<String>,
        }
        let body = self
            .request(Method::GET, "/api/accounts", &[], None, true)
            .await?;
        let doc: Doc = decode(&body)?;
        let res = doc
            .data
            .into_iter()
            .next()
            .ok_or_else(|| Error::Decode("no account in the answer".to_owned()))?;
        Ok(Account {
            id: res.id,
            name: res
                .attributes
                .contact_information
                .organization_name
                .unwrap_or_default(),
        })
    }

    /// `POST /api/lists`. Not idempotent: on an ambiguous failure (timeout, 503/504/524) it
    /// looks the list up by name before trying again, so it does not create duplicates.
    /// (Klaviyo allows duplicate names: an existing list with the same name is returned then.)
    pub async fn create_list(&self, name: &str) -> Result<List, Error> {
        let body =
            serde_json::json!({ "data": { "type": "list", "attributes": { "name": name } } })
                .to_string();
        let body = bytes_of(body);
        let mut attempt = 1;
        loop {
            match self
                .request(Method::POST, "/api/lists", &[], Some(body.clone()), false)
                .await
            {
                Ok(resp) => return Ok(decode::<ListDoc>(&resp)?.data.into()),
                Err(e) if attempt < self.inner.retry.max_attempts && is_ambiguous(&e) => {
                    tracing::warn!(
                        code = e.code(),
                        attempt,
                        "create_list failed ambiguously; looking the list up before retrying"
                    );
                    tokio::time::sleep(self.inner.retry.backoff(attempt)).await;
                    if let Some(list) = self.find_list_by_name(name).await? {
                        return Ok(list);
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `GET /api/lists?filter=equals(name,"…")`: the first list with exactly this name.
    pub async fn find_list_by_name(&self, name: &str) -> Result<Option<List>, Error> {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        let filter = format!("equals(name,\"{escaped}\")");
        let body = self
            .request(
                Method::GET,
                "/api/lists",
                &[("filter", &filter), ("page[size]", "10")],
                None,
                true,
            )
            .await?;
        let doc: ListsDoc = decode(&body)?;
        Ok(doc
            .data
            .into_iter()
            .map(List::from)
            .find(|l| l.name == name))
    }

    /// `GET /api/lists/{id}`.
    pub async fn get_list(&self, id: &str) -> Result<List, Error> {
        let path = format!("/api/lists/{}", path_segment(id));
        let body = self.request(Method::GET, &path, &[], None, true).await?;
        Ok(decode::<ListDoc>(&body)?.data.into())
    }

    /// `POST /api/profile-bulk-import-jobs`: upserts `profiles` and adds them to the list.
    /// Each element of `profiles` is one serialized profile resource
    /// (`{"type":"profile","attributes":{…}}`); the body is assembled by concatenation.
    /// An idempotent upsert, so it is retried like a GET.
    pub async fn bulk_import(&self, list_id: &str, profiles: &[String]) -> Result<Job, Error> {
        let (prefix, suffix) = bulk_import_envelope(list_id);
        let len = prefix.len()
            + suffix.len()
            + profiles.iter().map(String::len).sum::<usize>()
            + profiles.len().saturating_sub(1);
        let mut body = String::with_capacity(len);
        body.push_str(prefix);
        for (i, p) in profiles.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(p);
        }
        body.push_str(&suffix);
        debug_assert_eq!(body.len(), len);
        let resp = self
            .request(
                Method::POST,
                "/api/profile-bulk-import-jobs",
                &[],
                Some(bytes_of(body)),
                true,
            )
            .await?;
        Ok(decode::<JobDoc>(&resp)?.data.into())
    }

    /// `GET /api/profile-bulk-import-jobs/{id}`.
    pub async fn get_bulk_import_job(&self, job_id: &str) -> Result<Job, Error> {
        let path = format!("/api/profile-bulk-import-jobs/{}", path_segment(job_id));
        let body = self.request(Method::GET, &path, &[], None, true).await?;
        Ok(decode::<JobDoc>(&body)?.data.into())
    }

    /// The one request path: sends, retries per [`RetryPolicy`], maps answers to [`Error`].
    /// Returns the body of a 2xx answer.
    async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<bytes::Bytes>,
        idempotent: bool,
    ) -> Result<bytes::Bytes, Error> {
        let mut url = self.inner.base.clone();
        url.set_path(&format!(
            "{}{path}",
            self.inner.base.path().trim_end_matches('/')
        ));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let policy = &self.inner.retry;
        let mut attempt: u32 = 1;
        loop {
            let (error, retry) = match self.send_once(&method, &url, body.clone()).await {
                Ok(bytes) => return Ok(bytes),
                Err(failure) => failure,
            };
            let wait = match retry {
                Retry::Safe(hint) => Some(hint),
                Retry::IfIdempotent if idempotent => Some(None),
                _ => None,
            };
            let Some(hint) = wait else { return Err(error) };
            if attempt >= policy.max_attempts {
                return Err(error);
            }
            let delay = match hint {
                Some(d) if d > policy.max_retry_after => return Err(error),
                Some(d) => d,
                None => policy.backoff(attempt),
            };
            tracing::warn!(%method, path, attempt, code = error.code(), delay_ms = delay.as_millis() as u64, "Klaviyo request failed; retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        body: Option<bytes::Bytes>,
    ) -> Result<bytes::Bytes, (Error, Retry)> {
        let mut req = self.http.request(method.clone(), url.clone());
        if let Some(body) = body {
            req = req.header(CONTENT_TYPE, JSON_API).body(body);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Err(transport_error(&e, url)),
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(transport_error(&e, url)),
        };
        tracing::debug!(%method, path = url.path(), status = status.as_u16(), "Klaviyo answered");
        if status.is_success() {
            return Ok(bytes);
        }
        Err(status_error(status, &bytes, retry_after))
    }
}

fn is_ambiguous(e: &Error) -> bool {
    matches!(
        e,
        Error::Timeout
            | Error::Server {
                status: 503 | 504 | 524,
                ..
            }
    ) || matches!(e, Error::Unreachable { .. })
}

fn bytes_of(s: String) -> bytes::Bytes {
    bytes::Bytes::from(s.into_bytes())
}

/// Percent-encodes an id for use as one path segment.
fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Decode(e.to_string()))
}

fn transport_error(e: &reqwest::Error, url: &Url) -> (Error, Retry) {
    let shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""))
        + &url.port().map(|p| format!(":{p}")).unwrap_or_default();
    if e.is_timeout() {
        return (Error::Timeout, Retry::IfIdempotent);
    }
    let err = Error::Unreachable {
        url: shown,
        reason: root_cause(e),
    };
    if e.is_connect() {
        (err, Retry::Safe(None))
    } else {
        (err, Retry::IfIdempotent)
    }
}

/// The innermost cause of an error ("Connection refused (os error 111)"), which says more to a
/// person than reqwest's outer "error sending request".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn status_error(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> (Error, Retry) {
    let code = status.as_u16();
    let errors: Option<Vec<ApiError>> = serde_json::from_slice::<error::ErrorDoc>(body)
        .ok()
        .filter(|d| !d.errors.is_empty())
        .map(|d| {
            d.errors
                .into_iter()
                .map(|e| e.into_api_error(code))
                .collect()
        });
    let first_detail = || {
        errors
            .as_ref()
            .and_then(|e| e.first())
            .map(|e| {
                if e.detail.is_empty() {
                    e.title.clone()
                } else {
                    e.detail.clone()
                }
            })
            .unwrap_or_else(|| excerpt(body))
    };
    match code {
        401 => (
            Error::KeyRejected {
                detail: first_detail(),
            },
            Retry::No,
        ),
        403 => (
            Error::MissingScope {
                detail: first_detail(),
            },
            Retry::No,
        ),
        429 => {
            let hint = retry_after.or_else(|| {
                errors
                    .as_ref()
                    .and_then(|e| e.iter().find_map(|e| available_in(&e.detail)))
            });
            (Error::RateLimited { retry_after: hint }, Retry::Safe(hint))
        }
        400..=499 => {
            let errors = errors.unwrap_or_else(|| {
                vec![ApiError {
                    status: code,
                    code: String::new(),
                    title: status
                        .canonical_reason()
                        .unwrap_or("Client error")
                        .to_owned(),
                    detail: excerpt(body),
                    pointer: None,
                    parameter: None,
                }]
            });
            (
                Error::Invalid {
                    status: code,
                    errors,
                },
                Retry::No,
            )
        }
        _ => {
            let retry = if matches!(code, 503 | 504 | 524) {
                Retry::IfIdempotent
            } else {
                Retry::No
            };
            (
                Error::Server {
                    status: code,
                    body_excerpt: first_detail(),
                },
                retry,
            )
        }
    }
}

/// `Retry-After` in seconds (integer or decimal). HTTP dates are not used by Klaviyo.
fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// "Request was throttled. Expected available in 7 seconds."
fn available_in(detail: &str) -> Option<Duration> {
    let rest = &detail[detail.find("available in ")? + "available in ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().map(Duration::from_secs)
}

/// A short, single-line, tag-free excerpt of a body (proxies answer with HTML pages).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if in_tag => {}
            c if c.is_whitespace() => out.push(' '),
            c => out.push(c),
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut cut: String = collapsed.chars().take(200).collect();
    if cut.len() < collapsed.len() {
        cut.push('…');
    }
    cut
}

#[derive(Deserialize)]
struct ListDoc {
    data: ListRes,
}

#[derive(Deserialize)]
struct ListsDoc {
    data: Vec<ListRes>,
}

#[derive(Deserialize)]
struct ListRes {
    id: String,
    #[serde(default)]
    attributes: Option<ListAttrs>,
}

#[derive(Deserialize)]
struct ListAttrs {
    #[serde(default)]
    name: Option<String>,
}

impl From<ListRes> for List {
    fn from(r: ListRes) -> Self {
        List {
            id: r.id,
            name: r.attributes.and_then(|a| a.name).unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
struct JobDoc {
    data: JobRes,
}

#[derive(Deserialize)]
struct JobRes {
    id: String,
    attributes: JobAttrs,
}

#[derive(Deserialize)]
struct JobAttrs {
    status: String,
    #[serde(default)]
    total_count: Option<u64>,
    #[serde(default)]
    completed_count: Option<u64>,
    #[serde(default)]
    failed_count: Option<u64>,
}

impl From<JobRes> for Job {
    fn from(r: JobRes) -> Self {
        Job {
            id: r.id,
            status: JobStatus::parse(&r.attributes.status),
            total_count: r.attributes.total_count.unwrap_or(0),
            completed_count: r.attributes.completed_count.unwrap_or(0),
            failed_count: r.attributes.failed_count.unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_debug_is_redacted() {
        let key = ApiKey::new("pk_secret123".to_owned());
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_eq!(key.expose(), "pk_secret123");
    }

    #[test]
    fn invalid_base_urls_are_rejected() {
        for bad in [
            "",
            "not a url",
            "ftp://a.klaviyo.com",
            "http://",
            "https://a.klaviyo.com/?x=1",
        ] {
            let err = Client::new(bad, ApiKey::new("pk_x".into())).expect_err(bad);
            assert_eq!(err.code(), "klaviyo.invalid_base_url", "{bad}");
        }
        let ok = Client::new("https://a.klaviyo.com/", ApiKey::new("pk_x".into())).expect("valid");
        assert_eq!(ok.base_url(), "https://a.klaviyo.com");
    }

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
    fn html_bodies_become_short_excerpts() {
        let e = excerpt(b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>");
        assert_eq!(e, "502 Bad Gateway 502 Bad Gateway");
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
