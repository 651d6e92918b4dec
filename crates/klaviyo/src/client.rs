//! [`Client`]: its construction (headers, timeouts, the shared rate limiter), the `with_*`
//! builders, and the statistics its clones share. The requests themselves are in `transport`,
//! the endpoints in `api/*`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::Url;

use crate::transport::errors::root_cause;
use crate::{jsonapi, limiter, spec, ApiKey, CancellationToken, Error, LimiterConfig, RetryPolicy};

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
pub(crate) struct StatsCell(std::sync::Mutex<ClientStats>);

impl StatsCell {
    pub(crate) fn update(&self, f: impl FnOnce(&mut ClientStats)) {
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
    pub(crate) http: reqwest::Client,
    pub(crate) inner: Arc<Inner>,
    pub(crate) limits: Arc<limiter::AccountLimits>,
    /// Salted hash of the key (the limiter registry's key); never the key itself.
    key_hash: u64,
    pub(crate) stats: Arc<StatsCell>,
    pub(crate) cancel: CancellationToken,
}

pub(crate) struct Inner {
    pub(crate) base: Url,
    pub(crate) retry: RetryPolicy,
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
        headers.insert("revision", HeaderValue::from_static(spec::REVISION));
        headers.insert(ACCEPT, HeaderValue::from_static(jsonapi::MEDIA_TYPE));
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

    /// Sleeps, unless the client is cancelled first.
    pub(crate) async fn sleep(&self, d: Duration) -> Result<(), Error> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(Error::Cancelled),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
