//! Route handlers. Each /api handler first calls [`authorize`] with the operation's scopes
//! (the spec's `x-klaviyo-scopes`), then checks the revision header, then its input.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiErrors};
use crate::store::{self, ImportErrorRec, JobRec, JobStatus, PendingProfile};
use crate::{AppState, JSON_API, MAX_JOB_BYTES, MAX_PROFILES_PER_JOB, MAX_PROFILE_BYTES};

type S = State<Arc<AppState>>;
type Params = Query<Vec<(String, String)>>;
type ApiResult = Result<Response, ApiErrors>;

// ---------------------------------------------------------------------------------------------
// Common checks

/// Authentication (401), scopes (403), then the revision header (400).
fn authorize(state: &AppState, headers: &HeaderMap, scopes: &[&str]) -> Result<(), ApiError> {
    let not_authenticated = |detail: &str| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "Authentication credentials were not provided.",
            detail,
        )
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(not_authenticated(
            "Missing Authorization header. Use `Authorization: Klaviyo-API-Key <private key>`.",
        ));
    };
    let value = value.to_str().unwrap_or("");
    let Some(key) = value.strip_prefix("Klaviyo-API-Key ") else {
        return Err(not_authenticated(
            "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.",
        ));
    };
    let Some(granted) = state.keys.get(key.trim()) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "Incorrect authentication credentials.",
            "The API key is not valid or has been revoked.",
        ));
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
    check_revision(headers)
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
    json!({
        "data": data,
        "links": {
            "self": page_link(&state.base_url, path, params, (offset > 0).then_some(offset)),
            "next": next,
            "prev": prev,
        }
    })
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

pub async fn get_accounts(State(s): S, headers: HeaderMap) -> ApiResult {
    authorize(&s, &headers, &["accounts:read"])?;
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
        json!({ "data": [account], "links": { "self": format!("{base}/api/accounts"), "next": null, "prev": null } }),
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
    authorize(&s, &headers, &["lists:write"])?;
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

pub async fn get_lists(State(s): S, headers: HeaderMap, Query(params): Params) -> ApiResult {
    authorize(&s, &headers, &["lists:read"])?;
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
        .map(|l| list_json(&s.base_url, l))
        .collect();
    Ok(doc(
        StatusCode::OK,
        collection(&s, "/api/lists", &params, data, offset, size, total),
    ))
}

pub async fn get_list(State(s): S, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    authorize(&s, &headers, &["lists:read"])?;
    let store = s.store();
    let list = store
        .list(&id)
        .ok_or_else(|| ApiError::not_found(format!("A list with id {id} does not exist.")))?;
    let body = json!({ "data": list_json(&s.base_url, list), "links": { "self": format!("{}/api/lists/{id}/", s.base_url) } });
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
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
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
struct ProfileIn<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(borrow)]
    attributes: ProfileAttrsIn<'a>,
}

#[derive(Deserialize)]
struct ProfileAttrsIn<'a> {
    #[serde(default, borrow)]
    email: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    phone_number: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    external_id: Option<Cow<'a, str>>,
}

fn non_empty(v: Option<Cow<'_, str>>) -> Option<Box<str>> {
    v.filter(|s| !s.is_empty()).map(|s| Box::from(s.as_ref()))
}

pub async fn create_import_job(State(s): S, headers: HeaderMap, body: Bytes) -> ApiResult {
    authorize(&s, &headers, &["lists:write", "profiles:write"])?;
    check_content_type(&headers)?;
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
    const PROFILES: &str = "/data/attributes/profiles/data";
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

    // Validate every profile; collect all errors (one per bad profile).
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
        let p: ProfileIn<'_> = match serde_json::from_str(text) {
            Ok(p) => p,
            Err(e) => {
                errors.push(
                    ApiError::invalid(format!("Invalid profile: {e}"))
                        .pointer(format!("{PROFILES}/{i}")),
                );
                continue;
            }
        };
        if p.ty != "profile" {
            errors.push(
                ApiError::invalid(format!("Expected type \"profile\", got \"{}\".", p.ty))
                    .pointer(format!("{PROFILES}/{i}/type")),
            );
            continue;
        }
        if let Some(email) = &p.attributes.email {
            if !email_address::EmailAddress::is_valid(email) {
                errors.push(
                    ApiError::invalid(format!("Invalid email address: \"{email}\"."))
                        .pointer(format!("{PROFILES}/{i}/attributes/email")),
                );
                continue;
            }
        }
        let email = non_empty(p.attributes.email);
        let phone_number = non_empty(p.attributes.phone_number);
        let external_id = non_empty(p.attributes.external_id);
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
    };
    let body = json!({ "data": job_json(&s.base_url, &job) });
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
            let mut st = s.store();
            let (mut ok, mut failed, mut errs) = (0u64, 0u64, Vec::new());
            for (i, p) in iter.by_ref().take(CHUNK) {
                if let Some(phone) = p.phone_number.as_deref() {
                    if !store::is_e164(phone) {
                        failed += 1;
                        errs.push(ImportErrorRec {
                            id: store::ulid_like(),
                            detail: format!("Invalid phone number \"{phone}\": use E.164 format, e.g. +48601234567."),
                            pointer: format!("/data/attributes/profiles/data/{i}/attributes/phone_number"),
                            original_payload: p.raw,
                        });
                        continue;
                    }
                }
                let idx = st.upsert(p);
                for &l in &lists {
                    st.lists[l].members.insert(idx);
                }
                ok += 1;
            }
            if let Some(job) = st.jobs.get_mut(&job_id) {
                job.completed_count += ok;
                job.failed_count += failed;
                job.errors.extend(errs);
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
            }
        },
        "links": { "self": format!("{base}/api/profile-bulk-import-jobs/{}/", job.id) }
    })
}

pub async fn get_import_job(
    State(s): S,
    headers: HeaderMap,
    Path(job_id): Path<String>,
) -> ApiResult {
    authorize(&s, &headers, &["lists:read", "profiles:read"])?;
    let store = s.store();
    let job = store.jobs.get(&job_id).ok_or_else(|| {
        ApiError::not_found(format!(
            "A bulk import job with id {job_id} does not exist."
        ))
    })?;
    Ok(doc(
        StatusCode::OK,
        json!({ "data": job_json(&s.base_url, job), "links": { "self": format!("{}/api/profile-bulk-import-jobs/{job_id}/", s.base_url) } }),
    ))
}

pub async fn get_import_jobs(State(s): S, headers: HeaderMap, Query(params): Params) -> ApiResult {
    authorize(&s, &headers, &["lists:read", "profiles:read"])?;
    reject_unknown_params(&params, &["page[size]", "page[cursor]", "filter", "sort"])?;
    let (size, offset) = paging(&params, 20, 100)?;
    let filter = match params.iter().find(|(k, _)| k == "filter") {
        Some((_, f)) => Some(parse_filter(f, &["status"])?),
        None => None,
    };
    let descending = match params
        .iter()
        .find(|(k, _)| k == "sort")
        .map(|(_, v)| v.as_str())
    {
        None | Some("created_at") => false,
        Some("-created_at") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid sort `{other}`. Use created_at or -created_at."
            ))
            .parameter("sort")
            .into())
        }
    };
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
        .map(|j| job_json(&s.base_url, j))
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
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult {
    authorize(&s, &headers, &["profiles:read"])?;
    reject_unknown_params(&params, &["page[size]", "page[cursor]"])?;
    let (size, offset) = paging(&params, 20, 100)?;
    let store = s.store();
    let job = store.jobs.get(&id).ok_or_else(|| {
        ApiError::not_found(format!("A bulk import job with id {id} does not exist."))
    })?;
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
                    "code": "invalid",
                    "title": "Invalid input.",
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

// ---------------------------------------------------------------------------------------------
// Test-only inspection routes (no auth)

pub async fn sandbox_members(State(s): S, Path(id): Path<String>) -> ApiResult {
    let emails = s
        .store()
        .list_members(&id)
        .ok_or_else(|| ApiError::not_found(format!("A list with id {id} does not exist.")))?;
    Ok(axum::Json(json!({ "list_id": id, "emails": emails })).into_response())
}

pub async fn sandbox_stats(State(s): S) -> Response {
    let stats: BTreeMap<String, u64> = s.stats().iter().map(|(k, v)| (k.clone(), *v)).collect();
    axum::Json(stats).into_response()
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
