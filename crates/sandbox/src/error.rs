//! JSON:API error documents, shaped like Klaviyo's:
//! `{"errors":[{"id","status","code","title","detail","source":{"pointer"|"parameter"}}]}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Where an error points in the request.
#[derive(Debug, Clone)]
pub enum Source {
    /// A JSON pointer into the request body.
    Pointer(String),
    /// A query parameter or header name.
    Parameter(String),
}

/// One JSON:API error object.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub source: Option<Source>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            title,
            detail: detail.into(),
            source: None,
        }
    }

    pub fn pointer(mut self, pointer: impl Into<String>) -> Self {
        self.source = Some(Source::Pointer(pointer.into()));
        self
    }

    pub fn parameter(mut self, parameter: impl Into<String>) -> Self {
        self.source = Some(Source::Parameter(parameter.into()));
        self
    }

    /// 400 `invalid`.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", "Invalid input.", detail)
    }

    /// 404 `not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.", detail)
    }

    fn to_json(&self) -> serde_json::Value {
        let mut obj = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "status": self.status.as_u16(),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        });
        if let Some(source) = &self.source {
            obj["source"] = match source {
                Source::Pointer(p) => json!({ "pointer": p }),
                Source::Parameter(p) => json!({ "parameter": p }),
            };
        }
        obj
    }
}

/// One or more errors answered together (all share the first error's status).
#[derive(Debug)]
pub struct ApiErrors(pub Vec<ApiError>);

impl From<ApiError> for ApiErrors {
    fn from(e: ApiError) -> Self {
        ApiErrors(vec![e])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        ApiErrors(vec![self]).into_response()
    }
}

impl IntoResponse for ApiErrors {
    fn into_response(self) -> Response {
        let status = self
            .0
            .first()
            .map(|e| e.status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let errors: Vec<serde_json::Value> = self.0.iter().map(ApiError::to_json).collect();
        let body = json!({ "errors": errors }).to_string();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::JSON_API),
        );
        resp
    }
}
