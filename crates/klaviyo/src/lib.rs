//! The Klaviyo API client Segport uses (revision [`REVISION`]). No Tauri.
//!
//! Where things are:
//!
//! * `key.rs` — [`ApiKey`]; `client.rs` — [`Client`], its `with_*` builders, [`ClientStats`].
//! * `api/*.rs` — the endpoints, one file per resource (accounts, lists, jobs, profiles,
//!   subscriptions), each with its types and an `impl Client` block.
//! * `transport/` — the one request path every endpoint goes through (`Client::send` with a
//!   `Request`): the rate limiter of its operation (see `limiter.rs`: per account and per
//!   operation, burst and steady windows with the numbers of [`spec::OPERATIONS`]), headers,
//!   retries with backoff and jitter (`retry.rs`), cancellation, and the mapping of answers to
//!   [`Error`] (`errors.rs`).
//! * `jsonapi.rs` — request bodies and the JSON:API reading helpers; `spec.rs` — generated
//!   from the OpenAPI spec: every operation, the ones Segport uses by name, and [`REVISION`].
//!
//! What it does for callers:
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

mod api;
mod client;
mod error;
mod jsonapi;
mod key;
mod limiter;
pub mod spec;
mod transport;

pub use api::accounts::Account;
pub use api::jobs::{ImportError, Job, JobStatus, JobsQuery};
pub use api::lists::{List, ListsPage, ListsQuery};
pub use api::profiles::{Identifier, ProfileRef};
pub use client::{Client, ClientStats};
pub use error::{ApiError, Error};
pub use jsonapi::{
    bulk_import_body, bulk_import_envelope_len, bulk_subscribe_body, create_list_body,
    remove_profiles_body, Page, Subscriber,
};
pub use key::ApiKey;
pub use limiter::LimiterConfig;
/// The API revision this client is written and tested against (pinned; generated).
pub use spec::REVISION;
pub use tokio_util::sync::CancellationToken;
pub use transport::RetryPolicy;

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
