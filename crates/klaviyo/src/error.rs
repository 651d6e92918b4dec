//! Errors of the Klaviyo client. Messages are meant for a person: they say what to do next.
//! No error ever carries the API key or the Authorization header.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// One JSON:API error object from Klaviyo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub title: String,
    pub detail: String,
    /// `source.pointer`: a JSON pointer into the request body, e.g.
    /// `/data/attributes/profiles/data/3/attributes/email`.
    pub pointer: Option<String>,
    /// `source.parameter`: the query parameter or header at fault.
    pub parameter: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if self.detail.is_empty() {
            &self.title
        } else {
            &self.detail
        };
        write!(f, "{text}")?;
        if let Some(p) = &self.pointer {
            write!(f, " (at {p})")?;
        } else if let Some(p) = &self.parameter {
            write!(f, " (parameter {p})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong talking to Klaviyo.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401: the key is unknown, revoked or malformed.
    #[error("Klaviyo rejected the API key: {}. Check that it is a private key (pk_…) that has not been revoked, then edit the connection and paste the key again.", detail.trim_end_matches('.'))]
    KeyRejected { detail: String },
    /// 403: the key lacks a scope the operation needs.
    #[error("The API key lacks a permission this action needs: {}. In Klaviyo, edit the private key to give it the required scopes (accounts:read, lists:read/write, profiles:read/write), then try again.", detail.trim_end_matches('.'))]
    MissingScope { detail: String },
    /// Any other 4xx with JSON:API errors.
    #[error("Klaviyo refused the request (HTTP {status}): {}", summarize(.errors))]
    Invalid { status: u16, errors: Vec<ApiError> },
    /// 429 after all retries.
    #[error("Klaviyo's rate limit was reached{}. Wait a little and try again.", retry_hint(.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx (or a non-JSON answer from a proxy) after all retries.
    #[error("Klaviyo had a server error (HTTP {status}): {body_excerpt}. This is usually temporary; try again in a few minutes.")]
    Server { status: u16, body_excerpt: String },
    /// Connection refused, DNS failure, TLS failure, connection reset…
    #[error("Could not reach {url}: {reason}. Check the base URL and your network connection.")]
    Unreachable { url: String, reason: String },
    /// No answer within the client's timeout.
    #[error("Klaviyo did not answer in time. Check your network connection and try again.")]
    Timeout,
    /// A 2xx answer that does not have the expected shape.
    #[error("Klaviyo sent an answer Segport could not read: {0}. The API may have changed; check for a Segport update.")]
    Decode(String),
    /// The client's cancellation token was cancelled (the run was stopped).
    #[error("The request to Klaviyo was cancelled.")]
    Cancelled,
    /// The configured base URL is not a usable http(s) URL.
    #[error("The base URL is not valid: {0}. Use https://a.klaviyo.com, or the sandbox's http://127.0.0.1:PORT.")]
    InvalidBaseUrl(String),
}

impl Error {
    /// A stable machine-readable code for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::KeyRejected { .. } => "klaviyo.key_rejected",
            Error::MissingScope { .. } => "klaviyo.missing_scope",
            Error::Invalid { .. } => "klaviyo.invalid",
            Error::RateLimited { .. } => "klaviyo.rate_limited",
            Error::Server { .. } => "klaviyo.server_error",
            Error::Unreachable { .. } => "klaviyo.unreachable",
            Error::Timeout => "klaviyo.timeout",
            Error::Decode(_) => "klaviyo.decode",
            Error::InvalidBaseUrl(_) => "klaviyo.invalid_base_url",
            Error::Cancelled => "klaviyo.cancelled",
        }
    }

    /// The JSON pointers of an [`Error::Invalid`] (empty for other errors): with a bulk import,
    /// these name the rows to drop before resending.
    pub fn pointers(&self) -> Vec<&str> {
        match self {
            Error::Invalid { errors, .. } => {
                errors.iter().filter_map(|e| e.pointer.as_deref()).collect()
            }
            _ => Vec::new(),
        }
    }
}

fn summarize(errors: &[ApiError]) -> String {
    match errors {
        [] => "no details given".to_owned(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (available again in {} s)", d.as_secs().max(1)),
        None => String::new(),
    }
}

#[derive(Deserialize)]
pub(crate) struct ErrorDoc {
    #[serde(default)]
    pub errors: Vec<RawApiError>,
}

#[derive(Deserialize)]
pub(crate) struct RawApiError {
    #[serde(default)]
    status: Option<serde_json::Value>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    source: Option<RawSource>,
}

#[derive(Deserialize)]
struct RawSource {
    #[serde(default)]
    pointer: Option<String>,
    #[serde(default)]
    parameter: Option<String>,
}

impl RawApiError {
    pub(crate) fn into_api_error(self, http_status: u16) -> ApiError {
        let status = match &self.status {
            Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .unwrap_or(http_status);
        let (pointer, parameter) = match self.source {
            Some(s) => (s.pointer, s.parameter),
            None => (None, None),
        };
        ApiError {
            status,
            code: self.code.unwrap_or_default(),
            title: self.title.unwrap_or_default(),
            detail: self.detail.unwrap_or_default(),
            pointer,
            parameter,
        }
    }
}
