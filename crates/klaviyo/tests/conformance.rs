//! The request bodies the client sends, validated against the official request schemas of
//! Klaviyo's OpenAPI spec (revision `segport_klaviyo::REVISION`) with `jsonschema`. The bodies are the ones the
//! client really sends: built by the same public functions, and for bulk import also captured
//! off the wire by a one-shot local HTTP listener.

use std::sync::OnceLock;

use segport_klaviyo::{
    bulk_import_body, bulk_subscribe_body, create_list_body, remove_profiles_body, ApiKey, Client,
    Subscriber,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SPEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/klaviyo/openapi-stable.json"
);

fn spec() -> &'static Value {
    static SPEC_JSON: OnceLock<Value> = OnceLock::new();
    SPEC_JSON.get_or_init(|| {
        let text = std::fs::read_to_string(SPEC).expect("the spec is readable");
        serde_json::from_str(&text).expect("the spec is JSON")
    })
}

/// The request body schema of an operation, as its `$ref` into `#/components/schemas`.
fn request_schema_ref(operation_id: &str) -> String {
    for item in spec()["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("path item").values() {
            if op.get("operationId").and_then(Value::as_str) == Some(operation_id) {
                return op["requestBody"]["content"]["application/vnd.api+json"]["schema"]["$ref"]
                    .as_str()
                    .expect("a $ref schema")
                    .to_owned();
            }
        }
    }
    panic!("{operation_id} is not in the spec");
}

/// A validator for the operation's request body: a schema document that embeds the spec's
/// `components`, so `#/components/schemas/...` refs resolve inside it. OpenAPI 3.0's
/// `nullable` is translated to JSON Schema, and objects are closed (`additionalProperties:
/// false` where the spec lists properties) so that a misspelt field fails validation.
fn validator(operation_id: &str) -> jsonschema::Validator {
    let mut components = spec()["components"].clone();
    tighten(&mut components);
    let doc = json!({
        "$ref": request_schema_ref(operation_id),
        "components": components,
    });
    jsonschema::draft4::options()
        .build(&doc)
        .unwrap_or_else(|e| panic!("schema of {operation_id}: {e}"))
}

fn tighten(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                let inner = Value::Object(std::mem::take(map));
                map.insert("anyOf".into(), json!([inner, { "type": "null" }]));
            }
            let closable = map.get("type") == Some(&json!("object"))
                && map.contains_key("properties")
                && !map.contains_key("additionalProperties");
            if closable {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for child in map.values_mut() {
                tighten(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tighten),
        _ => {}
    }
}

fn assert_valid(operation_id: &str, body: &str) {
    let instance: Value = serde_json::from_str(body).expect("the body is JSON");
    let v = validator(operation_id);
    let errors: Vec<String> = v
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{operation_id}: {errors:#?}\n{body}");
}

fn assert_invalid(operation_id: &str, body: &Value) {
    assert!(
        !validator(operation_id).is_valid(body),
        "{operation_id} accepted {body}"
    );
}

fn sample_profiles() -> Vec<String> {
    vec![
        json!({"type":"profile","attributes":{"email":"a@example.com","first_name":"Ann"}})
            .to_string(),
        json!({"type":"profile","attributes":{
            "phone_number":"+48601234567","external_id":"C-1","last_name":"Nowak",
            "location":{"city":"Kraków","country":"PL","zip":"30-001"},
            "properties":{"tier":"gold","orders":3}
        }})
        .to_string(),
    ]
}

#[test]
fn the_validator_rejects_what_the_spec_forbids() {
    // The check has teeth: a wrong type, a missing relationship id and an unknown field fail.
    assert_invalid(
        "bulk_import_profiles",
        &json!({"data":{"type":"profile-import-job","attributes":{"profiles":{"data":[]}}}}),
    );
    assert_invalid(
        "create_list",
        &json!({"data":{"type":"list","attributes":{"title":"x"}}}),
    );
    assert_invalid(
        "remove_profiles_from_list",
        &json!({"data":[{"type":"profile"}]}),
    );
}

#[test]
fn bulk_import_body_conforms() {
    assert_valid(
        "bulk_import_profiles",
        &bulk_import_body("Y6nRLr", &sample_profiles()),
    );
    assert_valid("bulk_import_profiles", &bulk_import_body("Y6nRLr", &[]));
}

#[test]
fn create_list_body_conforms() {
    assert_valid("create_list", &create_list_body("VIP \"gold\" \\ list"));
}

#[test]
fn remove_profiles_body_conforms() {
    let ids: Vec<String> = (0..3)
        .map(|i| format!("01GDDKASAP8TKDDA2GRZDSVP4{i}"))
        .collect();
    assert_valid("remove_profiles_from_list", &remove_profiles_body(&ids));
}

#[test]
fn bulk_subscribe_body_conforms() {
    let subs = vec![
        Subscriber {
            email: Some("a@example.com".into()),
            phone_number: None,
        },
        Subscriber {
            email: None,
            phone_number: Some("+48601234567".into()),
        },
        Subscriber {
            email: Some("b@example.com".into()),
            phone_number: Some("+48601234568".into()),
        },
    ];
    assert_valid(
        "bulk_subscribe_profiles",
        &bulk_subscribe_body(Some("Y6nRLr"), &subs, Some("Segport")),
    );
    assert_valid(
        "bulk_subscribe_profiles",
        &bulk_subscribe_body(None, &subs, None),
    );
}

/// Accepts one request, answers it with `answer`, returns the body it received.
async fn capture_one(answer: &'static str) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.expect("accept");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        let (head_end, len) = loop {
            let n = sock.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed early");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (i + 4, len);
            }
        };
        while buf.len() < head_end + len {
            let n = sock.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed early");
            buf.extend_from_slice(&chunk[..n]);
        }
        let resp = format!(
            "HTTP/1.1 202 Accepted\r\nContent-Type: application/vnd.api+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        );
        sock.write_all(resp.as_bytes()).await.expect("write");
        buf[head_end..].to_vec()
    });
    (url, task)
}

#[tokio::test]
async fn the_bulk_import_body_on_the_wire_conforms() {
    let (url, task) = capture_one(r#"{"data":{"type":"profile-bulk-import-job","id":"J1","attributes":{"status":"queued","created_at":"2026-01-01T00:00:00+00:00","total_count":2}}}"#).await;
    let c = Client::new(
        &url,
        ApiKey::new("pk_conformance_0123456789abcdefghijk".into()),
    )
    .expect("client");
    c.bulk_import("Y6nRLr", &sample_profiles())
        .await
        .expect("job");
    let body = task.await.expect("captured");
    let body = String::from_utf8(body).expect("utf-8");
    assert_eq!(body, bulk_import_body("Y6nRLr", &sample_profiles()));
    assert_valid("bulk_import_profiles", &body);
}

#[tokio::test]
async fn the_bulk_subscribe_body_on_the_wire_conforms() {
    let (url, task) = capture_one("").await;
    let c = Client::new(
        &url,
        ApiKey::new("pk_conformance_0123456789abcdefghijl".into()),
    )
    .expect("client");
    let subs = vec![Subscriber {
        email: Some("a@example.com".into()),
        phone_number: None,
    }];
    c.bulk_subscribe(Some("Y6nRLr"), &subs, None)
        .await
        .expect("accepted");
    let body = String::from_utf8(task.await.expect("captured")).expect("utf-8");
    assert_valid("bulk_subscribe_profiles", &body);
}
