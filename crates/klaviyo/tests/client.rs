//! The client over real HTTP: against the sandbox, and against a tiny scripted HTTP server for
//! what the sandbox cannot do (capturing bodies, 429/5xx answers).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use segport_klaviyo::{
    bulk_import_envelope_len, ApiKey, Client, Error, JobStatus, RetryPolicy, MAX_PROFILES_PER_JOB,
};
use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "pk_client_test_full_0123456789abcdefgh";
const LISTS_ONLY_KEY: &str = "pk_client_test_lists_0123456789abcdefg";

async fn start() -> Sandbox {
    let config = SandboxConfig {
        keys: vec![
            SandboxKey::full(KEY),
            SandboxKey::with_scopes(LISTS_ONLY_KEY, &["lists:read"]),
        ],
        job_processing: Duration::from_millis(30),
        account_name: "Acme Test Shop".to_owned(),
        ..Default::default()
    };
    Sandbox::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts")
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

fn client(sb: &Sandbox, key: &str) -> Client {
    Client::new(&sb.base_url(), ApiKey::new(key.to_owned()))
        .expect("client")
        .with_retry_policy(fast_retries())
}

fn profile(email: &str) -> String {
    serde_json::json!({ "type": "profile", "attributes": { "email": email, "first_name": "Test" } })
        .to_string()
}

fn assert_no_key(err: &Error, key: &str) {
    let shown = format!("{err}");
    let debug = format!("{err:?}");
    assert!(!shown.contains(key), "Display leaks the key: {shown}");
    assert!(!debug.contains(key), "Debug leaks the key: {debug}");
    assert!(!shown.contains("Klaviyo-API-Key"), "{shown}");
}

#[tokio::test]
async fn get_account_gives_the_account_name() {
    let sb = start().await;
    let account = client(&sb, KEY).get_account().await.expect("account");
    assert_eq!(account.name, "Acme Test Shop");
    assert!(!account.id.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn unknown_key_is_key_rejected_and_the_key_never_shows() {
    let sb = start().await;
    let secret = "pk_this_is_not_a_known_key_123456789";
    let err = client(&sb, secret).get_account().await.expect_err("401");
    assert!(matches!(err, Error::KeyRejected { .. }), "{err:?}");
    assert_eq!(err.code(), "klaviyo.key_rejected");
    assert!(
        err.to_string().contains("Klaviyo rejected the API key"),
        "{err}"
    );
    assert_no_key(&err, secret);
    assert_eq!(
        sb.request_count("GET /api/accounts"),
        1,
        "a 401 is not retried"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn key_lacking_a_scope_is_missing_scope() {
    let sb = start().await;
    let c = client(&sb, LISTS_ONLY_KEY);
    c.find_list_by_name("anything")
        .await
        .expect("lists:read is granted");
    let err = c.get_account().await.expect_err("403");
    assert!(matches!(err, Error::MissingScope { .. }), "{err:?}");
    assert_eq!(err.code(), "klaviyo.missing_scope");
    assert!(err.to_string().contains("accounts:read"), "{err}");
    assert_no_key(&err, LISTS_ONLY_KEY);
    sb.shutdown().await;
}

#[tokio::test]
async fn closed_port_is_unreachable_with_an_actionable_message() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}");
    let c = Client::new(&url, ApiKey::new(KEY.to_owned()))
        .expect("client")
        .with_retry_policy(fast_retries());
    let err = c.get_account().await.expect_err("nothing listens");
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert_eq!(err.code(), "klaviyo.unreachable");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("Could not reach {url}: ")),
        "{msg}"
    );
    assert!(
        msg.ends_with("Check the base URL and your network connection."),
        "{msg}"
    );
    assert!(
        msg.to_lowercase().contains("refused"),
        "the reason is the root cause: {msg}"
    );
    assert_no_key(&err, KEY);
}

#[tokio::test]
async fn lists_create_find_and_get() {
    let sb = start().await;
    let c = client(&sb, KEY);
    assert_eq!(
        c.find_list_by_name("VIP \"gold\" \\ list")
            .await
            .expect("find"),
        None
    );
    let created = c.create_list("VIP \"gold\" \\ list").await.expect("create");
    assert_eq!(created.name, "VIP \"gold\" \\ list");
    assert_eq!(
        c.find_list_by_name("VIP \"gold\" \\ list")
            .await
            .expect("find"),
        Some(created.clone())
    );
    assert_eq!(c.get_list(&created.id).await.expect("get"), created);
    let err = c.get_list("nope00").await.expect_err("404");
    assert!(matches!(err, Error::Invalid { status: 404, .. }), "{err:?}");
    sb.shutdown().await;
}

#[tokio::test]
async fn bulk_import_then_poll_until_complete() {
    let sb = start().await;
    let c = client(&sb, KEY);
    let list = c.create_list("Export target").await.expect("list");
    let mut emails: Vec<String> = (0..250).map(|i| format!("user{i}@example.com")).collect();
    let profiles: Vec<String> = emails.iter().map(|e| profile(e)).collect();
    let job = c.bulk_import(&list.id, &profiles).await.expect("accepted");
    assert_eq!(job.total_count, 250);
    assert_eq!(job.status, JobStatus::Queued);

    let deadline = Instant::now() + Duration::from_secs(10);
    let done = loop {
        let j = c.get_bulk_import_job(&job.id).await.expect("job");
        if j.is_finished() {
            break j;
        }
        assert!(Instant::now() < deadline, "job never finished: {j:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done.status, JobStatus::Complete);
    assert_eq!((done.completed_count, done.failed_count), (250, 0));
    emails.sort();
    assert_eq!(sb.list_members(&list.id), emails);
    sb.shutdown().await;
}

#[tokio::test]
async fn invalid_email_is_invalid_with_the_pointer() {
    let sb = start().await;
    let c = client(&sb, KEY);
    let list = sb.create_list("L");
    let profiles = vec![
        profile("a@example.com"),
        profile("b@example.com"),
        profile("bad@@example"),
    ];
    let err = c.bulk_import(&list, &profiles).await.expect_err("400");
    match &err {
        Error::Invalid { status, errors } => {
            assert_eq!(*status, 400);
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].code, "invalid");
            assert_eq!(
                errors[0].pointer.as_deref(),
                Some("/data/attributes/profiles/data/2/attributes/email")
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(err.code(), "klaviyo.invalid");
    assert_eq!(
        err.pointers(),
        vec!["/data/attributes/profiles/data/2/attributes/email"]
    );
    assert!(
        err.to_string()
            .contains("/data/attributes/profiles/data/2/attributes/email"),
        "{err}"
    );
    assert_eq!(
        sb.request_count("POST /api/profile-bulk-import-jobs"),
        1,
        "a 400 is not retried"
    );
    assert!(sb.list_members(&list).is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn too_many_profiles_is_invalid() {
    let sb = start().await;
    let c = client(&sb, KEY);
    let list = sb.create_list("L");
    let profiles: Vec<String> = (0..=MAX_PROFILES_PER_JOB)
        .map(|i| profile(&format!("u{i}@ex.co")))
        .collect();
    let err = c.bulk_import(&list, &profiles).await.expect_err("400");
    assert_eq!(err.pointers(), vec!["/data/attributes/profiles/data"]);
    sb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// A scripted HTTP/1.1 server: answers each connection's request with the next canned response
// and records what it received.

#[derive(Debug, Clone)]
struct Received {
    head: String,
    body: Vec<u8>,
}

async fn scripted(responses: Vec<String>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    tokio::spawn(async move {
        for resp in responses {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 64 * 1024];
            let head_end = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < head_end + len {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            log2.lock().expect("log").push(Received {
                head,
                body: buf[head_end..].to_vec(),
            });
            let _ = sock.write_all(resp.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (url, log)
}

fn http_response(status: &str, extra_headers: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    )
}

const JOB_202: &str = r#"{"data":{"type":"profile-bulk-import-job","id":"01JOB","attributes":{"status":"queued","created_at":"2026-01-01T00:00:00+00:00","total_count":3,"completed_count":0,"failed_count":0,"completed_at":null,"expires_at":null}}}"#;

#[tokio::test]
async fn envelope_len_matches_the_real_body_and_headers_are_sent() {
    let (url, log) = scripted(vec![http_response(
        "202 Accepted",
        "",
        "application/vnd.api+json",
        JOB_202,
    )])
    .await;
    let c = Client::new(&url, ApiKey::new(KEY.to_owned()))
        .expect("client")
        .with_retry_policy(fast_retries());
    let list_id = "Ab\"c\\1"; // needs JSON escaping
    let profiles = vec![
        profile("a@example.com"),
        profile("é@example.com"),
        r#"{"type":"profile","attributes":{"external_id":"x"}}"#.to_owned(),
    ];
    let job = c.bulk_import(list_id, &profiles).await.expect("job");
    assert_eq!(job.id, "01JOB");

    let received = log.lock().expect("log").clone();
    assert_eq!(received.len(), 1);
    let body = &received[0].body;
    let profile_bytes: usize = profiles.iter().map(String::len).sum();
    assert_eq!(
        body.len(),
        bulk_import_envelope_len(list_id) + profile_bytes + profiles.len() - 1
    );

    let doc: serde_json::Value = serde_json::from_slice(body).expect("body is JSON");
    assert_eq!(doc["data"]["type"], "profile-bulk-import-job");
    assert_eq!(
        doc["data"]["relationships"]["lists"]["data"][0],
        serde_json::json!({ "type": "list", "id": list_id })
    );
    let sent = doc["data"]["attributes"]["profiles"]["data"]
        .as_array()
        .expect("profiles");
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[1]["attributes"]["email"], "é@example.com");

    let head = received[0].head.to_ascii_lowercase();
    assert!(
        head.starts_with("post /api/profile-bulk-import-jobs http/1.1"),
        "{head}"
    );
    assert!(
        head.contains(&format!(
            "authorization: klaviyo-api-key {}",
            KEY.to_ascii_lowercase()
        )),
        "{head}"
    );
    assert!(
        head.contains(&format!("revision: {}", segport_klaviyo::REVISION)),
        "{head}"
    );
    assert!(head.contains("accept: application/vnd.api+json"), "{head}");
    assert!(
        head.contains("content-type: application/vnd.api+json"),
        "{head}"
    );
}

#[tokio::test]
async fn throttled_and_unavailable_answers_are_retried_for_idempotent_calls() {
    let throttled = http_response(
        "429 Too Many Requests",
        "Retry-After: 0\r\n",
        "application/vnd.api+json",
        r#"{"errors":[{"id":"1","status":429,"code":"throttled","title":"Request was throttled.","detail":"Request was throttled. Expected available in 0 seconds."}]}"#,
    );
    let gateway = http_response(
        "503 Service Unavailable",
        "",
        "text/html",
        "<html><body><h1>503 Service Unavailable</h1></body></html>",
    );
    let account = http_response(
        "200 OK",
        "",
        "application/vnd.api+json",
        r#"{"data":[{"type":"account","id":"ACC1","attributes":{"contact_information":{"organization_name":"Retry Co"}}}]}"#,
    );
    let (url, log) = scripted(vec![throttled, gateway, account]).await;
    let c = Client::new(&url, ApiKey::new(KEY.to_owned()))
        .expect("client")
        .with_retry_policy(fast_retries());
    let acc = c.get_account().await.expect("third attempt succeeds");
    assert_eq!(acc.name, "Retry Co");
    assert_eq!(log.lock().expect("log").len(), 3);
}

#[tokio::test]
async fn html_bad_gateway_is_a_server_error_and_create_list_is_not_blindly_retried() {
    let bad_gateway = http_response(
        "502 Bad Gateway",
        "",
        "text/html",
        "<html><title>502 Bad Gateway</title></html>",
    );
    let (url, log) = scripted(vec![bad_gateway.clone(), bad_gateway]).await;
    let c = Client::new(&url, ApiKey::new(KEY.to_owned()))
        .expect("client")
        .with_retry_policy(fast_retries());
    let err = c.create_list("Once").await.expect_err("502");
    match &err {
        Error::Server {
            status,
            body_excerpt,
        } => {
            assert_eq!(*status, 502);
            assert_eq!(body_excerpt, "502 Bad Gateway");
        }
        other => panic!("expected Server, got {other:?}"),
    }
    assert_eq!(err.code(), "klaviyo.server_error");
    assert_eq!(
        log.lock().expect("log").len(),
        1,
        "a POST that may have been applied is not resent"
    );
}

#[tokio::test]
async fn create_list_after_an_ambiguous_failure_looks_the_list_up_first() {
    let unavailable = http_response("504 Gateway Timeout", "", "text/html", "<h1>504</h1>");
    let found = http_response(
        "200 OK",
        "",
        "application/vnd.api+json",
        r#"{"data":[{"type":"list","id":"Ln1234","attributes":{"name":"Once"}}],"links":{"self":"x"}}"#,
    );
    let (url, log) = scripted(vec![unavailable, found]).await;
    let c = Client::new(&url, ApiKey::new(KEY.to_owned()))
        .expect("client")
        .with_retry_policy(fast_retries());
    let list = c.create_list("Once").await.expect("found after the 504");
    assert_eq!(list.id, "Ln1234");
    let received = log.lock().expect("log").clone();
    assert_eq!(received.len(), 2);
    assert!(
        received[0].head.starts_with("POST /api/lists "),
        "{}",
        received[0].head
    );
    assert!(
        received[1].head.starts_with("GET /api/lists?filter="),
        "{}",
        received[1].head
    );
}

#[tokio::test]
async fn a_bare_429_is_retried_after_a_backoff() {
    // Neither Retry-After nor "Expected available in N seconds": the retry policy's backoff.
    let bare = http_response(
        "429 Too Many Requests",
        "",
        "application/vnd.api+json",
        r#"{"errors":[{"id":"1","status":429,"code":"throttled","title":"Request was throttled.","detail":"Request was throttled."}]}"#,
    );
    let ok = http_response(
        "200 OK",
        "",
        "application/vnd.api+json",
        r#"{"data":[],"links":{"self":"x","next":null}}"#,
    );
    let (url, log) = scripted(vec![bare, ok]).await;
    let c = Client::new(&url, ApiKey::new(KEY.to_owned()))
        .expect("client")
        .with_retry_policy(fast_retries());
    let page = c.get_lists(None).await.expect("second attempt");
    assert!(page.lists.is_empty() && page.next_cursor.is_none());
    assert_eq!(log.lock().expect("log").len(), 2);
    let stats = c.stats();
    assert_eq!((stats.requests, stats.throttled, stats.retries), (2, 1, 1));
}

#[tokio::test]
async fn a_429_asking_longer_than_the_policy_allows_is_rate_limited() {
    let long = http_response(
        "429 Too Many Requests",
        "Retry-After: 600\r\n",
        "application/vnd.api+json",
        r#"{"errors":[{"status":429,"code":"throttled","title":"Request was throttled.","detail":"Request was throttled. Expected available in 600 seconds."}]}"#,
    );
    let (url, log) = scripted(vec![long]).await;
    let c = Client::new(&url, ApiKey::new(KEY.to_owned()))
        .expect("client")
        .with_retry_policy(fast_retries());
    let err = c.get_lists(None).await.expect_err("429");
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(600)),
        "{err:?}"
    );
    assert!(err.to_string().contains("600 s"), "{err}");
    assert_eq!(log.lock().expect("log").len(), 1);
    assert_no_key(&err, KEY);
}

#[tokio::test]
async fn a_hostile_retry_after_from_the_sandbox_is_clamped_never_a_panic() {
    // One key per call: a 429 holds its operation back for everyone sharing the account.
    let keys: Vec<String> = (0..5)
        .map(|i| format!("pk_client_test_hostile_{i}_0123456789abcdef"))
        .collect();
    let config = SandboxConfig {
        keys: keys.iter().map(SandboxKey::full).collect(),
        faults: vec![
            "get_lists=seq:429:raw:1e20,429:raw:99999999999999999999,429:raw:inf,429:raw:-5,ok,429:raw:NaN,ok"
                .parse()
                .expect("fault"),
        ],
        ..Default::default()
    };
    let sb = Sandbox::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts");
    let day = Duration::from_secs(24 * 60 * 60);
    for key in &keys[..3] {
        let started = Instant::now();
        let err = client(&sb, key)
            .get_lists(None)
            .await
            .expect_err("rate limited");
        assert!(
            matches!(err, Error::RateLimited { retry_after: Some(d) } if d == day),
            "{err:?}"
        );
        assert_eq!(err.code(), "klaviyo.rate_limited");
        assert!(err.to_string().contains("86400 s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    // `-5` and `NaN` are no delay at all: the call backs off as for a bare 429, then succeeds.
    for key in &keys[3..] {
        let c = client(&sb, key);
        c.get_lists(None).await.expect("retried after a backoff");
        assert_eq!((c.stats().requests, c.stats().throttled), (2, 1));
    }
    sb.shutdown().await;
}
