//! Route handlers. Authentication, scopes, rate limits and the revision header are checked
//! before a handler runs (see `gate.rs`); handlers check content type and input.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiErrors};
use crate::store::{self, ImportErrorRec, JobRec, JobStatus, PendingProfile, UpsertError};
use crate::{AppState, Fault, JSON_API, MAX_JOB_BYTES, MAX_PROFILES_PER_JOB, MAX_PROFILE_BYTES};

type S = State<Arc<AppState>>;
type Params = Query<Vec<(String, String)>>;
type ApiResult = Result<Response, ApiErrors>;

/// Most profiles `DELETE`/`POST /api/lists/{id}/relationships/profiles` and the bulk subscribe
/// job accept in one request.
const MAX_IDS_PER_CALL: usize = 1000;

const LIST_FIELDS: &[&str] = &["created", "id", "name", "opt_in_process", "updated"];
const JOB_FIELDS: &[&str] = &[
    "completed_at",
    "completed_count",
    "created_at",
    "expires_at",
    "failed_count",
    "id",
    "started_at",
    "status",
    "total_count",
];

// ---------------------------------------------------------------------------------------------
// Common checks

/// Reads `fields[TYPE]=a,b` (sparse fieldsets). `None` = all fields.
fn sparse_fields(
    params: &[(String, String)],
    ty: &str,
    allowed: &[&str],
) -> Result<Option<Vec<String>>, ApiError> {
    let key = format!("fields[{ty}]");
    let Some((_, v)) = params.iter().find(|(k, _)| *k == key) else {
        return Ok(None);
    };
    let fields: Vec<String> = v.split(',').map(|f| f.trim().to_owned()).collect();
    for f in &fields {
        if !allowed.contains(&f.as_str()) {
            return Err(ApiError::invalid(format!(
                "'{f}' is not a valid field for the resource '{ty}'. Valid fields: {}.",
                allowed.join(", ")
            ))
            .parameter(key));
        }
    }
    Ok(Some(fields))
}

/// Keeps only the requested attributes of a resource object.
fn sparse(mut resource: Value, fields: &Option<Vec<String>>) -> Value {
    if let (Some(fields), Some(attrs)) = (fields, resource["attributes"].as_object_mut()) {
        attrs.retain(|k, _| fields.iter().any(|f| f == k));
    }
    resource
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == JSON_API || essence == "application/json" {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type.",
            format!("Unsupported media type \"{ct}\" in request. Use {JSON_API}."),
        ))
    }
}

fn doc(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
    resp
}

/// Where a bulk request's profiles sit, for JSON pointers.
const PROFILES: &str = "/data/attributes/profiles/data";

/// The checks every profile of a bulk request passes first: `type` is "profile" and an email,
/// when given, is a syntactically valid address (else the whole request is refused).
fn check_profile(i: usize, ty: &str, email: Option<&str>) -> Result<(), ApiError> {
    if ty != "profile" {
        return Err(
            ApiError::invalid(format!("Expected type \"profile\", got \"{ty}\"."))
                .pointer(format!("{PROFILES}/{i}/type")),
        );
    }
    if let Some(email) = email {
        if !email_address::EmailAddress::is_valid(email) {
            return Err(
                ApiError::invalid(format!("Invalid email address: \"{email}\"."))
                    .pointer(format!("{PROFILES}/{i}/attributes/email")),
            );
        }
    }
    Ok(())
}

/// `sort=FIELD` (ascending, the default) or `sort=-FIELD`: true when descending.
fn sort_descending(params: &[(String, String)], field: &str) -> Result<bool, ApiErrors> {
    match params
        .iter()
        .find(|(k, _)| k == "sort")
        .map(|(_, v)| v.as_str())
    {
        None => Ok(false),
        Some(v) if v == field => Ok(false),
        Some(v) if v.strip_prefix('-') == Some(field) => Ok(true),
        Some(other) => Err(ApiError::invalid(format!(
            "Invalid sort `{other}`. Use {field} or -{field}."
        ))
        .parameter("sort")
        .into()),
    }
}

/// Reads `page[size]` (1..=max, default `default`) and `page[cursor]` (an offset).
fn paging(
    params: &[(String, String)],
    default: usize,
    max: usize,
) -> Result<(usize, usize), ApiError> {
    let mut size = default;
    let mut offset = 0;
    for (k, v) in params {
        match k.as_str() {
            "page[size]" => {
                size = match v.parse::<usize>() {
                    Ok(n) if (1..=max).contains(&n) => n,
                    _ => {
                        return Err(ApiError::invalid(format!(
                            "Invalid page size `{v}`: it must be an integer between 1 and {max}."
                        ))
                        .parameter("page[size]"))
                    }
                }
            }
            "page[cursor]" => {
                offset = v.parse::<usize>().map_err(|_| {
                    ApiError::invalid(format!("Invalid page cursor `{v}`."))
                        .parameter("page[cursor]")
                })?
            }
            _ => {}
        }
    }
    Ok((size, offset))
}

fn reject_unknown_params(params: &[(String, String)], known: &[&str]) -> Result<(), ApiError> {
    for (k, _) in params {
        if !(known.contains(&k.as_str()) || k.starts_with("fields[")) {
            return Err(ApiError::invalid(format!(
                "'{k}' is not a valid query parameter for this endpoint."
            ))
            .parameter(k.clone()));
        }
    }
    Ok(())
}

/// Percent-encodes a query component.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn page_link(base: &str, path: &str, params: &[(String, String)], cursor: Option<usize>) -> String {
    let mut parts: Vec<String> = params
        .iter()
        .filter(|(k, _)| k != "page[cursor]")
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    if let Some(c) = cursor {
        parts.push(format!("{}={c}", enc("page[cursor]")));
    }
    if parts.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{}", parts.join("&"))
    }
}

fn collection(
    state: &AppState,
    path: &str,
    params: &[(String, String)],
    data: Vec<Value>,
    offset: usize,
    size: usize,
    total: usize,
) -> Value {
    let next = (offset + size < total)
        .then(|| page_link(&state.base_url, path, params, Some(offset + size)));
    let prev = (offset > 0).then(|| {
        page_link(
            &state.base_url,
            path,
            params,
            Some(offset.saturating_sub(size)),
        )
    });
    // The spec's CollectionLinks has `next`/`prev` as (non-nullable) strings: omit them when
    // there is no such page.
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!(page_link(
            &state.base_url,
            path,
            params,
            (offset > 0).then_some(offset)
        )),
    );
    if let Some(next) = next {
        links.insert("next".into(), json!(next));
    }
    if let Some(prev) = prev {
        links.insert("prev".into(), json!(prev));
    }
    json!({ "data": data, "links": links })
}

/// A filter of the form `equals(field,"v")`, `equals(field,["v"])` or `any(field,["a","b"])`.
struct Filter {
    field: String,
    values: Vec<String>,
}

fn parse_filter(raw: &str, fields: &[&str]) -> Result<Filter, ApiError> {
    let bad = || {
        ApiError::invalid(format!(
            "Invalid filter `{raw}`. Supported: equals({f},\"value\") or any({f},[\"a\",\"b\"]).",
            f = fields.join("|")
        ))
        .parameter("filter")
    };
    let s = raw.trim();
    let (op, rest) = s.split_once('(').ok_or_else(bad)?;
    let inner = rest.strip_suffix(')').ok_or_else(bad)?;
    let (field, value) = inner.split_once(',').ok_or_else(bad)?;
    let field = field.trim();
    if !fields.contains(&field) || !(op == "equals" || op == "any") {
        return Err(bad());
    }
    let value = value.trim();
    let mut values = Vec::new();
    if let Some(list) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        let mut rest = list.trim();
        while !rest.is_empty() {
            let (v, after) = parse_quoted(rest).ok_or_else(bad)?;
            values.push(v);
            rest = after.trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        }
    } else {
        if op == "any" {
            return Err(bad());
        }
        let (v, after) = parse_quoted(value).ok_or_else(bad)?;
        if !after.trim().is_empty() {
            return Err(bad());
        }
        values.push(v);
    }
    Ok(Filter {
        field: field.to_owned(),
        values,
    })
}

/// Parses a '…' or "…" string (backslash escapes), returning it and the rest of the input.
fn parse_quoted(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    let (_, quote) = chars.next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some((out, &s[i + c.len_utf8()..]));
        } else {
            out.push(c);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Accounts

pub async fn get_accounts(State(s): S, Query(params): Params) -> ApiResult {
    reject_unknown_params(&params, &[])?;
    let base = &s.base_url;
    let account = json!({
        "type": "account",
        "id": s.account_id,
        "attributes": {
            "test_account": true,
            "contact_information": {
                "default_sender_name": s.account_name,
                "default_sender_email": "sandbox@example.com",
                "website_url": null,
                "organization_name": s.account_name,
                "street_address": {
                    "address1": "1 Sandbox Street",
                    "address2": null,
                    "city": "Localhost",
                    "region": null,
                    "country": "US",
                    "zip": "00000"
                }
            },
            "industry": null,
            "timezone": "UTC",
            "preferred_currency": "USD",
            "public_api_key": s.public_key,
            "locale": "en-US"
        },
        "links": { "self": format!("{base}/api/accounts/{}/", s.account_id) }
    });
    Ok(doc(
        StatusCode::OK,
        json!({ "data": [account], "links": { "self": format!("{base}/api/accounts") } }),
    ))
}

// ---------------------------------------------------------------------------------------------
// Lists

fn list_json(base: &str, l: &store::ListRec) -> Value {
    json!({
        "type": "list",
        "id": l.id,
        "attributes": {
            "name": l.name,
            "created": l.created,
            "updated": l.updated,
            "opt_in_process": "single_opt_in"
        },
        "links": { "self": format!("{base}/api/lists/{}/", l.id) }
    })
}

#[derive(Deserialize)]
struct CreateListReq {
    data: CreateListData,
}

#[derive(Deserialize)]
struct CreateListData {
    #[serde(rename = "type")]
    ty: String,
    attributes: CreateListAttrs,
}

#[derive(Deserialize)]
struct CreateListAttrs {
    name: Option<String>,
}

pub async fn create_list(State(s): S, headers: HeaderMap, body: Bytes) -> ApiResult {
    check_content_type(&headers)?;
    let req: CreateListReq = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("Malformed request body: {e}")).pointer("/data"))?;
    if req.data.ty != "list" {
        return Err(
            ApiError::invalid(format!("Expected type \"list\", got \"{}\".", req.data.ty))
                .pointer("/data/type")
                .into(),
        );
    }
    let name = req.data.attributes.name.unwrap_or_default();
    if name.trim().is_empty() {
        return Err(ApiError::invalid("A list name is required.")
            .pointer("/data/attributes/name")
            .into());
    }
    let mut store = s.store();
    let list = store.create_list(&name);
    let body = json!({ "data": list_json(&s.base_url, list), "links": { "self": format!("{}/api/lists/{}/", s.base_url, list.id) } });
    Ok(doc(StatusCode::CREATED, body))
}

pub async fn get_lists(State(s): S, Query(params): Params) -> ApiResult {
    // `include` (tags, flow-triggers) is accepted and ignored: the sandbox has neither.
    reject_unknown_params(
        &params,
        &["page[size]", "page[cursor]", "filter", "sort", "include"],
    )?;
    let sort = params
        .iter()
        .find(|(k, _)| k == "sort")
        .map(|(_, v)| v.as_str());
    let (sort_key, descending) = match sort {
        None => ("created", false),
        Some(s) => {
            let (key, desc) = s.strip_prefix('-').map_or((s, false), |k| (k, true));
            if !["created", "id", "name", "updated"].contains(&key) {
                return Err(ApiError::invalid(format!(
                    "Invalid sort `{s}`. Use created, id, name or updated, optionally prefixed with -."
                ))
                .parameter("sort")
                .into());
            }
            (key, desc)
        }
    };
    let (size, offset) = paging(&params, 10, 10)?;
    let fields = sparse_fields(&params, "list", LIST_FIELDS)?;
    let filter = match params.iter().find(|(k, _)| k == "filter") {
        Some((_, f)) => Some(parse_filter(f, &["name", "id"])?),
        None => None,
    };
    let store = s.store();
    let mut matching: Vec<&store::ListRec> = store
        .lists
        .iter()
        .filter(|l| match &filter {
            None => true,
            Some(f) if f.field == "name" => f.values.contains(&l.name),
            Some(f) => f.values.contains(&l.id),
        })
        .collect();
    match sort_key {
        "id" => matching.sort_by(|a, b| a.id.cmp(&b.id)),
        "name" => matching.sort_by(|a, b| a.name.cmp(&b.name)),
        "updated" => matching.sort_by(|a, b| a.updated.cmp(&b.updated)),
        _ => {} // insertion order is creation order
    }
    if descending {
        matching.reverse();
    }
    let total = matching.len();
    let data = matching
        .iter()
        .skip(offset)
        .take(size)
        .map(|l| sparse(list_json(&s.base_url, l), &fields))
        .collect();
    Ok(doc(
        StatusCode::OK,
        collection(&s, "/api/lists", &params, data, offset, size, total),
    ))
}

pub async fn get_list(State(s): S, Path(id): Path<String>, Query(params): Params) -> ApiResult {
    let fields = sparse_fields(&params, "list", LIST_FIELDS)?;
    let store = s.store();
    let list = store
        .list(&id)
        .ok_or_else(|| ApiError::not_found(format!("A list with id {id} does not exist.")))?;
    let body = json!({ "data": sparse(list_json(&s.base_url, list), &fields), "links": { "self": format!("{}/api/lists/{id}/", s.base_url) } });
    Ok(doc(StatusCode::OK, body))
}

// ---------------------------------------------------------------------------------------------
// Bulk profile import jobs

#[derive(Deserialize)]
struct ImportReq<'a> {
    #[serde(borrow)]
    data: ImportData<'a>,
}

#[derive(Deserialize)]
struct ImportData<'a> {
    #[serde(rename = "type")]
    ty: String,
    #[serde(borrow)]
    attributes: ImportAttrs<'a>,
    #[serde(default)]
    relationships: Option<ImportRels>,
}

#[derive(Deserialize)]
struct ImportAttrs<'a> {
    #[serde(borrow)]
    profiles: ProfilesData<'a>,
}

#[derive(Deserialize)]
struct ProfilesData<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct ImportRels {
    #[serde(default)]
    lists: Option<RelList>,
}

#[derive(Deserialize)]
struct RelList {
    data: Vec<RelId>,
}

#[derive(Deserialize)]
struct RelId {
    #[serde(rename = "type")]
    ty: String,
    id: String,
}

#[derive(Deserialize)]
struct ProfileIn {
    #[serde(rename = "type")]
    ty: String,
    attributes: ProfileAttrsIn,
}

/// The attributes the sandbox keeps. `null` deserializes to `None` ("leave unchanged").
#[derive(Deserialize)]
struct ProfileAttrsIn {
    #[serde(default)]
    email: Option<Box<str>>,
    #[serde(default)]
    phone_number: Option<Box<str>>,
    #[serde(default)]
    external_id: Option<Box<str>>,
    #[serde(default)]
    first_name: Option<Box<str>>,
    #[serde(default)]
    last_name: Option<Box<str>>,
    #[serde(default)]
    organization: Option<Box<str>>,
    #[serde(default)]
    locale: Option<Box<str>>,
    #[serde(default)]
    title: Option<Box<str>>,
    #[serde(default)]
    image: Option<Box<str>>,
    #[serde(default)]
    location: Option<Map<String, Value>>,
    #[serde(default)]
    properties: Option<Map<String, Value>>,
}

/// An identifier that is "" counts as absent (it cannot identify anyone).
fn identifier(v: Option<Box<str>>) -> Option<Box<str>> {
    v.filter(|s| !s.is_empty())
}

pub async fn create_import_job(
    State(s): S,
    headers: HeaderMap,
    Query(params): Params,
    body: Bytes,
) -> ApiResult {
    check_content_type(&headers)?;
    let fields = sparse_fields(&params, "profile-bulk-import-job", JOB_FIELDS)?;
    if body.len() > MAX_JOB_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Payload too large.",
            format!(
                "The request body is {} bytes; the maximum allowed payload size is 5MB ({MAX_JOB_BYTES} bytes).",
                body.len()
            ),
        )
        .into());
    }
    let req: ImportReq<'_> = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("Malformed request body: {e}")).pointer("/data"))?;
    let data = req.data;
    if data.ty != "profile-bulk-import-job" {
        return Err(ApiError::invalid(format!(
            "Expected type \"profile-bulk-import-job\", got \"{}\".",
            data.ty
        ))
        .pointer("/data/type")
        .into());
    }
    let profiles = data.attributes.profiles.data;
    if profiles.is_empty() {
        return Err(ApiError::invalid("At least one profile is required.")
            .pointer(PROFILES)
            .into());
    }
    if profiles.len() > MAX_PROFILES_PER_JOB {
        return Err(ApiError::invalid(format!(
            "A job accepts up to {MAX_PROFILES_PER_JOB} profiles; this request has {}.",
            profiles.len()
        ))
        .pointer(PROFILES)
        .into());
    }

    // Validate every profile; collect all errors (one per bad profile). Syntax errors (a bad
    // email, a missing identifier, an oversized profile) reject the whole request; semantic ones
    // (a phone not in E.164, conflicting identifiers) become import-errors rows later.
    let mut errors = Vec::new();
    let mut pending = Vec::with_capacity(profiles.len());
    for (i, raw) in profiles.iter().enumerate() {
        let text = raw.get();
        if text.len() > MAX_PROFILE_BYTES {
            errors.push(
                ApiError::invalid(format!(
                    "The profile is {} bytes; the maximum allowed payload size per profile is 100KB ({MAX_PROFILE_BYTES} bytes).",
                    text.len()
                ))
                .pointer(format!("{PROFILES}/{i}")),
            );
            continue;
        }
        let p: ProfileIn = match serde_json::from_str(text) {
            Ok(p) => p,
            Err(e) => {
                errors.push(
                    ApiError::invalid(format!("Invalid profile: {e}"))
                        .pointer(format!("{PROFILES}/{i}")),
                );
                continue;
            }
        };
        let a = p.attributes;
        if let Err(e) = check_profile(i, &p.ty, a.email.as_deref()) {
            errors.push(e);
            continue;
        }
        let email = identifier(a.email);
        let phone_number = identifier(a.phone_number);
        let external_id = identifier(a.external_id);
        if email.is_none() && phone_number.is_none() && external_id.is_none() {
            errors.push(
                ApiError::invalid(
                    "A profile needs at least one identifier: email, phone_number or external_id.",
                )
                .pointer(format!("{PROFILES}/{i}/attributes")),
            );
            continue;
        }
        if errors.is_empty() {
            pending.push(PendingProfile {
                email,
                phone_number,
                external_id,
                fields: [
                    a.first_name,
                    a.last_name,
                    a.organization,
                    a.locale,
                    a.title,
                    a.image,
                ],
                location: a.location,
                properties: a.properties,
                raw: text.into(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(ApiErrors(errors));
    }

    let rel_lists = data
        .relationships
        .and_then(|r| r.lists)
        .map(|l| l.data)
        .unwrap_or_default();
    let mut store = s.store();
    let mut list_idx = Vec::with_capacity(rel_lists.len());
    for (i, rel) in rel_lists.iter().enumerate() {
        if rel.ty != "list" {
            return Err(
                ApiError::invalid(format!("Expected type \"list\", got \"{}\".", rel.ty))
                    .pointer(format!("/data/relationships/lists/data/{i}/type"))
                    .into(),
            );
        }
        match store.list_index.get(&rel.id) {
            Some(&idx) => list_idx.push(idx),
            None => {
                return Err(ApiError::not_found(format!(
                    "A list with id {} does not exist.",
                    rel.id
                ))
                .pointer(format!("/data/relationships/lists/data/{i}/id"))
                .into())
            }
        }
    }
    let job = JobRec {
        id: store::ulid_like(),
        status: JobStatus::Queued,
        total_count: pending.len() as u64,
        completed_count: 0,
        failed_count: 0,
        created_at: store::now_ts(),
        started_at: None,
        completed_at: None,
        expires_at: store::ts_in(7),
        list_ids: rel_lists.into_iter().map(|r| r.id).collect(),
        errors: Vec::new(),
        profiles: Vec::new(),
    };
    let body = json!({ "data": sparse(job_json(&s.base_url, &job), &fields) });
    let job_id = job.id.clone();
    store.job_order.push(job_id.clone());
    store.jobs.insert(job_id.clone(), job);
    drop(store);

    let state = s.clone();
    tokio::spawn(process_job(state, job_id, pending, list_idx));
    Ok(doc(StatusCode::ACCEPTED, body))
}

/// queued → (after `job_processing`) processing → complete. Profiles are upserted in chunks so
/// that the store lock is held briefly.
async fn process_job(
    s: Arc<AppState>,
    job_id: String,
    pending: Vec<PendingProfile>,
    lists: Vec<usize>,
) {
    tokio::time::sleep(s.job_processing).await;
    if let Some(job) = s.store().jobs.get_mut(&job_id) {
        job.status = JobStatus::Processing;
        job.started_at = Some(store::now_ts());
    }
    const CHUNK: usize = 2_000;
    let mut iter = pending.into_iter().enumerate().peekable();
    while iter.peek().is_some() {
        {
            let now = store::now_ts();
            let mut guard = s.store();
            let st = &mut *guard;
            let (mut failed, mut errs, mut done) = (0u64, Vec::new(), Vec::new());
            for (i, p) in iter.by_ref().take(CHUNK) {
                if let Some(phone) = p.phone_number.as_deref() {
                    if !store::is_e164(phone) {
                        failed += 1;
                        errs.push(ImportErrorRec {
                            id: uuid::Uuid::new_v4().to_string(),
                            code: "invalid",
                            title: "Invalid input.",
                            detail: format!("Invalid phone number \"{phone}\": use E.164 format, e.g. +48601234567."),
                            pointer: format!("/data/attributes/profiles/data/{i}/attributes/phone_number"),
                            original_payload: p.raw,
                        });
                        continue;
                    }
                }
                let raw = p.raw.clone();
                match st.upsert(p, &now) {
                    Ok(idx) => {
                        for &l in &lists {
                            st.lists[l].members.insert(idx);
                        }
                        done.push(idx);
                    }
                    Err(UpsertError::Conflict(detail)) => {
                        failed += 1;
                        errs.push(ImportErrorRec {
                            id: uuid::Uuid::new_v4().to_string(),
                            code: "duplicate_profile",
                            title: "Conflict.",
                            detail,
                            pointer: format!("/data/attributes/profiles/data/{i}/attributes"),
                            original_payload: raw,
                        });
                    }
                }
            }
            if let Some(job) = st.jobs.get_mut(&job_id) {
                job.completed_count += done.len() as u64;
                job.failed_count += failed;
                job.errors.extend(errs);
                job.profiles.extend(done);
            }
        }
        tokio::task::yield_now().await;
    }
    let now = store::now_ts();
    let mut st = s.store();
    for &l in &lists {
        st.lists[l].updated = now.clone();
    }
    if let Some(job) = st.jobs.get_mut(&job_id) {
        job.status = JobStatus::Complete;
        job.completed_at = Some(now);
    }
}

fn job_json(base: &str, job: &JobRec) -> Value {
    let lists: Vec<Value> = job
        .list_ids
        .iter()
        .map(|id| json!({ "type": "list", "id": id }))
        .collect();
    json!({
        "type": "profile-bulk-import-job",
        "id": job.id,
        "attributes": {
            "status": job.status.as_str(),
            "created_at": job.created_at,
            "total_count": job.total_count,
            "completed_count": job.completed_count,
            "failed_count": job.failed_count,
            "completed_at": job.completed_at,
            "expires_at": job.expires_at,
            "started_at": job.started_at,
        },
        "relationships": {
            "lists": {
                "data": lists,
                "links": {
                    "self": format!("{base}/api/profile-bulk-import-jobs/{}/relationships/lists/", job.id),
                    "related": format!("{base}/api/profile-bulk-import-jobs/{}/lists/", job.id),
                }
            },
            "profiles": {
                "links": {
                    "self": format!("{base}/api/profile-bulk-import-jobs/{}/relationships/profiles/", job.id),
                    "related": format!("{base}/api/profile-bulk-import-jobs/{}/profiles/", job.id),
                }
            }
        },
        "links": { "self": format!("{base}/api/profile-bulk-import-jobs/{}/", job.id) }
    })
}

fn no_job(id: &str) -> ApiError {
    ApiError::not_found(format!("A bulk import job with id {id} does not exist."))
}

pub async fn get_import_job(
    State(s): S,
    Path(job_id): Path<String>,
    Query(params): Params,
) -> ApiResult {
    reject_unknown_params(&params, &["include"])?;
    let fields = sparse_fields(&params, "profile-bulk-import-job", JOB_FIELDS)?;
    let store = s.store();
    let job = store.jobs.get(&job_id).ok_or_else(|| no_job(&job_id))?;
    Ok(doc(
        StatusCode::OK,
        json!({ "data": sparse(job_json(&s.base_url, job), &fields), "links": { "self": format!("{}/api/profile-bulk-import-jobs/{job_id}/", s.base_url) } }),
    ))
}

pub async fn get_import_jobs(State(s): S, Query(params): Params) -> ApiResult {
    reject_unknown_params(&params, &["page[size]", "page[cursor]", "filter", "sort"])?;
    let fields = sparse_fields(&params, "profile-bulk-import-job", JOB_FIELDS)?;
    let (size, offset) = paging(&params, 20, 100)?;
    let filter = match params.iter().find(|(k, _)| k == "filter") {
        Some((_, f)) => Some(parse_filter(f, &["status"])?),
        None => None,
    };
    let descending = sort_descending(&params, "created_at")?;
    let store = s.store();
    let mut jobs: Vec<&JobRec> = store
        .job_order
        .iter()
        .filter_map(|id| store.jobs.get(id))
        .filter(|j| {
            filter
                .as_ref()
                .is_none_or(|f| f.values.iter().any(|v| v == j.status.as_str()))
        })
        .collect();
    if descending {
        jobs.reverse();
    }
    let total = jobs.len();
    let data = jobs
        .iter()
        .skip(offset)
        .take(size)
        .map(|j| sparse(job_json(&s.base_url, j), &fields))
        .collect();
    Ok(doc(
        StatusCode::OK,
        collection(
            &s,
            "/api/profile-bulk-import-jobs",
            &params,
            data,
            offset,
            size,
            total,
        ),
    ))
}

pub async fn get_import_errors(
    State(s): S,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult {
    reject_unknown_params(&params, &["page[size]", "page[cursor]"])?;
    let (size, offset) = paging(&params, 20, 100)?;
    let store = s.store();
    let job = store.jobs.get(&id).ok_or_else(|| no_job(&id))?;
    let data = job
        .errors
        .iter()
        .skip(offset)
        .take(size)
        .map(|e| {
            let payload: Value = serde_json::from_str(&e.original_payload).unwrap_or(Value::Null);
            json!({
                "type": "import-error",
                "id": e.id,
                "attributes": {
                    "code": e.code,
                    "title": e.title,
                    "detail": e.detail,
                    "source": { "pointer": e.pointer },
                    "original_payload": payload,
                },
                "links": { "self": format!("{}/api/import-errors/{}/", s.base_url, e.id) }
            })
        })
        .collect();
    let path = format!("/api/profile-bulk-import-jobs/{id}/import-errors");
    Ok(doc(
        StatusCode::OK,
        collection(&s, &path, &params, data, offset, size, job.errors.len()),
    ))
}

/// Ids of the profiles a job created or updated (empty until it has processed them).
pub async fn get_import_job_profile_ids(
    State(s): S,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult {
    reject_unknown_params(&params, &["page[size]", "page[cursor]"])?;
    let (size, offset) = paging(&params, 20, 100)?;
    let store = s.store();
    let job = store.jobs.get(&id).ok_or_else(|| no_job(&id))?;
    let data = profile_ids(&store, job.profiles.iter().copied().skip(offset).take(size));
    let path = format!("/api/profile-bulk-import-jobs/{id}/relationships/profiles");
    Ok(doc(
        StatusCode::OK,
        collection(&s, &path, &params, data, offset, size, job.profiles.len()),
    ))
}

// ---------------------------------------------------------------------------------------------
// Profiles

fn profile_json(base: &str, p: &store::ProfileRec) -> Value {
    let mut attrs = Map::new();
    attrs.insert("email".into(), json!(p.email.as_deref()));
    attrs.insert("phone_number".into(), json!(p.phone_number.as_deref()));
    attrs.insert("external_id".into(), json!(p.external_id.as_deref()));
    for (name, v) in store::TEXT_FIELDS.iter().zip(&p.fields) {
        attrs.insert((*name).into(), json!(v.as_deref()));
    }
    attrs.insert("created".into(), json!(&*p.created));
    attrs.insert("updated".into(), json!(&*p.updated));
    attrs.insert("last_event_date".into(), Value::Null);
    let location = p.location.clone().unwrap_or_default();
    attrs.insert("location".into(), Value::Object(location));
    let properties = p.properties.clone().unwrap_or_default();
    attrs.insert("properties".into(), Value::Object(properties));
    json!({
        "type": "profile",
        "id": &*p.id,
        "attributes": attrs,
        "links": { "self": format!("{base}/api/profiles/{}/", p.id) }
    })
}

/// Profile indexes matching a filter on email / phone_number / external_id / id, ascending.
fn filtered_profiles(st: &store::Store, f: &Filter) -> Vec<u32> {
    let mut idx: Vec<u32> = f
        .values
        .iter()
        .filter_map(|v| st.find(&f.field, v))
        .collect();
    idx.sort_unstable();
    idx.dedup();
    idx
}

pub async fn get_profiles(State(s): S, Query(params): Params) -> ApiResult {
    reject_unknown_params(
        &params,
        &[
            "page[size]",
            "page[cursor]",
            "filter",
            "sort",
            "additional-fields[profile]",
        ],
    )?;
    let (size, offset) = paging(&params, 20, 100)?;
    let fields = sparse_fields(
        &params,
        "profile",
        &[
            "email",
            "phone_number",
            "external_id",
            "first_name",
            "last_name",
            "organization",
            "locale",
            "title",
            "image",
            "created",
            "updated",
            "last_event_date",
            "location",
            "properties",
            "id",
        ],
    )?;
    let filter = match params.iter().find(|(k, _)| k == "filter") {
        Some((_, f)) => Some(parse_filter(
            f,
            &["id", "email", "phone_number", "external_id"],
        )?),
        None => None,
    };
    let descending = match params
        .iter()
        .find(|(k, _)| k == "sort")
        .map(|(_, v)| v.as_str())
    {
        None | Some("created") | Some("id") => false,
        Some("-created") | Some("-id") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid sort `{other}`. The sandbox supports created, -created, id and -id."
            ))
            .parameter("sort")
            .into())
        }
    };
    let st = s.store();
    let mut idx: Vec<u32> = match &filter {
        Some(f) => filtered_profiles(&st, f),
        None => (0..st.profiles.len() as u32).collect(),
    };
    if descending {
        idx.reverse();
    }
    let data = idx
        .iter()
        .skip(offset)
        .take(size)
        .map(|&i| sparse(profile_json(&s.base_url, &st.profiles[i as usize]), &fields))
        .collect();
    Ok(doc(
        StatusCode::OK,
        collection(&s, "/api/profiles", &params, data, offset, size, idx.len()),
    ))
}

/// `{"type":"profile","id":…}` relationship objects.
fn profile_ids(st: &store::Store, idx: impl Iterator<Item = u32>) -> Vec<Value> {
    idx.map(|i| json!({ "type": "profile", "id": &*st.profiles[i as usize].id }))
        .collect()
}

pub async fn get_list_profile_ids(
    State(s): S,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult {
    reject_unknown_params(&params, &["page[size]", "page[cursor]", "filter", "sort"])?;
    let (size, offset) = paging(&params, 20, 100)?;
    let filter = match params.iter().find(|(k, _)| k == "filter") {
        Some((_, f)) => Some(parse_filter(f, &["email", "phone_number"])?),
        None => None,
    };
    let descending = sort_descending(&params, "joined_group_at")?;
    let st = s.store();
    let list = st
        .list(&id)
        .ok_or_else(|| ApiError::not_found(format!("A list with id {id} does not exist.")))?;
    let path = format!("/api/lists/{id}/relationships/profiles");
    // Members are kept in profile creation order, which stands in for joined_group_at.
    let (data, total) = match &filter {
        Some(f) => {
            let mut idx: Vec<u32> = filtered_profiles(&st, f)
                .into_iter()
                .filter(|i| list.members.contains(i))
                .collect();
            if descending {
                idx.reverse();
            }
            let page = profile_ids(&st, idx.iter().copied().skip(offset).take(size));
            (page, idx.len())
        }
        None if descending => {
            let it = list.members.iter().rev().copied().skip(offset).take(size);
            (profile_ids(&st, it), list.members.len())
        }
        None => {
            let it = list.members.iter().copied().skip(offset).take(size);
            (profile_ids(&st, it), list.members.len())
        }
    };
    Ok(doc(
        StatusCode::OK,
        collection(&s, &path, &params, data, offset, size, total),
    ))
}

#[derive(Deserialize)]
struct IdsReq {
    data: Vec<RelId>,
}

/// Parses a `{"data":[{"type":"profile","id":…}]}` body of at most 1,000 ids.
fn profile_ids_body(headers: &HeaderMap, body: &[u8]) -> Result<Vec<String>, ApiErrors> {
    check_content_type(headers)?;
    let req: IdsReq = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("Malformed request body: {e}")).pointer("/data"))?;
    if req.data.len() > MAX_IDS_PER_CALL {
        return Err(ApiError::invalid(format!(
            "At most {MAX_IDS_PER_CALL} profiles may be given per call; this request has {}.",
            req.data.len()
        ))
        .pointer("/data")
        .into());
    }
    let mut ids = Vec::with_capacity(req.data.len());
    for (i, r) in req.data.into_iter().enumerate() {
        if r.ty != "profile" {
            return Err(
                ApiError::invalid(format!("Expected type \"profile\", got \"{}\".", r.ty))
                    .pointer(format!("/data/{i}/type"))
                    .into(),
            );
        }
        ids.push(r.id);
    }
    Ok(ids)
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub async fn remove_list_profiles(
    State(s): S,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let ids = profile_ids_body(&headers, &body)?;
    let mut st = s.store();
    let li = *st
        .list_index
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("A list with id {id} does not exist.")))?;
    // Unknown ids and profiles that are not members are ignored, as by Klaviyo.
    let idx: Vec<u32> = ids.iter().filter_map(|p| st.find("id", p)).collect();
    let list = &mut st.lists[li];
    for i in idx {
        list.members.remove(&i);
    }
    list.updated = store::now_ts();
    Ok(no_content())
}

pub async fn add_list_profiles(
    State(s): S,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let ids = profile_ids_body(&headers, &body)?;
    let mut st = s.store();
    let li = *st
        .list_index
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("A list with id {id} does not exist.")))?;
    let mut idx = Vec::with_capacity(ids.len());
    for (i, p) in ids.iter().enumerate() {
        match st.find("id", p) {
            Some(x) => idx.push(x),
            None => {
                return Err(
                    ApiError::not_found(format!("A profile with id {p} does not exist."))
                        .pointer(format!("/data/{i}/id"))
                        .into(),
                )
            }
        }
    }
    let list = &mut st.lists[li];
    list.members.extend(idx);
    list.updated = store::now_ts();
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Bulk subscribe (consent)

#[derive(Deserialize)]
struct SubscribeReq {
    data: SubscribeData,
}

#[derive(Deserialize)]
struct SubscribeData {
    #[serde(rename = "type")]
    ty: String,
    attributes: SubscribeAttrs,
    #[serde(default)]
    relationships: Option<SubscribeRels>,
}

#[derive(Deserialize)]
struct SubscribeAttrs {
    profiles: SubscribeProfiles,
}

#[derive(Deserialize)]
struct SubscribeProfiles {
    data: Vec<SubscribeProfile>,
}

#[derive(Deserialize)]
struct SubscribeProfile {
    #[serde(rename = "type")]
    ty: String,
    attributes: SubscribeProfileAttrs,
}

#[derive(Deserialize)]
struct SubscribeProfileAttrs {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    subscriptions: Option<Value>,
}

#[derive(Deserialize)]
struct SubscribeRels {
    #[serde(default)]
    list: Option<SubscribeList>,
}

#[derive(Deserialize)]
struct SubscribeList {
    data: RelId,
}

/// `POST /api/profile-subscription-bulk-create-jobs`: at most 1,000 profiles, each with an email
/// or phone number; answers 202 with no body and applies the consent after `job_processing`.
pub async fn bulk_subscribe(State(s): S, headers: HeaderMap, body: Bytes) -> ApiResult {
    check_content_type(&headers)?;
    let req: SubscribeReq = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("Malformed request body: {e}")).pointer("/data"))?;
    let data = req.data;
    if data.ty != "profile-subscription-bulk-create-job" {
        return Err(ApiError::invalid(format!(
            "Expected type \"profile-subscription-bulk-create-job\", got \"{}\".",
            data.ty
        ))
        .pointer("/data/type")
        .into());
    }
    let profiles = data.attributes.profiles.data;
    if profiles.is_empty() || profiles.len() > MAX_IDS_PER_CALL {
        return Err(ApiError::invalid(format!(
            "Between 1 and {MAX_IDS_PER_CALL} profiles may be subscribed per call; this request has {}.",
            profiles.len()
        ))
        .pointer(PROFILES)
        .into());
    }
    let mut errors = Vec::new();
    let mut pending = Vec::with_capacity(profiles.len());
    for (i, p) in profiles.into_iter().enumerate() {
        let a = p.attributes;
        if let Err(e) = check_profile(i, &p.ty, a.email.as_deref()) {
            errors.push(e);
            continue;
        }
        if let Some(phone) = &a.phone_number {
            if !store::is_e164(phone) {
                errors.push(
                    ApiError::invalid(format!(
                        "Invalid phone number \"{phone}\": use E.164 format, e.g. +48601234567."
                    ))
                    .pointer(format!("{PROFILES}/{i}/attributes/phone_number")),
                );
                continue;
            }
        }
        if a.email.is_none() && a.phone_number.is_none() {
            errors.push(
                ApiError::invalid("A profile needs an email or a phone_number.")
                    .pointer(format!("{PROFILES}/{i}/attributes")),
            );
            continue;
        }
        let subs = a.subscriptions.unwrap_or(Value::Null);
        let email_marketing = !subs["email"]["marketing"].is_null();
        let sms_marketing = !subs["sms"]["marketing"].is_null();
        pending.push((
            PendingProfile {
                email: a.email.map(Into::into),
                phone_number: a.phone_number.map(Into::into),
                ..Default::default()
            },
            email_marketing,
            sms_marketing,
        ));
    }
    if !errors.is_empty() {
        return Err(ApiErrors(errors));
    }
    let list = data.relationships.and_then(|r| r.list).map(|l| l.data);
    let list_idx = match &list {
        None => None,
        Some(rel) => {
            if rel.ty != "list" {
                return Err(ApiError::invalid(format!(
                    "Expected type \"list\", got \"{}\".",
                    rel.ty
                ))
                .pointer("/data/relationships/list/data/type")
                .into());
            }
            Some(*s.store().list_index.get(&rel.id).ok_or_else(|| {
                ApiError::not_found(format!("A list with id {} does not exist.", rel.id))
                    .pointer("/data/relationships/list/data/id")
            })?)
        }
    };
    let state = s.clone();
    tokio::spawn(async move {
        tokio::time::sleep(state.job_processing).await;
        let now = store::now_ts();
        let mut st = state.store();
        for (p, email_mk, sms_mk) in pending {
            // A conflict (identifiers of two profiles) leaves both unchanged; the bulk
            // subscribe job reports nothing back, as in Klaviyo.
            if let Ok(i) = st.upsert(p, &now) {
                let rec = &mut st.profiles[i as usize];
                rec.email_marketing |= email_mk;
                rec.sms_marketing |= sms_mk;
                if let Some(l) = list_idx {
                    st.lists[l].members.insert(i);
                }
            }
        }
    });
    Ok(StatusCode::ACCEPTED.into_response())
}

// ---------------------------------------------------------------------------------------------
// Test-only inspection and control routes (no auth)

pub async fn sandbox_members(State(s): S, Path(id): Path<String>) -> ApiResult {
    let emails = s
        .store()
        .list_members(&id)
        .ok_or_else(|| ApiError::not_found(format!("A list with id {id} does not exist.")))?;
    Ok(axum::Json(json!({ "list_id": id, "emails": emails })).into_response())
}

/// `{"routes": {"POST /api/…": n}, "statuses": {"202": n, "429": m, "dropped": k},
///   "route_statuses": {"POST /api/…": {"202": n}}}`
pub async fn sandbox_stats(State(s): S) -> Response {
    let st = s.stats();
    let sorted = |m: &std::collections::HashMap<String, u64>| -> BTreeMap<String, u64> {
        m.iter().map(|(k, v)| (k.clone(), *v)).collect()
    };
    let route_statuses: BTreeMap<String, BTreeMap<String, u64>> = st
        .route_statuses
        .iter()
        .map(|(k, v)| (k.clone(), sorted(v)))
        .collect();
    axum::Json(json!({
        "routes": sorted(&st.routes),
        "statuses": sorted(&st.statuses),
        "route_statuses": route_statuses,
    }))
    .into_response()
}

fn faults_doc(s: &AppState) -> Response {
    let faults: Vec<Value> = s
        .faults()
        .iter()
        .map(|f| json!({ "spec": f.fault.to_string(), "seen": f.seen }))
        .collect();
    axum::Json(json!({ "faults": faults })).into_response()
}

pub async fn sandbox_get_faults(State(s): S) -> Response {
    faults_doc(&s)
}

#[derive(Deserialize)]
struct FaultsReq {
    #[serde(default)]
    faults: Vec<String>,
    /// Add to the current faults instead of replacing them.
    #[serde(default)]
    append: bool,
    /// Keys to revoke now.
    #[serde(default)]
    revoke: Vec<String>,
}

/// `POST /__sandbox/faults` with `{"faults": ["bulk_import_profiles=seq:503,ok"], "append": false,
/// "revoke": ["pk_…"]}`: replaces (or extends) the injected faults and revokes keys.
pub async fn sandbox_set_faults(State(s): S, body: Bytes) -> ApiResult {
    let req: FaultsReq = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("Malformed request body: {e}")).pointer("/"))?;
    let mut faults = Vec::with_capacity(req.faults.len());
    for (i, spec) in req.faults.iter().enumerate() {
        let f: Fault = spec.parse().map_err(|e: crate::FaultParseError| {
            ApiError::invalid(e.to_string()).pointer(format!("/faults/{i}"))
        })?;
        faults.push(f);
    }
    s.set_faults(faults, req.append);
    for key in &req.revoke {
        s.revoke(key);
    }
    Ok(faults_doc(&s))
}

pub async fn sandbox_clear_faults(State(s): S) -> Response {
    s.set_faults(Vec::new(), false);
    faults_doc(&s)
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("The requested URL was not found on this server.")
}

pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed.",
        format!("Method \"{method}\" not allowed."),
    )
}
