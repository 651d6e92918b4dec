//! JSON:API, the format of every body Klaviyo takes and gives.
//!
//! * Request bodies, built without sending them: the client sends exactly these strings, and
//!   the conformance tests validate them against the official request schemas of the spec.
//! * Reading answers: [`decode`] (a 2xx answer of the wrong shape is [`Error::Decode`]),
//!   collections' `links.next` cursors, [`Page`]s of ids.
//! * Filter values ([`quoted`]).
//!
//! Each resource's own documents (`ListDoc`, `JobRes`, …) are in its `api/*` file.

use reqwest::Url;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::Error;

/// The JSON:API media type (`Accept` of every request, `Content-Type` of every body).
pub(crate) const MEDIA_TYPE: &str = "application/vnd.api+json";

/// Bytes of a bulk import request body around the profiles. For `n` profiles:
/// `body_len = bulk_import_envelope_len(list_id) + sum(profile lens) + (n - 1)` (commas).
pub fn bulk_import_envelope_len(list_id: &str) -> usize {
    let (prefix, suffix) = bulk_import_envelope(list_id);
    prefix.len() + suffix.len()
}

fn bulk_import_envelope(list_id: &str) -> (&'static str, String) {
    let prefix = r#"{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":["#;
    let id = Value::String(list_id.to_owned()).to_string();
    let suffix = [
        r#"]}},"relationships":{"lists":{"data":[{"type":"list","id":"#,
        &id,
        "}]}}}}",
    ]
    .concat();
    (prefix, suffix)
}

/// The body of `POST /api/profile-bulk-import-jobs` (schema `ProfileImportJobCreateQuery`).
/// Each element of `profiles` is one serialized profile resource
/// (`{"type":"profile","attributes":{…}}`); they are concatenated, not re-serialized.
pub fn bulk_import_body(list_id: &str, profiles: &[String]) -> String {
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
    body
}

/// The body of `POST /api/lists` (schema `ListCreateQuery`).
pub fn create_list_body(name: &str) -> String {
    json!({ "data": { "type": "list", "attributes": { "name": name } } }).to_string()
}

/// The body of `DELETE /api/lists/{id}/relationships/profiles` (schema
/// `ListMembersDeleteQuery`): at most [`crate::MAX_PROFILES_PER_REMOVE`] ids.
pub fn remove_profiles_body(profile_ids: &[String]) -> String {
    let data: Vec<Value> = profile_ids
        .iter()
        .map(|id| json!({ "type": "profile", "id": id }))
        .collect();
    json!({ "data": data }).to_string()
}

/// A profile to subscribe to marketing: its email gets email marketing consent, its phone
/// number (E.164) SMS marketing consent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscriber {
    pub email: Option<String>,
    pub phone_number: Option<String>,
}

/// The body of `POST /api/profile-subscription-bulk-create-jobs` (schema
/// `SubscriptionCreateJobCreateQuery`): at most [`crate::MAX_PROFILES_PER_SUBSCRIBE`]
/// subscribers, added to `list_id` when given.
pub fn bulk_subscribe_body(
    list_id: Option<&str>,
    subscribers: &[Subscriber],
    custom_source: Option<&str>,
) -> String {
    let subscribed = || json!({ "marketing": { "consent": "SUBSCRIBED" } });
    let profiles: Vec<Value> = subscribers
        .iter()
        .map(|s| {
            let mut attributes = serde_json::Map::new();
            let mut subscriptions = serde_json::Map::new();
            if let Some(email) = &s.email {
                attributes.insert("email".into(), json!(email));
                subscriptions.insert("email".into(), subscribed());
            }
            if let Some(phone) = &s.phone_number {
                attributes.insert("phone_number".into(), json!(phone));
                subscriptions.insert("sms".into(), subscribed());
            }
            attributes.insert("subscriptions".into(), Value::Object(subscriptions));
            json!({ "type": "profile", "attributes": attributes })
        })
        .collect();
    let mut attributes = json!({ "profiles": { "data": profiles } });
    if let Some(source) = custom_source {
        attributes["custom_source"] = json!(source);
    }
    let mut data =
        json!({ "type": "profile-subscription-bulk-create-job", "attributes": attributes });
    if let Some(id) = list_id {
        data["relationships"] = json!({ "list": { "data": { "type": "list", "id": id } } });
    }
    json!({ "data": data }).to_string()
}

/// A JSON:API filter string value: double-quoted with JSON escapes.
pub(crate) fn quoted(v: &str) -> String {
    Value::String(v.to_owned()).to_string()
}

/// A 2xx answer's document; one of another shape is [`Error::Decode`].
pub(crate) fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Decode(e.to_string()))
}

/// One page of a collection, with the cursor of the next page (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A collection's `links`.
#[derive(Deserialize)]
pub(crate) struct Links {
    #[serde(default)]
    next: Option<String>,
}

/// The `page[cursor]` of a collection's `links.next` URL.
pub(crate) fn next_cursor(links: &Option<Links>) -> Option<String> {
    let next = links.as_ref()?.next.as_deref()?;
    let url = Url::parse(next).ok()?;
    let cursor = url
        .query_pairs()
        .find(|(k, _)| k == "page[cursor]")
        .map(|(_, v)| v.into_owned());
    cursor.filter(|c| !c.is_empty())
}

/// A page of `{"type": "profile", "id": …}` identifiers.
pub(crate) fn ids_page(body: &[u8]) -> Result<Page<String>, Error> {
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
