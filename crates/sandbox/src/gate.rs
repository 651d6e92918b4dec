//! What every `/api` request goes through before its handler, in this order:
//! injected faults → authentication (401) → scopes (403, the spec's `x-klaviyo-scopes`) →
//! rate limits (429, the spec's `x-klaviyo-ratelimit`) → `revision` header (400) → handler.
//! Non-429 answers that passed the rate limiter carry `RateLimit-Limit`, `RateLimit-Remaining`
//! and `RateLimit-Reset` (the steady window) when limits are [`crate::Limits::Real`].

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use segport_klaviyo::spec::Operation;

use crate::error::ApiError;
use crate::faults::{decide, FaultAction};
use crate::limits::Verdict;
use crate::{AppState, ConnKill};

/// The spec operation a request was routed to (`None` for `/__sandbox` and unknown routes).
fn operation(state: &AppState, req: &Request) -> Option<&'static Operation> {
    let path = req.extensions().get::<MatchedPath>()?.as_str();
    state
        .operations
        .get(&(req.method().as_str(), path))
        .copied()
}

/// The key of `Authorization: Klaviyo-API-Key <key>`, if the header has that form.
fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Klaviyo-API-Key ")
        .map(str::trim)
}

pub async fn gate(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(op) = operation(&s, &req) else {
        return next.run(req).await;
    };
    let decision = decide(&mut s.faults(), op);
    for key in &decision.revoke {
        s.revoke(key);
    }
    match decision.action {
        FaultAction::Ok => {}
        FaultAction::Slow(delay) => tokio::time::sleep(delay).await,
        FaultAction::Status(code) => return server_error(code),
        FaultAction::Html(code) => return html_error(code),
        FaultAction::Throttle(secs) => return throttled(secs, s.retry_after),
        FaultAction::ThrottleBare => return throttled_bare(),
        FaultAction::ThrottleRaw(raw) => return throttled_raw(&raw),
        FaultAction::Drop => {
            if let Some(kill) = req.extensions().get::<ConnKill>() {
                s.stats().answered(&crate::route_of(&req), "dropped");
                kill.0.notify_one();
                // The connection task drops this future together with the connection.
                return std::future::pending().await;
            }
            return html_error(502);
        }
        FaultAction::Revoke => {
            if let Some(key) = api_key(req.headers()) {
                s.revoke(key);
            }
        }
        FaultAction::EchoKey => {
            let key = api_key(req.headers()).unwrap_or("none");
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                "Invalid input.",
                format!("The API key {key} cannot be used for this request."),
            )
            .pointer("/data")
            .into_response();
        }
    }
    if let Err(e) = authorize(&s, req.headers(), op.scopes) {
        return e.into_response();
    }
    let headers = match s.limiter.check(op) {
        Verdict::Throttled(secs) => return throttled(secs, s.retry_after),
        Verdict::Allowed(h) => h,
    };
    let mut resp = match check_revision(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    if let Some(h) = headers {
        let hs = resp.headers_mut();
        for (name, value) in [
            ("ratelimit-limit", u64::from(h.limit)),
            ("ratelimit-remaining", u64::from(h.remaining)),
            ("ratelimit-reset", h.reset_secs),
        ] {
            hs.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }
    resp
}

/// Authentication (401: missing, malformed, unknown or revoked key) and scopes (403).
fn authorize(state: &AppState, headers: &HeaderMap, scopes: &[&str]) -> Result<(), ApiError> {
    let not_authenticated = |title: &'static str, detail: &str| {
        ApiError::new(StatusCode::UNAUTHORIZED, "not_authenticated", title, detail)
    };
    if headers.get(header::AUTHORIZATION).is_none() {
        return Err(not_authenticated(
            "Authentication credentials were not provided.",
            "Missing Authorization header. Use `Authorization: Klaviyo-API-Key <private key>`.",
        ));
    }
    let Some(key) = api_key(headers) else {
        return Err(not_authenticated(
            "Authentication credentials were not provided.",
            "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.",
        ));
    };
    let granted = match state.keys.get(key) {
        Some(g) if !state.is_revoked(key) => g,
        _ => {
            return Err(not_authenticated(
                "Incorrect authentication credentials.",
                "The API key is not valid or has been revoked.",
            ))
        }
    };
    let missing: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| !granted.contains(*s))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            "You do not have permission to perform this action.",
            format!(
                "This API key is missing required scopes: {}.",
                missing.join(", ")
            ),
        ));
    }
    Ok(())
}

fn check_revision(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get("revision") else {
        return Err(ApiError::invalid(format!(
            "Missing required header `revision`. Send the API revision in YYYY-MM-DD format, e.g. `revision: {}`.",
            crate::REVISION
        ))
        .parameter("revision"));
    };
    let value = value.to_str().unwrap_or("");
    let date = value.split('.').next().unwrap_or("");
    let b = date.as_bytes();
    let well_formed = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !well_formed {
        return Err(ApiError::invalid(format!(
            "Invalid revision `{value}`. Use the format YYYY-MM-DD[.suffix], e.g. {}.",
            crate::REVISION
        ))
        .parameter("revision"));
    }
    Ok(())
}

/// 429 `throttled`, with `Retry-After: secs` unless switched off.
pub fn throttled(secs: u64, retry_after: bool) -> Response {
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "throttled",
        "Request was throttled.",
        format!("Request was throttled. Expected available in {secs} seconds."),
    )
    .into_response();
    if retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// 429 `throttled` with neither `Retry-After` nor a time in the detail (fault `429:none`).
fn throttled_bare() -> Response {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "throttled",
        "Request was throttled.",
        "Request was throttled.",
    )
    .into_response()
}

/// 429 `throttled` with `Retry-After: <raw>` exactly as the fault gives it (fault `429:raw:TEXT`)
/// and no time in the detail, so that only the header can say how long to wait.
fn throttled_raw(raw: &str) -> Response {
    let mut resp = throttled_bare();
    if let Ok(v) = HeaderValue::from_str(raw) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A JSON:API 5xx document, like Klaviyo's own server errors.
fn server_error(code: u16) -> Response {
    let (code_str, title) = match code {
        503 => ("service_unavailable", "Service unavailable."),
        504 => ("gateway_timeout", "Gateway timeout."),
        _ => ("error", "A server error occurred."),
    };
    ApiError::new(
        status(code),
        code_str,
        title,
        "An unexpected error occurred. Please try again later (injected by the sandbox).",
    )
    .into_response()
}

/// An HTML error page as a proxy or CDN in front of the API answers it.
fn html_error(code: u16) -> Response {
    let reason = match code {
        502 => "Bad Gateway",
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        524 => "A timeout occurred",
        _ => "Error",
    };
    let body = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut resp = (status(code), body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}
