//! Conformance: the sandbox's answers validate against the response schemas of Klaviyo's official
//! OpenAPI spec (`shared/klaviyo/openapi-stable.json`). Each operation's schema is looked up by
//! operationId and status in the spec, bundled with the spec's `components` (OpenAPI 3.0's
//! `nullable` rewritten as JSON Schema), and checked with the `jsonschema` crate, formats included.

mod common;

use std::sync::OnceLock;

use common::*;
use reqwest::{Method, StatusCode};
use segport_sandbox::{Limits, SandboxConfig};
use serde_json::{json, Map, Value};

const SPEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/klaviyo/openapi-stable.json"
);

/// OpenAPI 3.0 `nullable: true` → JSON Schema: a `null` type (or an `anyOf` with null).
fn rewrite_nullable(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for child in m.values_mut() {
                rewrite_nullable(child);
            }
            if m.get("nullable") != Some(&Value::Bool(true)) {
                return;
            }
            m.remove("nullable");
            match m.get("type").cloned() {
                Some(Value::String(t)) => {
                    m.insert("type".into(), json!([t, "null"]));
                    if let Some(Value::Array(e)) = m.get_mut("enum") {
                        e.push(Value::Null);
                    }
                }
                _ => {
                    let inner = Value::Object(std::mem::take(m));
                    m.insert("anyOf".into(), json!([{ "type": "null" }, inner]));
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(rewrite_nullable),
        _ => {}
    }
}

struct Spec {
    paths: Map<String, Value>,
    components: Value,
}

fn spec() -> &'static Spec {
    static SPEC_DOC: OnceLock<Spec> = OnceLock::new();
    SPEC_DOC.get_or_init(|| {
        let text = std::fs::read_to_string(SPEC).expect("the spec beside the checkout");
        let mut doc: Value = serde_json::from_str(&text).expect("spec JSON");
        let mut components = doc["components"].take();
        rewrite_nullable(&mut components);
        let paths = doc["paths"].as_object().expect("paths").clone();
        Spec { paths, components }
    })
}

/// The response schema of `operation_id` for `status` (or its `4XX`/`5XX` class).
fn response_schema(operation_id: &str, status: u16) -> Value {
    let spec = spec();
    let op = spec
        .paths
        .values()
        .flat_map(|p| p.as_object().into_iter().flat_map(|m| m.values()))
        .find(|o| o["operationId"] == operation_id)
        .unwrap_or_else(|| panic!("{operation_id} in the spec"));
    let responses = &op["responses"];
    let mut resp = responses
        .get(status.to_string())
        .or_else(|| responses.get(format!("{}XX", status / 100)))
        .unwrap_or_else(|| panic!("{operation_id} documents {status}"))
        .clone();
    if let Some(r) = resp["$ref"].as_str() {
        let name = r.rsplit('/').next().expect("ref name");
        resp = spec.components["responses"][name].clone();
    }
    let mut schema = resp["content"]["application/vnd.api+json"]["schema"].clone();
    assert!(
        !schema.is_null(),
        "{operation_id} {status} has a JSON:API schema"
    );
    rewrite_nullable(&mut schema);
    schema
}

fn assert_conforms(operation_id: &str, status: StatusCode, body: &Value) {
    let mut schema = response_schema(operation_id, status.as_u16());
    schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    schema["components"] = spec().components.clone();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{operation_id} {status} does not conform:\n{}\n{body:#}",
        errors.join("\n")
    );
}

#[test]
fn the_schema_check_can_fail() {
    // A sanity check of the harness itself: a wrong document is rejected.
    let schema_ok = std::panic::catch_unwind(|| {
        assert_conforms(
            "get_lists",
            StatusCode::OK,
            &json!({ "data": [{ "type": "campaign", "id": 5 }] }),
        )
    });
    assert!(schema_ok.is_err());
}

#[tokio::test]
async fn responses_conform_to_the_official_schemas() {
    let sb = start_with(SandboxConfig {
        limits: Limits::Real,
        job_processing: std::time::Duration::from_millis(10),
        ..Default::default()
    })
    .await;
    let (status, body) = get(&sb, "/api/accounts").await;
    assert_conforms("get_accounts", status, &body);

    let (status, created) = send(with_body(
        req(&sb, Method::POST, "/api/lists"),
        &json!({ "data": { "type": "list", "attributes": { "name": "Conformance" } } }),
    ))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_conforms("create_list", status, &created);
    let list = created["data"]["id"].as_str().expect("id").to_owned();
    for i in 0..11 {
        sb.create_list(&format!("extra {i}"));
    }
    let (status, body) = get(&sb, "/api/lists").await;
    assert!(body["links"]["next"].is_string(), "a second page exists");
    assert_conforms("get_lists", status, &body);
    let (status, body) = get(&sb, &format!("/api/lists/{list}")).await;
    assert_conforms("get_list", status, &body);

    let profiles = vec![
        profile(
            json!({ "email": "c1@example.com", "first_name": "C", "location": { "city": "X" }, "properties": { "k": 1 } }),
        ),
        profile(json!({ "email": "c2@example.com", "phone_number": "12345" })),
        profile(json!({ "external_id": "c-3" })),
    ];
    let (status, job) = send(with_body(
        req(&sb, Method::POST, "/api/profile-bulk-import-jobs"),
        &import_body(Some(&list), profiles),
    ))
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_conforms("bulk_import_profiles", status, &job);
    let job_id = job["data"]["id"].as_str().expect("id").to_owned();
    let done = wait_complete(&sb, &job_id).await;
    assert_conforms("get_bulk_import_profiles_job", StatusCode::OK, &done);

    let (status, body) = get(
        &sb,
        "/api/profile-bulk-import-jobs?sort=-created_at&page[size]=100",
    )
    .await;
    assert_conforms("get_bulk_import_profiles_jobs", status, &body);
    let (status, body) = get(
        &sb,
        &format!("/api/profile-bulk-import-jobs/{job_id}/import-errors"),
    )
    .await;
    assert_eq!(
        body["data"].as_array().map(Vec::len),
        Some(1),
        "the bad phone"
    );
    assert_conforms("get_errors_for_bulk_import_profiles_job", status, &body);
    let (status, body) = get(
        &sb,
        &format!("/api/profile-bulk-import-jobs/{job_id}/relationships/profiles"),
    )
    .await;
    assert_conforms(
        "get_profile_ids_for_bulk_import_profiles_job",
        status,
        &body,
    );

    let resp = req(&sb, Method::GET, "/api/profiles")
        .query(&[("filter", r#"any(email,["c1@example.com"])"#)])
        .send()
        .await
        .expect("send");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
    assert_conforms("get_profiles", status, &body);
    let (status, body) = get(
        &sb,
        &format!("/api/lists/{list}/relationships/profiles?page[size]=1"),
    )
    .await;
    assert_conforms("get_profile_ids_for_list", status, &body);

    // Error documents: 400, 404, 429 and an injected 503 against the 4XX / 5XX schemas.
    let (status, body) = get(&sb, "/api/lists?page[size]=50").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_conforms("get_lists", status, &body);
    let (status, body) = get(&sb, "/api/lists/nope00").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_conforms("get_list", status, &body);
    let _ = get(&sb, "/api/accounts").await;
    let (status, body) = get(&sb, "/api/accounts").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "get_accounts is 1/s");
    assert_conforms("get_accounts", status, &body);
    sb.set_faults(vec!["get_lists=seq:503".parse().expect("spec")]);
    let (status, body) = get(&sb, "/api/lists").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_conforms("get_lists", status, &body);
    sb.shutdown().await;
}
