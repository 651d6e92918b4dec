//! The generated operation table (src/spec.rs) must say exactly what Klaviyo's OpenAPI spec
//! (../shared/klaviyo/openapi-stable.json) says about every operation's limits and scopes.
//! On failure: `python3 scripts/gen-klaviyo-spec.py` and commit the result.

use segport_klaviyo::spec::{self, OPERATIONS};
use serde_json::Value;

fn spec_json() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/klaviyo/openapi-stable.json"
    );
    let text = std::fs::read_to_string(path)
        .expect("../shared/klaviyo/openapi-stable.json beside the checkout");
    serde_json::from_str(&text).unwrap()
}

fn per(v: Option<&Value>, unit: &str) -> Option<u32> {
    let s = v?.as_str()?;
    let (n, u) = s.split_once('/')?;
    assert_eq!(u, unit, "{s}");
    n.parse().ok()
}

#[test]
fn every_operation_of_the_spec_is_in_the_table_with_its_limits_and_scopes() {
    let spec_json = spec_json();
    assert_eq!(spec_json["info"]["version"], spec::SPEC_REVISION);
    assert_eq!(spec::SPEC_REVISION, segport_klaviyo::REVISION);
    let mut seen = 0;
    for (path, item) in spec_json["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            seen += 1;
            let row = spec::operation(id).unwrap_or_else(|| panic!("{id} missing from the table"));
            let rl = &op["x-klaviyo-ratelimit"];
            assert_eq!(row.method, method.to_uppercase(), "{id}");
            assert_eq!(row.path, path, "{id}");
            assert_eq!(
                row.burst_per_second,
                per(rl.get("burst"), "s").unwrap_or(0),
                "{id}"
            );
            assert_eq!(
                row.steady_per_minute,
                per(rl.get("steady"), "m").unwrap_or(0),
                "{id}"
            );
            assert_eq!(row.per_day, per(rl.get("daily"), "d"), "{id}");
            let scopes: Vec<&str> = op["x-klaviyo-scopes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            assert_eq!(row.scopes, scopes.as_slice(), "{id}");
        }
    }
    assert_eq!(seen, OPERATIONS.len());
}

#[test]
fn the_operations_segport_uses_have_the_documented_limits() {
    let bulk = spec::operation("bulk_import_profiles").unwrap();
    assert_eq!((bulk.burst_per_second, bulk.steady_per_minute), (10, 150));
    let create = spec::operation("create_list").unwrap();
    assert_eq!(create.per_day, Some(150));
    let accounts = spec::operation("get_accounts").unwrap();
    assert_eq!(
        (accounts.burst_per_second, accounts.steady_per_minute),
        (1, 15)
    );
}
