//! Helpers shared by the sandbox's integration tests (real HTTP, port 0).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use serde_json::{json, Value};

pub const KEY: &str = "pk_test_full_0123456789abcdefghijklmnopq";
pub const REVISION: &str = segport_sandbox::REVISION;

pub async fn start_with(config: SandboxConfig) -> Sandbox {
    let mut config = config;
    if config.keys.is_empty() {
        config.keys = vec![SandboxKey::full(KEY)];
    }
    Sandbox::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts")
}

pub async fn start() -> Sandbox {
    start_with(SandboxConfig {
        job_processing: Duration::from_millis(20),
        ..Default::default()
    })
    .await
}

thread_local! {
    // One client per test thread: building a reqwest client loads the system's root
    // certificates, which costs tens of milliseconds in a debug build.
    static CLIENT: reqwest::Client = reqwest::Client::new();
}

/// The test thread's HTTP client.
pub fn http() -> reqwest::Client {
    CLIENT.with(reqwest::Client::clone)
}

pub fn req_as(sb: &Sandbox, key: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    http()
        .request(method, format!("{}{path}", sb.base_url()))
        .header("Authorization", format!("Klaviyo-API-Key {key}"))
        .header("revision", REVISION)
        .header("Accept", "application/vnd.api+json")
}

pub fn req(sb: &Sandbox, method: Method, path: &str) -> reqwest::RequestBuilder {
    req_as(sb, KEY, method, path)
}

pub fn with_body(rb: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    rb.header("Content-Type", "application/vnd.api+json")
        .body(body.to_string())
}

pub async fn send(rb: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = rb.send().await.expect("send");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON body ({e}): {text}"))
    };
    (status, body)
}

pub async fn get(sb: &Sandbox, path: &str) -> (StatusCode, Value) {
    send(req(sb, Method::GET, path)).await
}

pub fn profile(attrs: Value) -> Value {
    json!({ "type": "profile", "attributes": attrs })
}

pub fn import_body(list_id: Option<&str>, profiles: Vec<Value>) -> Value {
    let mut body = json!({
        "data": {
            "type": "profile-bulk-import-job",
            "attributes": { "profiles": { "data": profiles } }
        }
    });
    if let Some(list) = list_id {
        body["data"]["relationships"] =
            json!({ "lists": { "data": [ { "type": "list", "id": list } ] } });
    }
    body
}

/// Posts an import job (expects 202) and returns its id.
pub async fn import(sb: &Sandbox, list_id: Option<&str>, profiles: Vec<Value>) -> String {
    let (status, job) = send(with_body(
        req(sb, Method::POST, "/api/profile-bulk-import-jobs"),
        &import_body(list_id, profiles),
    ))
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    job["data"]["id"].as_str().expect("job id").to_owned()
}

pub async fn wait_complete(sb: &Sandbox, job_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = get(sb, &format!("/api/profile-bulk-import-jobs/{job_id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["data"]["attributes"]["status"] == "complete" {
            return body;
        }
        assert!(Instant::now() < deadline, "job did not complete: {body}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn import_and_wait(sb: &Sandbox, list_id: Option<&str>, profiles: Vec<Value>) -> Value {
    let id = import(sb, list_id, profiles).await;
    wait_complete(sb, &id).await
}
