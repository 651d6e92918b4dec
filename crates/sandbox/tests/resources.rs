//! Profiles, list relationships, job relationships, bulk subscribe and upsert semantics.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn ids(doc: &Value) -> Vec<String> {
    doc["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn profiles_are_found_by_email_phone_and_external_id() {
    let sb = start().await;
    import_and_wait(
        &sb,
        None,
        vec![
            profile(json!({ "email": "a@example.com", "first_name": "A" })),
            profile(json!({ "email": "B@example.com" })),
            profile(json!({ "phone_number": "+48601234567" })),
            profile(json!({ "external_id": "crm-9" })),
        ],
    )
    .await;
    let resp = req(&sb, Method::GET, "/api/profiles")
        .query(&[(
            "filter",
            r#"any(email,["a@example.com","b@example.com","nobody@example.com"])"#,
        )])
        .send()
        .await
        .expect("send");
    let (status, found) = send_resp(resp).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let emails: Vec<&str> = found["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p["attributes"]["email"].as_str().expect("email"))
        .collect();
    assert_eq!(emails, ["a@example.com", "B@example.com"]);
    assert_eq!(found["data"][0]["attributes"]["first_name"], "A");
    assert_eq!(found["data"][0]["type"], "profile");

    for filter in [
        r#"equals(phone_number,"+48601234567")"#,
        r#"any(external_id,["crm-9"])"#,
    ] {
        let resp = req(&sb, Method::GET, "/api/profiles")
            .query(&[("filter", filter)])
            .send()
            .await
            .expect("send");
        let (_, found) = send_resp(resp).await;
        assert_eq!(found["data"].as_array().map(Vec::len), Some(1), "{filter}");
    }
    let (status, err) = get(&sb, "/api/profiles?page[size]=101").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["errors"][0]["source"]["parameter"], "page[size]");
    sb.shutdown().await;
}

async fn send_resp(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    (status, resp.json().await.expect("json"))
}

#[tokio::test]
async fn upsert_merges_fields_and_ignores_nulls() {
    let sb = start().await;
    import_and_wait(
        &sb,
        None,
        vec![profile(json!({
            "email": "m@example.com", "first_name": "Ann", "organization": "Org",
            "properties": { "a": 1, "keep": "yes" }, "location": { "city": "Gdańsk" }
        }))],
    )
    .await;
    import_and_wait(
        &sb,
        None,
        vec![profile(json!({
            "email": "M@example.com", "last_name": "Lee", "first_name": null, "organization": "",
            "phone_number": "+48500100200",
            "properties": { "b": 2, "keep": null }, "location": { "zip": "80-001" }
        }))],
    )
    .await;
    let resp = req(&sb, Method::GET, "/api/profiles")
        .query(&[("filter", r#"equals(phone_number,"+48500100200")"#)])
        .send()
        .await
        .expect("send");
    let (_, found) = send_resp(resp).await;
    let data = found["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "one profile, found by the new phone too");
    let a = &data[0]["attributes"];
    assert_eq!(a["email"], "m@example.com");
    assert_eq!(a["first_name"], "Ann", "null does not clear");
    assert_eq!(a["last_name"], "Lee");
    assert_eq!(
        a["organization"], "",
        "an empty string is a value (as in Klaviyo)"
    );
    assert_eq!(a["properties"], json!({ "a": 1, "b": 2, "keep": "yes" }));
    assert_eq!(a["location"], json!({ "city": "Gdańsk", "zip": "80-001" }));
    sb.shutdown().await;
}

#[tokio::test]
async fn conflicting_identifiers_become_a_duplicate_profile_row() {
    let sb = start().await;
    let list = sb.create_list("L");
    import_and_wait(
        &sb,
        None,
        vec![
            profile(json!({ "email": "one@example.com", "phone_number": "+48111111111" })),
            profile(json!({ "email": "two@example.com", "phone_number": "+48222222222" })),
        ],
    )
    .await;
    let job = import_and_wait(
        &sb,
        Some(&list),
        vec![
            profile(json!({ "email": "three@example.com" })),
            profile(json!({ "email": "one@example.com", "phone_number": "+48222222222", "first_name": "X" })),
        ],
    )
    .await;
    assert_eq!(job["data"]["attributes"]["completed_count"], 1);
    assert_eq!(job["data"]["attributes"]["failed_count"], 1);
    let id = job["data"]["id"].as_str().expect("id");
    let (status, errs) = get(
        &sb,
        &format!("/api/profile-bulk-import-jobs/{id}/import-errors"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rows = errs["data"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{errs}");
    let row = &rows[0]["attributes"];
    assert_eq!(row["code"], "duplicate_profile");
    assert_eq!(
        row["original_payload"]["attributes"]["email"],
        "one@example.com"
    );
    assert_eq!(
        row["source"]["pointer"],
        "/data/attributes/profiles/data/1/attributes"
    );
    assert_eq!(sb.list_members(&list), ["three@example.com"]);
    // Neither existing profile changed.
    let (_, found) = get(
        &sb,
        "/api/profiles?filter=equals(email,\"one@example.com\")",
    )
    .await;
    assert!(found["data"][0]["attributes"]["first_name"].is_null());
    sb.shutdown().await;
}

#[tokio::test]
async fn list_members_page_by_cursor_and_can_be_removed() {
    let sb = start().await;
    let list = sb.create_list("Members");
    let job = import_and_wait(
        &sb,
        Some(&list),
        (0..5)
            .map(|i| profile(json!({ "email": format!("m{i}@example.com") })))
            .collect(),
    )
    .await;
    // The job's imported profiles.
    let job_id = job["data"]["id"].as_str().expect("id");
    let (status, job_profiles) = get(
        &sb,
        &format!("/api/profile-bulk-import-jobs/{job_id}/relationships/profiles?page[size]=100"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let all = ids(&job_profiles);
    assert_eq!(all.len(), 5);

    // Two at a time, following links.next.
    let path = format!("/api/lists/{list}/relationships/profiles?page[size]=2");
    let (status, mut page) = get(&sb, &path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut seen = ids(&page);
    while let Some(next) = page["links"]["next"].as_str() {
        let resp = http()
            .get(next)
            .header("Authorization", format!("Klaviyo-API-Key {KEY}"))
            .header("revision", REVISION)
            .send()
            .await
            .expect("send");
        page = resp.json().await.expect("json");
        seen.extend(ids(&page));
    }
    assert_eq!(seen, all, "every member once, in order");
    let (status, _) = get(
        &sb,
        &format!("/api/lists/{list}/relationships/profiles?page[size]=101"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let remove = json!({ "data": [
        { "type": "profile", "id": all[0] }, { "type": "profile", "id": all[3] },
        { "type": "profile", "id": "01UNKNOWN0000000000000000" }
    ] });
    let (status, body) = send(with_body(
        req(
            &sb,
            Method::DELETE,
            &format!("/api/lists/{list}/relationships/profiles"),
        ),
        &remove,
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        sb.list_members(&list),
        ["m1@example.com", "m2@example.com", "m4@example.com"]
    );
    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({ "type": "profile", "id": format!("p{i}") }))
        .collect();
    let (status, err) = send(with_body(
        req(
            &sb,
            Method::DELETE,
            &format!("/api/lists/{list}/relationships/profiles"),
        ),
        &json!({ "data": too_many }),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["errors"][0]["source"]["pointer"], "/data");
    sb.shutdown().await;
}

fn subscribe_body(list: &str, n: usize) -> Value {
    let profiles: Vec<Value> = (0..n)
        .map(|i| {
            json!({ "type": "profile", "attributes": {
            "email": format!("s{i}@example.com"),
            "subscriptions": { "email": { "marketing": { "consent": "SUBSCRIBED" } } }
        } })
        })
        .collect();
    json!({ "data": {
        "type": "profile-subscription-bulk-create-job",
        "attributes": { "profiles": { "data": profiles } },
        "relationships": { "list": { "data": { "type": "list", "id": list } } }
    } })
}

#[tokio::test]
async fn bulk_subscribe_accepts_up_to_1000_profiles() {
    let sb = start().await;
    let list = sb.create_list("Consent");
    let path = "/api/profile-subscription-bulk-create-jobs";
    let (status, err) = send(with_body(
        req(&sb, Method::POST, path),
        &subscribe_body(&list, 1001),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["errors"][0]["source"]["pointer"],
        "/data/attributes/profiles/data"
    );
    let (status, body) = send(with_body(
        req(&sb, Method::POST, path),
        &subscribe_body(&list, 1000),
    ))
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(body.is_null(), "202 without a body: {body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while sb.list_members(&list).len() < 1000 {
        assert!(Instant::now() < deadline, "subscriptions applied");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn jobs_list_filters_sorts_and_sparse_fields() {
    let sb = start().await;
    let first = import_and_wait(
        &sb,
        None,
        vec![profile(json!({ "email": "j1@example.com" }))],
    )
    .await;
    let second = import_and_wait(
        &sb,
        None,
        vec![profile(json!({ "email": "j2@example.com" }))],
    )
    .await;
    let resp = req(&sb, Method::GET, "/api/profile-bulk-import-jobs")
        .query(&[
            ("page[size]", "100"),
            ("sort", "-created_at"),
            ("filter", r#"any(status,["complete","processing"])"#),
            ("fields[profile-bulk-import-job]", "status,completed_count"),
        ])
        .send()
        .await
        .expect("send");
    let (status, jobs) = send_resp(resp).await;
    assert_eq!(status, StatusCode::OK, "{jobs}");
    assert_eq!(
        ids(&jobs),
        [
            second["data"]["id"].as_str().expect("id"),
            first["data"]["id"].as_str().expect("id")
        ]
    );
    let attrs = jobs["data"][0]["attributes"]
        .as_object()
        .expect("attributes");
    let mut keys: Vec<&str> = attrs.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["completed_count", "status"]);

    let (_, queued) = get(
        &sb,
        "/api/profile-bulk-import-jobs?filter=any(status,[\"queued\"])",
    )
    .await;
    assert_eq!(queued["data"].as_array().map(Vec::len), Some(0));
    let (status, _) = get(&sb, "/api/profile-bulk-import-jobs?page[size]=101").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    sb.shutdown().await;
}
