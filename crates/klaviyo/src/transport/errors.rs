//! Failed attempts mapped to [`Error`] and to whether they may be retried ([`Retry`]): network
//! failures ([`transport_error`]) and non-2xx answers ([`status_error`], which reads Klaviyo's
//! JSON:API error document or, from a proxy, a short excerpt of its page).

use std::time::Duration;

use reqwest::{StatusCode, Url};

use super::retry::{available_in, Retry};
use crate::{error, ApiError, Error};

/// A network failure (no HTTP answer). Only the scheme, host and port of the URL are shown:
/// its path and query may hold ids or emails.
pub(crate) fn transport_error(e: &reqwest::Error, url: &Url) -> (Error, Retry) {
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
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// A non-2xx answer.
pub(crate) fn status_error(
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
) -> (Error, Retry) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_become_short_excerpts() {
        let e = excerpt(b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>");
        assert_eq!(e, "502 Bad Gateway 502 Bad Gateway");
    }
}
