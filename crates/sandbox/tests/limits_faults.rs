//! Rate limits (the spec's numbers, fixed windows), the daily list cap, fault injection and key
//! revocation, over real HTTP.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::{Method, StatusCode};
use segport_sandbox::{Fault, Limits, SandboxConfig, SandboxKey};
use serde_json::{json, Value};

fn small_import() -> Value {
    import_body(None, vec![profile(json!({ "email": "rate@example.com" }))])
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn eleventh_import_within_a_second_is_throttled_with_retry_after() {
    let sb = start_with(SandboxConfig {
        limits: Limits::Real,
        ..Default::default()
    })
    .await;
    let http = http();
    let post = || {
        with_body(
            http.post(format!("{}/api/profile-bulk-import-jobs", sb.base_url()))
                .header("Authorization", format!("Klaviyo-API-Key {KEY}"))
                .header("revision", REVISION),
            &small_import(),
        )
    };
    // bulk_import_profiles: burst 10/s, steady 150/m (from the spec's table).
    for i in 0..10u32 {
        let resp = post().send().await.expect("send");
        assert_eq!(resp.status(), StatusCode::ACCEPTED, "call {}", i + 1);
        assert_eq!(header(&resp, "ratelimit-limit").as_deref(), Some("150"));
        assert_eq!(
            header(&resp, "ratelimit-remaining"),
            Some((150 - i - 1).to_string())
        );
        let reset: u64 = header(&resp, "ratelimit-reset")
            .expect("RateLimit-Reset")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let resp = post().send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&resp, "retry-after").as_deref(), Some("1"));
    assert!(header(&resp, "ratelimit-limit").is_none(), "not on a 429");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["code"], "throttled");
    assert_eq!(
        body["errors"][0]["detail"],
        "Request was throttled. Expected available in 1 seconds."
    );
    // Other operations have windows of their own.
    let resp = req(&sb, Method::GET, "/api/lists")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "ratelimit-limit").as_deref(), Some("750"));
    assert_eq!(sb.status_count(429), 1);
    assert_eq!(sb.status_count(202), 10);

    let stats: Value = reqwest::get(format!("{}/__sandbox/stats", sb.base_url()))
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["routes"]["POST /api/profile-bulk-import-jobs"], 11);
    assert_eq!(
        stats["route_statuses"]["POST /api/profile-bulk-import-jobs"],
        json!({ "202": 10, "429": 1 })
    );
    assert_eq!(stats["statuses"]["429"], 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn limits_off_means_no_throttling_and_no_headers() {
    let sb = start().await;
    for _ in 0..12 {
        let resp = with_body(
            req(&sb, Method::POST, "/api/profile-bulk-import-jobs"),
            &small_import(),
        )
        .send()
        .await
        .expect("send");
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        assert!(header(&resp, "ratelimit-limit").is_none());
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn retry_after_can_be_switched_off() {
    let sb = start_with(SandboxConfig {
        limits: Limits::Real,
        retry_after: false,
        ..Default::default()
    })
    .await;
    // get_accounts: burst 1/s.
    let first = req(&sb, Method::GET, "/api/accounts")
        .send()
        .await
        .expect("send");
    assert_eq!(first.status(), StatusCode::OK);
    let second = req(&sb, Method::GET, "/api/accounts")
        .send()
        .await
        .expect("send");
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&second, "retry-after").is_none());
    let body: Value = second.json().await.expect("json");
    assert_eq!(body["errors"][0]["code"], "throttled");
    sb.shutdown().await;
}

#[tokio::test]
async fn the_151st_list_of_the_day_is_throttled() {
    // Daily caps apply even with limits off.
    let sb = start().await;
    for i in 0..150 {
        let (status, body) = send(with_body(
            req(&sb, Method::POST, "/api/lists"),
            &json!({ "data": { "type": "list", "attributes": { "name": format!("L{i}") } } }),
        ))
        .await;
        assert_eq!(status, StatusCode::CREATED, "list {i}: {body}");
    }
    let resp = with_body(
        req(&sb, Method::POST, "/api/lists"),
        &json!({ "data": { "type": "list", "attributes": { "name": "one too many" } } }),
    )
    .send()
    .await
    .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&resp, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry > 60, "the day window, not the minute: {retry}");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["code"], "throttled");
    // Reading lists is not capped; exactly 150 exist.
    let (_, lists) = get(&sb, "/api/lists?filter=equals(name,\"one too many\")").await;
    assert_eq!(lists["data"].as_array().map(Vec::len), Some(0));
    sb.shutdown().await;
}

#[tokio::test]
async fn scripted_faults_behave_as_said() {
    let sb = start().await;
    sb.set_faults(vec![
        "get_lists=seq:ok,500,503,504,html502,drop,slow:300,429:7,ok"
            .parse::<Fault>()
            .expect("spec"),
    ]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let call = || {
        http.get(format!("{}/api/lists", sb.base_url()))
            .header("Authorization", format!("Klaviyo-API-Key {KEY}"))
            .header("revision", REVISION)
            .send()
    };
    assert_eq!(call().await.expect("ok").status(), StatusCode::OK);
    for (status, code) in [
        (500, "error"),
        (503, "service_unavailable"),
        (504, "gateway_timeout"),
    ] {
        let resp = call().await.expect("answered");
        assert_eq!(resp.status().as_u16(), status);
        assert_eq!(
            header(&resp, "content-type").as_deref(),
            Some("application/vnd.api+json")
        );
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["errors"][0]["code"], code);
    }
    let resp = call().await.expect("answered");
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert!(header(&resp, "content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
    let text = resp.text().await.expect("text");
    assert!(
        text.contains("<html>") && text.contains("502 Bad Gateway"),
        "{text}"
    );

    let err = call()
        .await
        .expect_err("the connection is dropped unanswered");
    assert!(!err.is_timeout(), "closed, not timed out: {err:?}");
    assert_eq!(sb.dropped_count(), 1);

    let started = Instant::now();
    let resp = call().await.expect("slow but answered");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let resp = call().await.expect("answered");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&resp, "retry-after").as_deref(), Some("7"));

    // The sequence is over: normal answers again; other operations were never affected.
    assert_eq!(call().await.expect("ok").status(), StatusCode::OK);
    assert_eq!(call().await.expect("ok").status(), StatusCode::OK);
    assert_eq!(get(&sb, "/api/accounts").await.0, StatusCode::OK);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_failed_create_is_not_processed_and_probability_one_always_fires() {
    let sb = start().await;
    sb.set_faults(vec![
        "POST /api/lists=503@1".parse().expect("spec"),
        "*=slow:1@0".parse().expect("spec"),
    ]);
    for _ in 0..3 {
        let (status, _) = send(with_body(
            req(&sb, Method::POST, "/api/lists"),
            &json!({ "data": { "type": "list", "attributes": { "name": "never" } } }),
        ))
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
    let (_, lists) = get(&sb, "/api/lists").await;
    assert_eq!(lists["data"].as_array().map(Vec::len), Some(0), "{lists}");
    sb.set_faults(Vec::new());
    let (status, _) = send(with_body(
        req(&sb, Method::POST, "/api/lists"),
        &json!({ "data": { "type": "list", "attributes": { "name": "now" } } }),
    ))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    sb.shutdown().await;
}

#[tokio::test]
async fn key_revoked_mid_run_gets_401_from_then_on() {
    const OTHER: &str = "pk_test_other_0123456789abcdefghijklmno";
    let sb = start_with(SandboxConfig {
        keys: vec![SandboxKey::full(KEY), SandboxKey::full(OTHER)],
        faults: vec![format!("revoke:{KEY}@after:2:bulk_import_profiles")
            .parse()
            .expect("spec")],
        job_processing: Duration::from_millis(10),
        ..Default::default()
    })
    .await;
    for _ in 0..2 {
        import(
            &sb,
            None,
            vec![profile(json!({ "email": "r@example.com" }))],
        )
        .await;
    }
    let (status, body) = send(with_body(
        req(&sb, Method::POST, "/api/profile-bulk-import-jobs"),
        &small_import(),
    ))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["errors"][0]["code"], "not_authenticated");
    // Revoked for every operation, not only the one counted.
    assert_eq!(get(&sb, "/api/accounts").await.0, StatusCode::UNAUTHORIZED);
    // Another key of the account still works, until revoked through the library.
    let other = || req_as(&sb, OTHER, Method::GET, "/api/accounts");
    assert_eq!(send(other()).await.0, StatusCode::OK);
    sb.revoke_key(OTHER);
    assert_eq!(send(other()).await.0, StatusCode::UNAUTHORIZED);
    sb.shutdown().await;
}

#[tokio::test]
async fn revoke_action_in_a_sequence_revokes_the_callers_key() {
    let sb = start().await;
    sb.set_faults(vec!["get_accounts=seq:ok,revoke".parse().expect("spec")]);
    assert_eq!(get(&sb, "/api/accounts").await.0, StatusCode::OK);
    assert_eq!(get(&sb, "/api/accounts").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&sb, "/api/lists").await.0, StatusCode::UNAUTHORIZED);
    sb.shutdown().await;
}

#[tokio::test]
async fn faults_can_be_set_at_runtime_over_http() {
    let sb = start().await;
    let http = http();
    let url = format!("{}/__sandbox/faults", sb.base_url());
    let resp = http
        .post(&url)
        .json(&json!({ "faults": ["GET /api/lists=seq:503"] }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["faults"][0]["spec"], "GET /api/lists=seq:503");
    assert_eq!(
        get(&sb, "/api/lists").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(&sb, "/api/lists").await.0, StatusCode::OK);

    let resp = http
        .post(&url)
        .json(&json!({ "faults": ["get_lists=seq:teapot"] }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["source"]["pointer"], "/faults/0");

    let resp = http
        .post(&url)
        .json(&json!({ "revoke": [KEY] }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(get(&sb, "/api/lists").await.0, StatusCode::UNAUTHORIZED);
    sb.shutdown().await;
}

#[tokio::test]
async fn binary_takes_limits_scoped_keys_faults_and_no_retry_after() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_segport-sandbox"))
        .args([
            "--port",
            "0",
            "--limits",
            "real",
            "--no-retry-after",
            "--key",
            "pk_cli_reader:accounts:read,lists:read",
            "--fault",
            "get_lists=seq:html502",
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sandbox binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("in time")
        .expect("read")
        .expect("line");
    let url = first
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    let http = http();
    let call = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{url}{path}"))
            .header("Authorization", "Klaviyo-API-Key pk_cli_reader")
            .header("revision", REVISION)
            .header("Content-Type", "application/vnd.api+json")
    };
    assert_eq!(
        call(Method::GET, "/api/lists")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        call(Method::GET, "/api/lists")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    let resp = call(Method::POST, "/api/lists")
        .body(json!({ "data": { "type": "list", "attributes": { "name": "x" } } }).to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "no lists:write");
    assert_eq!(
        call(Method::GET, "/api/accounts")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    let resp = call(Method::GET, "/api/accounts")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "1/s burst");
    assert!(resp.headers().get("retry-after").is_none());
    child.kill().await.expect("kill");
}
