//! [`Request`]: everything the one request path needs to send one call — its operation (which
//! gives the rate limiter, the method and the path template), the filled-in path, the query,
//! the body and whether it may be sent twice.

use bytes::Bytes;
use reqwest::{Method, Url};

use crate::spec::Operation;

/// One call to Klaviyo, built by an endpoint of `api/*` and sent by `Client::send`.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The spec operation: the rate limiter it waits for, its method and path template.
    pub op: &'static Operation,
    /// The operation's path with its `{…}` parameter filled in (percent-encoded).
    pub path: String,
    /// Query parameters, in the order they are sent.
    pub query: Vec<(&'static str, String)>,
    /// A JSON:API document (sent as `application/vnd.api+json`).
    pub body: Option<Bytes>,
    /// Whether Klaviyo acting on it twice has the effect of once: then it is also retried after
    /// failures that may have reached Klaviyo (5xx, timeouts, lost connections).
    pub idempotent: bool,
}

impl Request {
    /// A call of `op`, whose path has no parameter. Idempotent as its HTTP method says (GET,
    /// PUT, DELETE); a POST that is an upsert says so with [`Request::idempotent`].
    pub fn new(op: &'static Operation) -> Request {
        debug_assert!(!op.path.contains('{'), "{} needs an id", op.id);
        Request::at(op, op.path.to_owned())
    }

    /// A call of `op` for the resource `id` (the path's one `{…}` parameter).
    pub fn with_id(op: &'static Operation, id: &str) -> Request {
        let path = match (op.path.find('{'), op.path.find('}')) {
            (Some(open), Some(close)) if open < close => {
                debug_assert!(!op.path[close..].contains('{'), "{}: one id", op.id);
                let (before, after) = (&op.path[..open], &op.path[close + 1..]);
                format!("{before}{}{after}", path_segment(id))
            }
            _ => {
                debug_assert!(false, "{} has no path parameter", op.id);
                op.path.to_owned()
            }
        };
        Request::at(op, path)
    }

    fn at(op: &'static Operation, path: String) -> Request {
        Request {
            op,
            path,
            query: Vec::new(),
            body: None,
            idempotent: matches!(op.method, "GET" | "PUT" | "DELETE"),
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Request {
        self.query.push((key, value.into()));
        self
    }

    /// Adds `page[cursor]` when there is a cursor.
    pub fn cursor(self, cursor: Option<&str>) -> Request {
        match cursor {
            Some(c) => self.query("page[cursor]", c),
            None => self,
        }
    }

    /// Sets the body (a JSON:API document, see `jsonapi`).
    pub fn body(mut self, body: String) -> Request {
        self.body = Some(Bytes::from(body.into_bytes()));
        self
    }

    /// Overrides whether the call may be sent twice (for POSTs that are upserts).
    pub fn idempotent(mut self, idempotent: bool) -> Request {
        self.idempotent = idempotent;
        self
    }

    /// The HTTP method of the operation.
    pub fn method(&self) -> Method {
        method_of(self.op.method)
    }

    /// The full URL under `base` (whose own path, if any, is kept as a prefix).
    pub fn url(&self, base: &Url) -> Url {
        let mut url = base.clone();
        url.set_path(&format!(
            "{}{}",
            base.path().trim_end_matches('/'),
            self.path
        ));
        if !self.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }
}

/// The spec's method names (the generator admits only these five).
fn method_of(name: &str) -> Method {
    match name {
        "POST" => Method::POST,
        "PATCH" => Method::PATCH,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        _ => Method::GET,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec;

    #[test]
    fn every_method_of_the_spec_maps_to_itself() {
        for op in spec::OPERATIONS {
            assert_eq!(method_of(op.method).as_str(), op.method, "{}", op.id);
        }
    }

    #[test]
    fn ids_fill_the_path_parameter_percent_encoded() {
        let req = Request::with_id(&spec::GET_BULK_IMPORT_PROFILES_JOB, "a/b c");
        assert_eq!(req.path, "/api/profile-bulk-import-jobs/a%2Fb%20c");
        let req = Request::with_id(&spec::GET_PROFILE_IDS_FOR_LIST, "L1");
        assert_eq!(req.path, "/api/lists/L1/relationships/profiles");
        let base = Url::parse("http://127.0.0.1:9/prefix/").expect("url");
        let url = req
            .query("page[size]", "100")
            .cursor(Some("c&d"))
            .url(&base);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/api/lists/L1/relationships/profiles?page%5Bsize%5D=100&page%5Bcursor%5D=c%26d"
        );
    }

    #[test]
    fn idempotency_follows_the_method_unless_overridden() {
        assert!(Request::new(&spec::GET_LISTS).idempotent);
        assert!(!Request::new(&spec::CREATE_LIST).idempotent);
        assert!(Request::with_id(&spec::REMOVE_PROFILES_FROM_LIST, "L").idempotent);
        assert!(
            Request::new(&spec::BULK_IMPORT_PROFILES)
                .idempotent(true)
                .idempotent
        );
    }
}
