//! The sandbox over real HTTP, started on port 0.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use serde_json::{json, Value};

const KEY: &str = "pk_test_full_0123456789abcdefghijklmnopq";
const READ_ONLY_KEY: &str = "pk_test_accounts_only_0123456789abcdefgh";
const REVISION: &str = segport_sandbox::REVISION;

thread_local! {
    // Building a reqwest client loads the root certificates: tens of ms in a debug build.
    static CLIENT: reqwest::Client = reqwest::Client::new();
}

fn client() -> reqwest::Client {
    CLIENT.with(reqwest::Client::clone)
}

async fn start() -> Sandbox {
    let config = SandboxConfig {
        keys: vec![
            SandboxKey::full(KEY),
            SandboxKey::with_scopes(READ_ONLY_KEY, &["accounts:read"]),
        ],
        job_processing: Duration::from_millis(50),
        ..Default::default()
    };
    Sandbox::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts")
}

fn req(sb: &Sandbox, method: Method, path: &str) -> reqwest::RequestBuilder {
    client()
        .request(method, format!("{}{path}", sb.base_url()))
        .header("Authorization", format!("Klaviyo-API-Key {KEY}"))
        .header("revision", REVISION)
        .header("Accept", "application/vnd.api+json")
}

fn post_json(sb: &Sandbox, path: &str, body: String) -> reqwest::RequestBuilder {
    req(sb, Method::POST, path)
        .header("Content-Type", "application/vnd.api+json")
        .body(body)
}

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = resp.json().await.expect("json body");
    if !status.is_success() {
        assert_eq!(
            ct, "application/vnd.api+json",
            "errors are JSON:API documents"
        );
    }
    (status, body)
}

fn first_error(body: &Value) -> &Value {
    let e = &body["errors"][0];
    for field in ["id", "code", "title", "detail"] {
        assert!(e[field].is_string(), "error has {field}: {body}");
    }
    e
}

fn profile(email: &str) -> Value {
    json!({ "type": "profile", "attributes": { "email": email, "first_name": "Ann", "properties": { "tier": "gold" } } })
}

fn import_body(list_id: &str, profiles: Vec<Value>) -> String {
    json!({
        "data": {
            "type": "profile-bulk-import-job",
            "attributes": { "profiles": { "data": profiles } },
            "relationships": { "lists": { "data": [ { "type": "list", "id": list_id } ] } }
        }
    })
    .to_string()
}

async fn wait_complete(sb: &Sandbox, job_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = json_of(
            req(
                sb,
                Method::GET,
                &format!("/api/profile-bulk-import-jobs/{job_id}"),
            )
            .send()
            .await
            .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["data"]["attributes"]["status"] == "complete" {
            return body;
        }
        assert!(Instant::now() < deadline, "job did not complete: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn missing_or_unknown_key_is_401_not_authenticated() {
    let sb = start().await;
    let url = format!("{}/api/accounts", sb.base_url());
    let http = client();

    let resp = http
        .get(&url)
        .header("revision", REVISION)
        .send()
        .await
        .expect("send");
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(first_error(&body)["code"], "not_authenticated");
    assert_eq!(first_error(&body)["status"], 401);

    let resp = http
        .get(&url)
        .header("Authorization", "Klaviyo-API-Key pk_unknown")
        .header("revision", REVISION)
        .send()
        .await
        .expect("send");
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(first_error(&body)["code"], "not_authenticated");
    sb.shutdown().await;
}

#[tokio::test]
async fn key_lacking_scope_is_403_permission_denied() {
    let sb = start().await;
    let http = client();
    let get = |path: &str| {
        http.get(format!("{}{path}", sb.base_url()))
            .header("Authorization", format!("Klaviyo-API-Key {READ_ONLY_KEY}"))
            .header("revision", REVISION)
    };
    let (status, _) = json_of(get("/api/accounts").send().await.expect("send")).await;
    assert_eq!(status, StatusCode::OK, "the key has accounts:read");
    let (status, body) = json_of(get("/api/lists").send().await.expect("send")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(first_error(&body)["code"], "permission_denied");
    assert!(
        first_error(&body)["detail"]
            .as_str()
            .unwrap_or("")
            .contains("lists:read"),
        "{body}"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn missing_revision_is_400_pointing_at_the_header() {
    let sb = start().await;
    let resp = client()
        .get(format!("{}/api/lists", sb.base_url()))
        .header("Authorization", format!("Klaviyo-API-Key {KEY}"))
        .send()
        .await
        .expect("send");
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let e = first_error(&body);
    assert_eq!(e["code"], "invalid");
    assert_eq!(e["source"]["parameter"], "revision");
    sb.shutdown().await;
}

#[tokio::test]
async fn post_with_other_content_type_is_415() {
    let sb = start().await;
    let body = json!({ "data": { "type": "list", "attributes": { "name": "x" } } }).to_string();
    let resp = req(&sb, Method::POST, "/api/lists")
        .header("Content-Type", "text/plain")
        .body(body.clone())
        .send()
        .await
        .expect("send");
    let (status, err) = json_of(resp).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(first_error(&err)["code"], "unsupported_media_type");
    // Plain application/json is accepted.
    let resp = req(&sb, Method::POST, "/api/lists")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::CREATED);
    sb.shutdown().await;
}

#[tokio::test]
async fn accounts_returns_one_account_with_required_fields() {
    let sb = start().await;
    let (status, body) = json_of(
        req(&sb, Method::GET, "/api/accounts")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let data = body["data"].as_array().expect("data array");
    assert_eq!(data.len(), 1);
    let acc = &data[0];
    assert_eq!(acc["type"], "account");
    assert!(acc["id"].is_string() && acc["links"]["self"].is_string());
    let attrs = &acc["attributes"];
    for f in [
        "test_account",
        "contact_information",
        "timezone",
        "preferred_currency",
        "public_api_key",
        "locale",
    ] {
        assert!(!attrs[f].is_null(), "account has {f}");
    }
    assert_eq!(
        attrs["contact_information"]["organization_name"],
        "Segport Sandbox"
    );
    assert_eq!(sb.request_count("GET /api/accounts"), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn lists_create_get_filter_and_page() {
    let sb = start().await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let body = json!({ "data": { "type": "list", "attributes": { "name": format!("List \"{i}\"") } } }).to_string();
        let (status, created) = json_of(
            post_json(&sb, "/api/lists", body)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["data"]["id"].as_str().expect("id").to_owned();
        assert_eq!(id.len(), 6);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
        ids.push(id);
    }
    let (status, one) = json_of(
        req(&sb, Method::GET, &format!("/api/lists/{}", ids[3]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["data"]["attributes"]["name"], "List \"3\"");

    let (status, missing) = json_of(
        req(&sb, Method::GET, "/api/lists/nope00")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(first_error(&missing)["code"], "not_found");

    // Paging: default size 10, then links.next.
    let (_, page1) = json_of(
        req(&sb, Method::GET, "/api/lists")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(page1["data"].as_array().map(Vec::len), Some(10));
    let next = page1["links"]["next"]
        .as_str()
        .expect("next link")
        .to_owned();
    let resp = client()
        .get(next)
        .header("Authorization", format!("Klaviyo-API-Key {KEY}"))
        .header("revision", REVISION)
        .send()
        .await
        .expect("send");
    let (_, page2) = json_of(resp).await;
    assert_eq!(page2["data"].as_array().map(Vec::len), Some(2));
    assert!(page2["links"]["next"].is_null());

    let (status, too_big) = json_of(
        req(&sb, Method::GET, "/api/lists?page[size]=11")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&too_big)["source"]["parameter"], "page[size]");

    // Sort by -created: the newest list first.
    let (status, sorted) = json_of(
        req(&sb, Method::GET, "/api/lists?sort=-created")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sorted}");
    assert_eq!(sorted["data"][0]["id"], ids[11].as_str());

    // Filter by name (with an escaped quote inside).
    let resp = req(&sb, Method::GET, "/api/lists")
        .query(&[("filter", r#"equals(name,"List \"7\"")"#)])
        .send()
        .await
        .expect("send");
    let (status, found) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let data = found["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "{found}");
    assert_eq!(data[0]["id"], ids[7].as_str());
    sb.shutdown().await;
}

#[tokio::test]
async fn good_import_ends_in_list_membership() {
    let sb = start().await;
    let list = sb.create_list("Newsletter");
    let emails = ["b@example.com", "a@example.com", "c@example.org"];
    let body = import_body(&list, emails.iter().map(|e| profile(e)).collect());
    let (status, job) = json_of(
        post_json(&sb, "/api/profile-bulk-import-jobs", body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["data"]["type"], "profile-bulk-import-job");
    let attrs = &job["data"]["attributes"];
    assert_eq!(attrs["status"], "queued");
    assert_eq!(attrs["total_count"], 3);
    assert!(attrs["created_at"].is_string() && attrs["expires_at"].is_string());
    assert!(
        sb.list_members(&list).is_empty(),
        "nothing is imported while the job is queued"
    );

    let job_id = job["data"]["id"].as_str().expect("job id");
    let done = wait_complete(&sb, job_id).await;
    assert_eq!(done["data"]["attributes"]["completed_count"], 3);
    assert_eq!(done["data"]["attributes"]["failed_count"], 0);
    assert!(done["data"]["attributes"]["completed_at"].is_string());

    let mut expected: Vec<String> = emails.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(sb.list_members(&list), expected);
    let members: Value = reqwest::get(format!("{}/__sandbox/lists/{list}/members", sb.base_url()))
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(members, json!({ "list_id": list, "emails": expected }));

    // Re-importing is an upsert: no duplicates.
    let body = import_body(
        &list,
        vec![profile("a@example.com"), profile("A@Example.com")],
    );
    let (_, job) = json_of(
        post_json(&sb, "/api/profile-bulk-import-jobs", body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    wait_complete(&sb, job["data"]["id"].as_str().expect("id")).await;
    assert_eq!(sb.list_members(&list), expected);
    assert_eq!(sb.request_count("POST /api/profile-bulk-import-jobs"), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn invalid_email_rejects_the_whole_request() {
    let sb = start().await;
    let list = sb.create_list("L");
    let profiles = vec![
        profile("ok@example.com"),
        profile("fine@example.com"),
        profile("not-an-email"),
        profile("x@@y"),
    ];
    let (status, body) = json_of(
        post_json(
            &sb,
            "/api/profile-bulk-import-jobs",
            import_body(&list, profiles),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let e = first_error(&body);
    assert_eq!(e["code"], "invalid");
    assert_eq!(
        e["source"]["pointer"],
        "/data/attributes/profiles/data/2/attributes/email"
    );
    assert_eq!(
        body["errors"][1]["source"]["pointer"],
        "/data/attributes/profiles/data/3/attributes/email"
    );
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sb.list_members(&list).is_empty(), "nothing imported");
    let (_, jobs) = json_of(
        req(&sb, Method::GET, "/api/profile-bulk-import-jobs")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        jobs["data"].as_array().map(Vec::len),
        Some(0),
        "no job created"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn profile_without_identifier_and_unknown_list_are_rejected() {
    let sb = start().await;
    let list = sb.create_list("L");
    let nobody = json!({ "type": "profile", "attributes": { "first_name": "Nobody" } });
    let (status, body) = json_of(
        post_json(
            &sb,
            "/api/profile-bulk-import-jobs",
            import_body(&list, vec![nobody]),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        first_error(&body)["source"]["pointer"],
        "/data/attributes/profiles/data/0/attributes"
    );

    let (status, body) = json_of(
        post_json(
            &sb,
            "/api/profile-bulk-import-jobs",
            import_body("ZZZZZZ", vec![profile("a@b.co")]),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        first_error(&body)["source"]["pointer"],
        "/data/relationships/lists/data/0/id"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn more_than_10000_profiles_are_rejected() {
    let sb = start().await;
    let list = sb.create_list("L");
    let profiles: Vec<Value> = (0..10_001)
        .map(|i| json!({"type":"profile","attributes":{"email": format!("u{i}@ex.co")}}))
        .collect();
    let (status, body) = json_of(
        post_json(
            &sb,
            "/api/profile-bulk-import-jobs",
            import_body(&list, profiles),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        first_error(&body)["source"]["pointer"],
        "/data/attributes/profiles/data"
    );

    // Exactly 10,000 is fine.
    let profiles: Vec<Value> = (0..10_000)
        .map(|i| json!({"type":"profile","attributes":{"email": format!("u{i}@ex.co")}}))
        .collect();
    let (status, job) = json_of(
        post_json(
            &sb,
            "/api/profile-bulk-import-jobs",
            import_body(&list, profiles),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    wait_complete(&sb, job["data"]["id"].as_str().expect("id")).await;
    assert_eq!(sb.list_members(&list).len(), 10_000);
    sb.shutdown().await;
}

#[tokio::test]
async fn body_over_5_mb_is_413_and_big_profile_is_400() {
    let sb = start().await;
    let list = sb.create_list("L");
    let filler = "x".repeat(60 * 1024);
    let profiles: Vec<Value> =
        (0..90).map(|i| json!({"type":"profile","attributes":{"email": format!("u{i}@ex.co"), "properties": {"f": filler}}})).collect();
    let body = import_body(&list, profiles);
    assert!(body.len() > 5 * 1024 * 1024);
    let (status, err) = json_of(
        post_json(&sb, "/api/profile-bulk-import-jobs", body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(first_error(&err)["status"], 413);

    let big = json!({"type":"profile","attributes":{"email": "big@ex.co", "properties": {"f": "y".repeat(101 * 1024)}}});
    let (status, err) = json_of(
        post_json(
            &sb,
            "/api/profile-bulk-import-jobs",
            import_body(&list, vec![profile("a@ex.co"), big]),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        first_error(&err)["source"]["pointer"],
        "/data/attributes/profiles/data/1"
    );
    assert!(sb.list_members(&list).is_empty());
    sb.shutdown().await;
}

/// A bulk import body of exactly `len` bytes: profiles of at most ~95 KB (under the 100 KB per
/// profile) whose padding adds up.
fn import_body_of_len(list_id: &str, len: usize) -> String {
    const MOST: usize = 95_000;
    let n = len / MOST + 1;
    let with = |pads: &[usize]| {
        let profiles = pads
            .iter()
            .enumerate()
            .map(|(i, &pad)| json!({"type":"profile","attributes":{"email": format!("u{i}@ex.co"), "properties": {"f": "x".repeat(pad)}}}))
            .collect();
        import_body(list_id, profiles)
    };
    let mut left = len - with(&vec![0; n]).len();
    let pads: Vec<usize> = (0..n)
        .map(|_| {
            let pad = left.min(MOST);
            left -= pad;
            pad
        })
        .collect();
    let body = with(&pads);
    assert_eq!(body.len(), len);
    body
}

#[tokio::test]
async fn a_body_of_5_000_000_bytes_is_taken_and_one_byte_more_is_413() {
    // "5 MB" read the safe way: 5,000,000 bytes, not 5 MiB. The client's batcher splits at the
    // same number, so no batch it builds is refused.
    assert_eq!(segport_sandbox::MAX_JOB_BYTES, 5_000_000);
    assert_eq!(
        segport_klaviyo::MAX_JOB_BYTES,
        segport_sandbox::MAX_JOB_BYTES
    );
    let sb = start().await;
    let list = sb.create_list("L");
    for (len, want) in [
        (5_000_000, StatusCode::ACCEPTED),
        (5_000_001, StatusCode::PAYLOAD_TOO_LARGE),
        (5 * 1024 * 1024, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let body = import_body_of_len(&list, len);
        let (status, answer) = json_of(
            post_json(&sb, "/api/profile-bulk-import-jobs", body)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, want, "{len} bytes: {answer}");
        if want == StatusCode::PAYLOAD_TOO_LARGE {
            let detail = first_error(&answer)["detail"].as_str().expect("detail");
            assert!(
                detail.contains(&format!("is {len} bytes")) && detail.contains("5000000 bytes"),
                "{detail}"
            );
        }
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn bad_phone_fails_in_processing_and_shows_in_import_errors() {
    let sb = start().await;
    let list = sb.create_list("L");
    let bad_phone =
        json!({"type":"profile","attributes":{"email":"p@ex.co","phone_number":"601 234 567"}});
    let good_phone = json!({"type":"profile","attributes":{"phone_number":"+48601234567"}});
    let (status, job) = json_of(
        post_json(
            &sb,
            "/api/profile-bulk-import-jobs",
            import_body(&list, vec![profile("a@ex.co"), bad_phone, good_phone]),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = job["data"]["id"].as_str().expect("id");
    let done = wait_complete(&sb, id).await;
    assert_eq!(done["data"]["attributes"]["completed_count"], 2);
    assert_eq!(done["data"]["attributes"]["failed_count"], 1);
    let (status, errs) = json_of(
        req(
            &sb,
            Method::GET,
            &format!("/api/profile-bulk-import-jobs/{id}/import-errors"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let data = errs["data"].as_array().expect("data");
    assert_eq!(data.len(), 1);
    assert_eq!(
        data[0]["attributes"]["source"]["pointer"],
        "/data/attributes/profiles/data/1/attributes/phone_number"
    );
    assert_eq!(
        data[0]["attributes"]["original_payload"]["attributes"]["email"],
        "p@ex.co"
    );
    assert_eq!(
        sb.list_members(&list),
        vec!["a@ex.co".to_owned()],
        "phone-only profiles have no email"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn binary_prints_listening_line_and_demo_key() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_segport-sandbox"))
        .args(["--port", "0"])
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
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    let second = lines.next_line().await.expect("read").expect("line");
    let key = second
        .strip_prefix("demo key: ")
        .expect("demo key line")
        .to_owned();
    assert!(key.starts_with("pk_") && key.len() == 37, "{key}");

    let resp = client()
        .get(format!("{url}/api/accounts"))
        .header("Authorization", format!("Klaviyo-API-Key {key}"))
        .header("revision", REVISION)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    child.kill().await.expect("kill");
}
