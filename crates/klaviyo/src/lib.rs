//! The Klaviyo API client Segport uses (revision [`REVISION`]). No Tauri.
//!
//! Every request goes through one function ([`Client`]'s private `request`): the rate limiter
//! of its operation (see `limiter.rs`: per account and per operation, burst and steady windows
//! with the numbers of [`spec::OPERATIONS`]), headers, retries with backoff and jitter,
//! cancellation, and the mapping of answers to [`Error`] live there.
//!
//! * Many jobs are polled with one request: [`Client::poll_jobs`] /
//!   [`Client::get_bulk_import_jobs`] (100 a page), not one `get_bulk_import_job` each.
//! * [`Client::with_cancel`] makes every wait (limiter, backoff, a read's answer) stop at once
//!   with [`Error::Cancelled`]; a sent call that changes something waits for its answer.
//! * [`Client::stats`] counts requests, 429s and retries.
//! * Request bodies are public functions ([`bulk_import_body`], …) so that they can be checked
//!   against the spec's schemas without sending them.
//!
//! The API key is held in [`ApiKey`]; [`ApiKey::expose`] is the only way to read it, and it is
//! called in exactly one place (building the Authorization header, marked sensitive; the
//! limiter registry keeps only a salted hash of it).

mod body;
mod error;
mod limiter;
pub mod spec;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use body::{
    bulk_import_body, bulk_import_envelope_len, bulk_subscribe_body, create_list_body,
    remove_profiles_body, Subscriber,
};
pub use error::{ApiError, Error};
pub use limiter::LimiterConfig;
pub use tokio_util::sync::CancellationToken;

/// The API revision this client is written and tested against (pinned).
pub const REVISION: &str = "2026-07-15";
/// Production base URL.
pub const DEFAULT_BASE_URL: &str = "https://a.klaviyo.com";
/// Limits of one bulk profile import job.
pub const MAX_PROFILES_PER_JOB: usize = 10_000;
/// Klaviyo's "5 MB" of request body, read the safe way: 5,000,000 bytes (5 MiB, 5,242,880, would
/// let a batch of 5,000,001 to 5,242,880 bytes through that a decimal reading refuses).
pub const MAX_JOB_BYTES: usize = 5_000_000;
pub const MAX_PROFILE_BYTES: usize = 100 * 1024;
/// Largest `page[size]` of `GET /api/lists`.
pub const MAX_LISTS_PAGE_SIZE: u32 = 10;
/// Largest `page[size]` of the other collections Segport reads (jobs, import errors, profile
/// ids, profiles).
pub const MAX_PAGE_SIZE: u32 = 100;
/// Values in one `any(…)` filter of [`Client::get_profiles`].
pub const MAX_FILTER_VALUES: usize = 100;
/// Profile ids in one `DELETE /api/lists/{id}/relationships/profiles`.
pub const MAX_PROFILES_PER_REMOVE: usize = 1000;
/// Profiles in one `POST /api/profile-subscription-bulk-create-jobs`.
pub const MAX_PROFILES_PER_SUBSCRIBE: usize = 1000;

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
    /// The API's name of the status (`queued`, `processing`, …).
    pub fn as_str(&self) -> &str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Processing => "processing",
            JobStatus::Complete => "complete",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Other(s) => s,
        }
    }

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

/// Whether a failed attempt may be retried.
enum Retry {
    /// The request never reached Klaviyo, or Klaviyo refused it unprocessed (429): always safe.
    Safe(Option<Duration>),
    /// Klaviyo may have acted on it: retry only idempotent requests.
    IfIdempotent,
    No,
}

/// A failed attempt: the error, whether it may be retried, and what the answer (if any) said
/// about the rate limit.
struct Failure {
    error: Error,
    retry: Retry,
    rate: Option<limiter::RateHeaders>,
    /// Whether an HTTP answer arrived (as opposed to a network failure).
    answered: bool,
}

/// What the client has seen since it was created (shared by its clones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent (every attempt counts).
    pub requests: u64,
    /// 429 answers.
    pub throttled: u64,
    /// Attempts that were retries of a failed one (after a 429, 5xx or network failure).
    pub retries: u64,
    /// 5xx answers (including proxies' HTML pages).
    pub server_errors: u64,
    /// Network failures and timeouts.
    pub network_errors: u64,
    /// Time spent waiting for the client-side rate limiter, summed over all requests.
    pub limiter_wait: Duration,
}

#[derive(Default)]
struct StatsCell(std::sync::Mutex<ClientStats>);

impl StatsCell {
    fn update(&self, f: impl FnOnce(&mut ClientStats)) {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }
    fn get(&self) -> ClientStats {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A Klaviyo API client. Cheap to clone; clones share the rate limiter, the statistics and
/// the cancellation token. Every client of the same base URL and key in the process shares one
/// rate limiter (Klaviyo's limits are per account).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    inner: Arc<Inner>,
    limits: Arc<limiter::AccountLimits>,
    /// Salted hash of the key (the limiter registry's key); never the key itself.
    key_hash: u64,
    stats: Arc<StatsCell>,
    cancel: CancellationToken,
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

/// One page of a collection, with the cursor of the next page (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// One page of lists (at most 10: Klaviyo's maximum for lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListsPage {
    pub lists: Vec<List>,
    pub next_cursor: Option<String>,
}

/// `GET /api/lists` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListsQuery {
    /// 1..=10 ([`MAX_LISTS_PAGE_SIZE`]).
    pub page_size: u32,
    pub cursor: Option<String>,
    /// `filter=equals(name,"…")`.
    pub name: Option<String>,
}

impl Default for ListsQuery {
    fn default() -> Self {
        ListsQuery {
            page_size: MAX_LISTS_PAGE_SIZE,
            cursor: None,
            name: None,
        }
    }
}

/// `GET /api/profile-bulk-import-jobs` options. Always sorted newest first (`-created_at`)
/// with only the fields [`Job`] has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsQuery {
    /// 1..=100 ([`MAX_PAGE_SIZE`]).
    pub page_size: u32,
    pub cursor: Option<String>,
    /// `filter=any(status,[…])`; empty = every status.
    pub statuses: Vec<JobStatus>,
}

impl Default for JobsQuery {
    fn default() -> Self {
        JobsQuery {
            page_size: MAX_PAGE_SIZE,
            cursor: None,
            statuses: Vec::new(),
        }
    }
}

/// A row of a bulk import job that failed in processing (`import-errors`).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportError {
    pub id: String,
    pub code: String,
    pub title: String,
    pub detail: String,
    /// e.g. `/data/attributes/profiles/data/3/attributes/email` (row 3 of the job's request).
    pub pointer: Option<String>,
    /// The profile as it was sent.
    pub original_payload: Option<serde_json::Value>,
}

/// Which identifier [`Client::get_profiles`] filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier {
    Email,
    PhoneNumber,
    ExternalId,
}

impl Identifier {
    fn field(self) -> &'static str {
        match self {
            Identifier::Email => "email",
            Identifier::PhoneNumber => "phone_number",
            Identifier::ExternalId => "external_id",
        }
    }
}

/// A profile's id and identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRef {
    pub id: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub external_id: Option<String>,
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
        let key_text = key.expose().trim();
        let mut auth =
            HeaderValue::from_str(&format!("Klaviyo-API-Key {key_text}")).map_err(|_| {
                Error::KeyRejected {
                    detail: "the key contains characters that cannot be sent in a header"
                        .to_owned(),
                }
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
        let base_str = base.as_str().trim_end_matches('/').to_owned();
        let key_hash = limiter::key_hash(key_text);
        let limits = limiter::AccountLimits::shared(&base_str, key_hash, LimiterConfig::default());
        Ok(Client {
            http,
            inner: Arc::new(Inner {
                base,
                retry: RetryPolicy::default(),
            }),
            limits,
            key_hash,
            stats: Arc::default(),
            cancel: CancellationToken::new(),
        })
    }

    /// The same client with another retry policy (tests use short delays).
    pub fn with_retry_policy(self, retry: RetryPolicy) -> Client {
        Client {
            inner: Arc::new(Inner {
                base: self.inner.base.clone(),
                retry,
            }),
            ..self
        }
    }

    /// The same client, stopped by `token`: once it is cancelled every call (including one
    /// waiting for the rate limiter, sleeping before a retry, or a read waiting for its answer)
    /// returns [`Error::Cancelled`] at once. A call that changes something in Klaviyo (bulk
    /// import, create list) that was already sent still waits for its answer (at most the
    /// request timeout), so the caller learns whether Klaviyo acted on it.
    pub fn with_cancel(self, token: CancellationToken) -> Client {
        Client {
            cancel: token,
            ..self
        }
    }

    /// The same client with other rate limiter margins (its state is then kept apart from
    /// clients with the default margins).
    pub fn with_limiter_config(self, config: LimiterConfig) -> Client {
        let base = self.base_url().to_owned();
        let limits = limiter::AccountLimits::shared(&base, self.key_hash, config);
        Client { limits, ..self }
    }

    /// The limiter margins in use.
    pub fn limiter_config(&self) -> LimiterConfig {
        self.limits.config()
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// A 64-bit hash of the key (never the key): tells two keys apart, e.g. to cache what a
    /// key's account is.
    pub fn key_id(&self) -> u64 {
        self.key_hash
    }

    /// What this client (and its clones) has seen so far.
    pub fn stats(&self) -> ClientStats {
        self.stats.get()
    }

    /// `GET /api/accounts`: verifies the key and gives the account's name.
    pub async fn get_account(&self) -> Result<Account, Error> {
        self.get_accounts()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Decode("no account in the answer".to_owned()))
    }

    /// `GET /api/accounts` (a private key sees exactly one account).
    pub async fn get_accounts(&self) -> Result<Vec<Account>, Error> {
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
            .request(
                "get_accounts",
                Method::GET,
                "/api/accounts",
                &[],
                None,
                true,
            )
            .await?;
        let doc: Doc = decode(&body)?;
        Ok(doc
            .data
            .into_iter()
            .map(|res| Account {
                id: res.id,
                name: res
                    .attributes
                    .contact_information
                    .organization_name
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// `POST /api/lists`. Not idempotent: on an ambiguous failure (timeout, connection lost,
    /// 503/504/524) it looks the list up by name before trying again, so it does not create
    /// duplicates. (Klaviyo allows duplicate names: an existing list with the same name is
    /// returned then.) Klaviyo allows 150 new lists a day per account.
    pub async fn create_list(&self, name: &str) -> Result<List, Error> {
        let body = bytes_of(create_list_body(name));
        let mut attempt = 1;
        loop {
            match self
                .request(
                    "create_list",
                    Method::POST,
                    "/api/lists",
                    &[],
                    Some(body.clone()),
                    false,
                )
                .await
            {
                Ok(resp) => return Ok(decode::<ListDoc>(&resp)?.data.into()),
                Err(e) if attempt < self.inner.retry.max_attempts && is_ambiguous(&e) => {
                    tracing::warn!(
                        code = e.code(),
                        attempt,
                        "create_list failed ambiguously; looking the list up before retrying"
                    );
                    self.sleep(self.inner.retry.backoff(attempt)).await?;
                    if let Some(list) = self.find_list_by_name(name).await? {
                        return Ok(list);
                    }
                    self.stats.update(|s| s.retries += 1);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `GET /api/lists?filter=equals(name,"…")`: the first list with exactly this name.
    pub async fn find_list_by_name(&self, name: &str) -> Result<Option<List>, Error> {
        let page = self
            .get_lists_with(&ListsQuery {
                name: Some(name.to_owned()),
                ..Default::default()
            })
            .await?;
        Ok(page.lists.into_iter().find(|l| l.name == name))
    }

    /// `GET /api/lists`: one page of 10 lists; pass the previous page's `next_cursor` for the
    /// next one.
    pub async fn get_lists(&self, cursor: Option<&str>) -> Result<ListsPage, Error> {
        self.get_lists_with(&ListsQuery {
            cursor: cursor.map(str::to_owned),
            ..Default::default()
        })
        .await
    }

    /// `GET /api/lists` with a page size, cursor and name filter (`fields[list]=name`).
    pub async fn get_lists_with(&self, q: &ListsQuery) -> Result<ListsPage, Error> {
        let size = q.page_size.clamp(1, MAX_LISTS_PAGE_SIZE).to_string();
        let filter = q
            .name
            .as_deref()
            .map(|n| format!("equals(name,{})", body::quoted(n)));
        let mut query: Vec<(&str, &str)> = Vec::with_capacity(4);
        if let Some(f) = &filter {
            query.push(("filter", f));
        }
        query.extend([("fields[list]", "name"), ("page[size]", size.as_str())]);
        if let Some(c) = &q.cursor {
            query.push(("page[cursor]", c));
        }
        let body = self
            .request("get_lists", Method::GET, "/api/lists", &query, None, true)
            .await?;
        let doc: ListsDoc = decode(&body)?;
        Ok(ListsPage {
            lists: doc.data.into_iter().map(List::from).collect(),
            next_cursor: next_cursor(&doc.links),
        })
    }

    /// `GET /api/lists/{id}`.
    pub async fn get_list(&self, id: &str) -> Result<List, Error> {
        let path = format!("/api/lists/{}", path_segment(id));
        let body = self
            .request("get_list", Method::GET, &path, &[], None, true)
            .await?;
        Ok(decode::<ListDoc>(&body)?.data.into())
    }

    /// `POST /api/profile-bulk-import-jobs`: upserts `profiles` and adds them to the list.
    /// Each element of `profiles` is one serialized profile resource
    /// (`{"type":"profile","attributes":{…}}`); the body is [`bulk_import_body`].
    /// An idempotent upsert, so it is retried like a GET.
    pub async fn bulk_import(&self, list_id: &str, profiles: &[String]) -> Result<Job, Error> {
        let body = bytes_of(bulk_import_body(list_id, profiles));
        let resp = self
            .request(
                "bulk_import_profiles",
                Method::POST,
                "/api/profile-bulk-import-jobs",
                &[],
                Some(body),
                true,
            )
            .await?;
        Ok(decode::<JobDoc>(&resp)?.data.into())
    }

    /// `GET /api/profile-bulk-import-jobs/{id}`.
    pub async fn get_bulk_import_job(&self, job_id: &str) -> Result<Job, Error> {
        let path = format!("/api/profile-bulk-import-jobs/{}", path_segment(job_id));
        let body = self
            .request(
                "get_bulk_import_profiles_job",
                Method::GET,
                &path,
                &[],
                None,
                true,
            )
            .await?;
        Ok(decode::<JobDoc>(&body)?.data.into())
    }

    /// `GET /api/profile-bulk-import-jobs`: a page of the account's jobs, newest first, with
    /// sparse fields — one request shows up to 100 jobs.
    pub async fn get_bulk_import_jobs(&self, q: &JobsQuery) -> Result<Page<Job>, Error> {
        let size = q.page_size.clamp(1, MAX_PAGE_SIZE).to_string();
        let filter = (!q.statuses.is_empty()).then(|| {
            let values: Vec<String> = q
                .statuses
                .iter()
                .map(|s| body::quoted(s.as_str()))
                .collect();
            format!("any(status,[{}])", values.join(","))
        });
        let mut query: Vec<(&str, &str)> = vec![
            (
                "fields[profile-bulk-import-job]",
                "status,total_count,completed_count,failed_count",
            ),
            ("page[size]", &size),
            ("sort", "-created_at"),
        ];
        if let Some(f) = &filter {
            query.push(("filter", f));
        }
        if let Some(c) = &q.cursor {
            query.push(("page[cursor]", c));
        }
        let body = self
            .request(
                "get_bulk_import_profiles_jobs",
                Method::GET,
                "/api/profile-bulk-import-jobs",
                &query,
                None,
                true,
            )
            .await?;
        let doc: JobsDoc = decode(&body)?;
        Ok(Page {
            items: doc.data.into_iter().map(Job::from).collect(),
            next_cursor: next_cursor(&doc.links),
        })
    }

    /// The current state of many jobs with as few requests as possible: pages through
    /// [`Client::get_bulk_import_jobs`] (100 a page, newest first) until every id in `ids` has
    /// been seen or the pages run out (at most `10 + ids.len() / 100` pages). Jobs not found
    /// (expired, or buried under many newer jobs) are absent from the answer: ask
    /// [`Client::get_bulk_import_job`] for those.
    pub async fn poll_jobs(&self, ids: &[String]) -> Result<Vec<Job>, Error> {
        let mut wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut found = Vec::new();
        let mut q = JobsQuery::default();
        for _ in 0..(10 + ids.len() / 100) {
            if wanted.is_empty() {
                break;
            }
            let page = self.get_bulk_import_jobs(&q).await?;
            for job in page.items {
                if wanted.remove(job.id.as_str()) {
                    found.push(job);
                }
            }
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        Ok(found)
    }

    /// `GET /api/profile-bulk-import-jobs/{id}/import-errors`: rows that failed in processing,
    /// 100 a page, each with the profile as it was sent.
    pub async fn get_bulk_import_job_errors(
        &self,
        job_id: &str,
        cursor: Option<&str>,
    ) -> Result<Page<ImportError>, Error> {
        #[derive(Deserialize)]
        struct Doc {
            data: Vec<Res>,
            #[serde(default)]
            links: Option<Links>,
        }
        #[derive(Deserialize)]
        struct Res {
            id: String,
            attributes: Attrs,
        }
        #[derive(Deserialize)]
        struct Attrs {
            #[serde(default)]
            code: Option<String>,
            #[serde(default)]
            title: Option<String>,
            #[serde(default)]
            detail: Option<String>,
            #[serde(default)]
            source: Option<Source>,
            #[serde(default)]
            original_payload: Option<serde_json::Value>,
        }
        #[derive(Deserialize)]
        struct Source {
            #[serde(default)]
            pointer: Option<String>,
        }
        let path = format!(
            "/api/profile-bulk-import-jobs/{}/import-errors",
            path_segment(job_id)
        );
        let body = self
            .get_page("get_errors_for_bulk_import_profiles_job", &path, cursor)
            .await?;
        let doc: Doc = decode(&body)?;
        Ok(Page {
            items: doc
                .data
                .into_iter()
                .map(|r| ImportError {
                    id: r.id,
                    code: r.attributes.code.unwrap_or_default(),
                    title: r.attributes.title.unwrap_or_default(),
                    detail: r.attributes.detail.unwrap_or_default(),
                    pointer: r.attributes.source.and_then(|s| s.pointer),
                    original_payload: r.attributes.original_payload.filter(|v| !v.is_null()),
                })
                .collect(),
            next_cursor: next_cursor(&doc.links),
        })
    }

    /// `GET /api/profile-bulk-import-jobs/{id}/relationships/profiles`: ids of the job's
    /// profiles, 100 a page.
    pub async fn get_bulk_import_job_profile_ids(
        &self,
        job_id: &str,
        cursor: Option<&str>,
    ) -> Result<Page<String>, Error> {
        let path = format!(
            "/api/profile-bulk-import-jobs/{}/relationships/profiles",
            path_segment(job_id)
        );
        let body = self
            .get_page(
                "get_profile_ids_for_bulk_import_profiles_job",
                &path,
                cursor,
            )
            .await?;
        ids_page(&body)
    }

    /// `GET /api/lists/{id}/relationships/profiles`: ids of the list's members, 100 a page
    /// (a 1M-member list is 10,000 pages, ≈ 14 min at 750/min: avoid for big lists).
    pub async fn get_list_profile_ids(
        &self,
        list_id: &str,
        cursor: Option<&str>,
    ) -> Result<Page<String>, Error> {
        let path = format!(
            "/api/lists/{}/relationships/profiles",
            path_segment(list_id)
        );
        let body = self
            .get_page("get_profile_ids_for_list", &path, cursor)
            .await?;
        ids_page(&body)
    }

    /// `GET /api/profiles?filter=any(<identifier>,[…])`: the profiles having one of `values`
    /// (at most [`MAX_FILTER_VALUES`] values), 100 a page, with their identifiers.
    /// [`Client::find_profiles`] splits and pages for you.
    pub async fn get_profiles(
        &self,
        by: Identifier,
        values: &[String],
        cursor: Option<&str>,
    ) -> Result<Page<ProfileRef>, Error> {
        #[derive(Deserialize)]
        struct Doc {
            data: Vec<Res>,
            #[serde(default)]
            links: Option<Links>,
        }
        #[derive(Deserialize)]
        struct Res {
            id: String,
            #[serde(default)]
            attributes: Option<Attrs>,
        }
        #[derive(Deserialize, Default)]
        struct Attrs {
            #[serde(default)]
            email: Option<String>,
            #[serde(default)]
            phone_number: Option<String>,
            #[serde(default)]
            external_id: Option<String>,
        }
        let quoted: Vec<String> = values.iter().map(|v| body::quoted(v)).collect();
        let filter = format!("any({},[{}])", by.field(), quoted.join(","));
        let size = MAX_PAGE_SIZE.to_string();
        let mut query: Vec<(&str, &str)> = vec![
            ("fields[profile]", "email,phone_number,external_id"),
            ("filter", &filter),
            ("page[size]", &size),
        ];
        if let Some(c) = cursor {
            query.push(("page[cursor]", c));
        }
        let body = self
            .request(
                "get_profiles",
                Method::GET,
                "/api/profiles",
                &query,
                None,
                true,
            )
            .await?;
        let doc: Doc = decode(&body)?;
        Ok(Page {
            items: doc
                .data
                .into_iter()
                .map(|r| {
                    let a = r.attributes.unwrap_or_default();
                    ProfileRef {
                        id: r.id,
                        email: a.email,
                        phone_number: a.phone_number,
                        external_id: a.external_id,
                    }
                })
                .collect(),
            next_cursor: next_cursor(&doc.links),
        })
    }

    /// Every profile having one of `values`: [`Client::get_profiles`] in chunks of
    /// [`MAX_FILTER_VALUES`], following cursors.
    pub async fn find_profiles(
        &self,
        by: Identifier,
        values: &[String],
    ) -> Result<Vec<ProfileRef>, Error> {
        let mut out = Vec::new();
        for chunk in values.chunks(MAX_FILTER_VALUES) {
            let mut cursor: Option<String> = None;
            loop {
                let page = self.get_profiles(by, chunk, cursor.as_deref()).await?;
                out.extend(page.items);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// `DELETE /api/lists/{id}/relationships/profiles`: removes the profiles from the list
    /// (not their consent). Sent in requests of [`MAX_PROFILES_PER_REMOVE`] ids; idempotent,
    /// so retried like a GET.
    pub async fn remove_profiles_from_list(
        &self,
        list_id: &str,
        profile_ids: &[String],
    ) -> Result<(), Error> {
        let path = format!(
            "/api/lists/{}/relationships/profiles",
            path_segment(list_id)
        );
        for chunk in profile_ids.chunks(MAX_PROFILES_PER_REMOVE) {
            let body = bytes_of(remove_profiles_body(chunk));
            self.request(
                "remove_profiles_from_list",
                Method::DELETE,
                &path,
                &[],
                Some(body),
                true,
            )
            .await?;
        }
        Ok(())
    }

    /// `POST /api/profile-subscription-bulk-create-jobs`: gives the subscribers email / SMS
    /// marketing consent (and adds them to `list_id` if given). The opt-in feature only:
    /// list membership is not consent. Sent in requests of [`MAX_PROFILES_PER_SUBSCRIBE`];
    /// subscribing twice has the same result, so it is retried like a GET.
    pub async fn bulk_subscribe(
        &self,
        list_id: Option<&str>,
        subscribers: &[Subscriber],
        custom_source: Option<&str>,
    ) -> Result<(), Error> {
        for chunk in subscribers.chunks(MAX_PROFILES_PER_SUBSCRIBE) {
            let body = bytes_of(bulk_subscribe_body(list_id, chunk, custom_source));
            self.request(
                "bulk_subscribe_profiles",
                Method::POST,
                "/api/profile-subscription-bulk-create-jobs",
                &[],
                Some(body),
                true,
            )
            .await?;
        }
        Ok(())
    }

    async fn get_page(
        &self,
        op: &'static str,
        path: &str,
        cursor: Option<&str>,
    ) -> Result<bytes::Bytes, Error> {
        let size = MAX_PAGE_SIZE.to_string();
        let mut query: Vec<(&str, &str)> = vec![("page[size]", &size)];
        if let Some(c) = cursor {
            query.push(("page[cursor]", c));
        }
        self.request(op, Method::GET, path, &query, None, true)
            .await
    }

    /// Sleeps, unless the client is cancelled first.
    async fn sleep(&self, d: Duration) -> Result<(), Error> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(Error::Cancelled),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }

    /// The one request path: waits for the rate limiter of operation `op` (an `operationId`
    /// of [`spec::OPERATIONS`]), sends, retries per [`RetryPolicy`], maps answers to
    /// [`Error`]. Returns the body of a 2xx answer.
    async fn request(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<bytes::Bytes>,
        idempotent: bool,
    ) -> Result<bytes::Bytes, Error> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let mut url = self.inner.base.clone();
        url.set_path(&format!(
            "{}{path}",
            self.inner.base.path().trim_end_matches('/')
        ));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let limiter = self.limits.op(op);
        debug_assert!(limiter.is_some(), "{op} is not an operation of the spec");
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
                    r = self.send_once(&method, &url, body.clone()) => r,
                }
            } else {
                self.send_once(&method, &url, body.clone()).await
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
                Retry::IfIdempotent => idempotent,
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
            req = req.header(CONTENT_TYPE, JSON_API).body(body);
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
            // A 502 comes from a proxy in front of Klaviyo (often an HTML page): like 503, 504
            // and 524 it says nothing about whether the request was processed, so only
            // idempotent calls are sent again.
            let retry = if matches!(code, 502 | 503 | 504 | 524) {
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

/// The longest wait a 429's hint is taken for. A larger hint — a hostile or broken
/// `Retry-After: 1e20`, `inf`, or twenty digits — is clamped to it instead of overflowing
/// `Duration`/`Instant` arithmetic (`Duration::from_secs_f64` panics past `u64::MAX` seconds);
/// being far over any sane `max_retry_after`, it then stops the call with the resumable
/// [`Error::RateLimited`], as any hint longer than the policy allows does.
const MAX_RETRY_HINT: Duration = Duration::from_secs(24 * 60 * 60);

/// `Retry-After` in seconds (integer or decimal), at most [`MAX_RETRY_HINT`]. A value that is
/// no delay at all (negative, NaN, text) is ignored, as if absent. HTTP dates are not used by
/// Klaviyo.
fn parse_retry_after(v: &str) -> Option<Duration> {
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
fn available_in(detail: &str) -> Option<Duration> {
    let rest = &detail[detail.find("available in ")? + "available in ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    // Only digits: a parse error is an overflow of u64.
    let secs = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(secs).min(MAX_RETRY_HINT))
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
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct JobsDoc {
    data: Vec<JobRes>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

/// The `page[cursor]` of a collection's `links.next` URL.
fn next_cursor(links: &Option<Links>) -> Option<String> {
    let next = links.as_ref()?.next.as_deref()?;
    let url = Url::parse(next).ok()?;
    let cursor = url
        .query_pairs()
        .find(|(k, _)| k == "page[cursor]")
        .map(|(_, v)| v.into_owned());
    cursor.filter(|c| !c.is_empty())
}

/// A page of `{"type": "profile", "id": …}` identifiers.
fn ids_page(body: &[u8]) -> Result<Page<String>, Error> {
    #[derive(Deserialize)]
    struct Doc {
        data: Vec<Ident>,
        #[serde(default)]
        links: Option<Links>,
    }
    #[derive(Deserialize)]
    struct Ident {
        id: String,
    }
    let doc: Doc = decode(body)?;
    Ok(Page {
        items: doc.data.into_iter().map(|i| i.id).collect(),
        next_cursor: next_cursor(&doc.links),
    })
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

    #[test]
    fn html_bodies_become_short_excerpts() {
        let e = excerpt(b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>");
        assert_eq!(e, "502 Bad Gateway 502 Bad Gateway");
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
