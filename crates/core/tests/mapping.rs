//! Profile mapping: every attribute, empty omission, phones, property types, size limit,
//! suggestions, errors, content hashes, and property tests over arbitrary input.

use proptest::prelude::*;
use segport_core::mapping::{
    infer_types, is_valid_email, normalize_phone, preview, suggest, validate_email, ColumnTypeHint,
    InvalidPhone, Mapper, MappingError, MAX_PROFILE_BYTES,
};
use segport_core::model::Mapping;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn row(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

fn email_only() -> Mapping {
    Mapping {
        email: "email".into(),
        ..Mapping::default()
    }
}

fn attrs(json: &str) -> Value {
    let v: Value = serde_json::from_str(json).expect("valid JSON");
    assert_eq!(v["type"], "profile");
    v["attributes"].clone()
}

/// No `null`, no `""`, no empty object anywhere in `v`.
fn assert_no_empty(v: &Value, path: &str) {
    match v {
        Value::Null => panic!("null at {path}"),
        Value::String(s) => assert!(!s.is_empty(), "empty string at {path}"),
        Value::Object(o) => {
            assert!(!o.is_empty(), "empty object at {path}");
            for (k, v) in o {
                assert_no_empty(v, &format!("{path}.{k}"));
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                assert_no_empty(v, &format!("{path}[{i}]"));
            }
        }
        Value::Bool(_) | Value::Number(_) => {}
    }
}

fn full_mapping() -> Mapping {
    Mapping {
        email: "Email".into(),
        phone_number: Some("Phone".into()),
        external_id: Some("Id".into()),
        first_name: Some("First".into()),
        last_name: Some("Last".into()),
        organization: Some("Company".into()),
        title: Some("Job".into()),
        locale: Some("Locale".into()),
        image: Some("Avatar".into()),
        address1: Some("Street".into()),
        address2: Some("Flat".into()),
        city: Some("City".into()),
        country: Some("Country".into()),
        region: Some("Region".into()),
        zip: Some("Zip".into()),
        timezone: Some("Tz".into()),
        latitude: Some("Lat".into()),
        longitude: Some("Lon".into()),
        ip: Some("Ip".into()),
        default_country: Some("PL".into()),
        invalid_phone: InvalidPhone::Reject,
        properties: BTreeMap::from([
            ("plan".to_string(), "Plan".to_string()),
            ("orders".to_string(), "Orders".to_string()),
        ]),
    }
}

const FULL_COLUMNS: &[&str] = &[
    "Email", "Phone", "Id", "First", "Last", "Company", "Job", "Locale", "Avatar", "Street",
    "Flat", "City", "Country", "Region", "Zip", "Tz", "Lat", "Lon", "Ip", "Plan", "Orders",
];

#[test]
fn every_attribute_is_mapped_in_klaviyos_shape() {
    let mapper = Mapper::new(&full_mapping(), &cols(FULL_COLUMNS), None).unwrap();
    let m = mapper
        .map(&row(&[
            " Ada@Example.com ",
            "601 234 567",
            "C-17",
            "Ada",
            "Lovelace",
            "Analytical Engines Ltd",
            "Programmer",
            "en-GB",
            "https://example.com/ada.png",
            "12 St James's Square",
            "Flat 2",
            "London",
            "United Kingdom",
            "England",
            "02134",
            "Europe/London",
            "51.5074",
            "-0.1278",
            "127.0.0.1",
            "gold",
            "12",
        ]))
        .unwrap();
    assert_eq!(m.email, "ada@example.com");
    assert_eq!(m.warning, None);
    // Exact text: fixed key order, no whitespace — what the hash covers.
    assert_eq!(
        m.json,
        concat!(
            r#"{"type":"profile","attributes":{"email":"ada@example.com","phone_number":"+48601234567","#,
            r#""external_id":"C-17","first_name":"Ada","last_name":"Lovelace","#,
            r#""organization":"Analytical Engines Ltd","title":"Programmer","locale":"en-GB","#,
            r#""image":"https://example.com/ada.png","location":{"address1":"12 St James's Square","#,
            r#""address2":"Flat 2","city":"London","country":"United Kingdom","region":"England","#,
            r#""zip":"02134","timezone":"Europe/London","latitude":51.5074,"longitude":-0.1278,"#,
            r#""ip":"127.0.0.1"},"properties":{"orders":12,"plan":"gold"}}}"#
        )
    );
    assert_eq!(
        attrs(&m.json),
        json!({
            "email": "ada@example.com",
            "phone_number": "+48601234567",
            "external_id": "C-17",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "organization": "Analytical Engines Ltd",
            "title": "Programmer",
            "locale": "en-GB",
            "image": "https://example.com/ada.png",
            "location": {
                "address1": "12 St James's Square",
                "address2": "Flat 2",
                "city": "London",
                "country": "United Kingdom",
                "region": "England",
                "zip": "02134",
                "timezone": "Europe/London",
                "latitude": 51.5074,
                "longitude": -0.1278,
                "ip": "127.0.0.1"
            },
            "properties": {"plan": "gold", "orders": 12}
        })
    );
}

#[test]
fn empty_values_are_omitted_never_sent_as_empty_or_null() {
    let mapper = Mapper::new(&full_mapping(), &cols(FULL_COLUMNS), None).unwrap();
    let mut values = vec![String::new(); FULL_COLUMNS.len()];
    values[0] = "ada@example.com".into();
    values[1] = "   ".into(); // whitespace only is empty
    values[10] = "\t".into();
    let m = mapper.map(&values).unwrap();
    assert_eq!(
        m.json,
        r#"{"type":"profile","attributes":{"email":"ada@example.com"}}"#
    );
    // A short row: missing values are empty too.
    let m = mapper
        .map(&row(&["ada@example.com", "", "", "Ada"]))
        .unwrap();
    assert_eq!(
        attrs(&m.json),
        json!({"email": "ada@example.com", "first_name": "Ada"})
    );
    // One location value → a location object with only that member.
    let mut values = vec![String::new(); FULL_COLUMNS.len()];
    values[0] = "ada@example.com".into();
    values[11] = "London".into();
    values[20] = "0".into();
    let a = attrs(&mapper.map(&values).unwrap().json);
    assert_eq!(
        a,
        json!({"email": "ada@example.com", "location": {"city": "London"}, "properties": {"orders": 0}})
    );
    assert_no_empty(&a, "attributes");
}

#[test]
fn email_is_required_and_validated() {
    let mapper = Mapper::new(&email_only(), &cols(&["email"]), None).unwrap();
    let r = mapper.map(&row(&["  "])).unwrap_err();
    assert_eq!(r.identifier, "");
    assert_eq!(r.reason, "email is empty");
    let r = mapper.map(&row(&["ada@localhost"])).unwrap_err();
    assert_eq!(r.identifier, "ada@localhost");
    assert!(r.reason.contains("\"ada@localhost\""), "{}", r.reason);
    assert!(r.reason.contains("no dot"), "{}", r.reason);
    // The engine's old check (`email_address` + dotted domain) let a display name through.
    assert!(email_address::EmailAddress::is_valid(
        "Ada <ada@example.com>"
    ));
    let r = mapper.map(&row(&["Ada <ada@example.com>"])).unwrap_err();
    assert!(r.reason.contains("space"), "{}", r.reason);

    let err = Mapper::new(&Mapping::default(), &cols(&["email"]), None).unwrap_err();
    assert_eq!(err, MappingError::NoEmailColumn);
}

#[test]
fn email_validation_accepts_real_and_internationalised_addresses() {
    for ok in [
        "ada@example.com",
        "a.b+tag@sub.example.co.uk",
        "o'brien@example.ie",
        "x_y-z@my-domain.io",
        "zoë@exämple.de",
        "用户@例子.公司",
        "иван@пример.рф",
        "pelé@xn--exmple-cua.com",
        "jose\u{301}@example.com", // NFD: e + combining acute
        "1234@example.com",
        "ada@123.example.com",
    ] {
        assert!(is_valid_email(ok), "{ok}: {:?}", validate_email(ok));
        assert!(email_address::EmailAddress::is_valid(ok), "{ok}");
    }
    for bad in [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@localhost",
        "a b@example.com",
        "ada@@x.com",
        "ada@example..com",
        "ada.@example.com",
        ".ada@example.com",
        "a..b@example.com",
        "ada@-example.com",
        "ada@example-.com",
        "ada@example.c",
        "ada@1.2.3.4",
        "ada@[1.2.3.4]",
        "\"ada lovelace\"@example.com",
        "Ada <ada@example.com>",
        "ada@example.com.",
        "ada\u{a0}@example.com",
        "ada\u{200b}@example.com",
        "ada@exa_mple.com",
        "ada@ex!ample.com",
        "ada,b@example.com",
    ] {
        assert!(!is_valid_email(bad), "{bad} accepted");
    }
    let long_local = format!("{}@example.com", "a".repeat(65));
    assert!(!is_valid_email(&long_local));
}

#[test]
fn emails_differing_only_in_case_are_one_profile() {
    let mapper = Mapper::new(&email_only(), &cols(&["email"]), None).unwrap();
    let a = mapper.map(&row(&["Ada.Lovelace@Example.COM"])).unwrap();
    let b = mapper.map(&row(&["ada.lovelace@example.com"])).unwrap();
    assert_eq!(a.email, "ada.lovelace@example.com");
    assert_eq!(a, b);
    let a = mapper.map(&row(&["ZOË@EXÄMPLE.DE"])).unwrap();
    let b = mapper.map(&row(&["zoë@exämple.de"])).unwrap();
    assert_eq!(a.email, "zoë@exämple.de");
    assert_eq!(a.hash, b.hash);
}

fn phone_mapper(country: Option<&str>, invalid: InvalidPhone) -> Mapper {
    let m = Mapping {
        email: "email".into(),
        phone_number: Some("phone".into()),
        default_country: country.map(str::to_string),
        invalid_phone: invalid,
        ..Mapping::default()
    };
    Mapper::new(&m, &cols(&["email", "phone"]), None).unwrap()
}

fn phone_of(mapper: &Mapper, phone: &str) -> Result<Option<String>, String> {
    mapper
        .map(&row(&["ada@example.com", phone]))
        .map(|m| attrs(&m.json)["phone_number"].as_str().map(str::to_string))
        .map_err(|r| r.reason)
}

#[test]
fn national_phone_numbers_use_the_default_country() {
    let pl = phone_mapper(Some("PL"), InvalidPhone::Reject);
    for written in [
        "601 234 567",
        "601-234-567",
        "(60) 123 45 67",
        "601234567",
        "0048 601 234 567",
        "+48 601 234 567",
    ] {
        assert_eq!(
            phone_of(&pl, written),
            Ok(Some("+48601234567".into())),
            "{written}"
        );
    }
    let us = phone_mapper(Some("us"), InvalidPhone::Reject); // any case
    assert_eq!(
        phone_of(&us, "(650) 253-0000"),
        Ok(Some("+16502530000".into()))
    );
    assert_eq!(
        phone_of(&us, "650.253.0000"),
        Ok(Some("+16502530000".into()))
    );
    // Italian numbers keep their leading zero after the country code.
    let it = phone_mapper(Some("IT"), InvalidPhone::Reject);
    assert_eq!(
        phone_of(&it, "06 1234 5678"),
        Ok(Some("+390612345678".into()))
    );
    let de = phone_mapper(Some("DE"), InvalidPhone::Reject);
    assert_eq!(phone_of(&de, "030 123456"), Ok(Some("+4930123456".into())));
}

#[test]
fn e164_phone_numbers_pass_through_whatever_the_default_country() {
    for country in [None, Some("PL"), Some("US")] {
        let mapper = phone_mapper(country, InvalidPhone::Reject);
        assert_eq!(
            phone_of(&mapper, "+48601234567"),
            Ok(Some("+48601234567".into()))
        );
        assert_eq!(
            phone_of(&mapper, "+1 650 253 0000"),
            Ok(Some("+16502530000".into()))
        );
        assert_eq!(
            phone_of(&mapper, "+44 20 7946 0958"),
            Ok(Some("+442079460958".into()))
        );
    }
    assert_eq!(
        normalize_phone("+48 601 234 567", None),
        Ok("+48601234567".to_string())
    );
}

#[test]
fn a_leading_00_is_a_country_code_without_a_default_country() {
    let none = phone_mapper(None, InvalidPhone::Reject);
    assert_eq!(
        phone_of(&none, "0048 601 234 567"),
        Ok(Some("+48601234567".into()))
    );
    assert_eq!(
        phone_of(&none, "0044 20 7946 0958"),
        Ok(Some("+442079460958".into()))
    );
    // With a default country, that country's international prefix is used (US: 011).
    let us = phone_mapper(Some("US"), InvalidPhone::Reject);
    assert_eq!(
        phone_of(&us, "011 48 601 234 567"),
        Ok(Some("+48601234567".into()))
    );
}

#[test]
fn a_phone_that_cannot_be_normalised_rejects_the_row_naming_the_value() {
    let pl = phone_mapper(Some("PL"), InvalidPhone::Reject);
    for garbage in [
        "12",
        "n/a",
        "call me",
        "+48 12",
        "601 234 567 ext 12",
        "++--()",
    ] {
        let reason = phone_of(&pl, garbage).unwrap_err();
        assert!(
            reason.starts_with(&format!("phone number \"{garbage}\" ")),
            "{reason}"
        );
        assert!(reason.ends_with("(default country PL)"), "{reason}");
    }
    let none = phone_mapper(None, InvalidPhone::Reject);
    let reason = phone_of(&none, "601 234 567").unwrap_err();
    assert!(reason.contains("no default country"), "{reason}");
    // An empty phone is just omitted.
    assert_eq!(phone_of(&pl, "  "), Ok(None));
    // A very long value is shortened in the reason.
    let reason = phone_of(&pl, &"1".repeat(500)).unwrap_err();
    assert!(reason.len() < 200, "{reason}");
}

#[test]
fn invalid_phone_omit_keeps_the_row_without_the_phone() {
    let mapper = phone_mapper(Some("PL"), InvalidPhone::Omit);
    let m = mapper.map(&row(&["ada@example.com", "12"])).unwrap();
    assert_eq!(attrs(&m.json), json!({"email": "ada@example.com"}));
    let w = m.warning.unwrap();
    assert!(w.contains("\"12\"") && w.contains("without a phone"), "{w}");
    let ok = mapper.map(&row(&["ada@example.com", "601234567"])).unwrap();
    assert_eq!(ok.warning, None);
}

#[test]
fn an_unknown_default_country_is_a_mapping_error() {
    for bad in ["Poland", "XX", "P", "pl-PL"] {
        let m = Mapping {
            email: "email".into(),
            default_country: Some(bad.into()),
            ..Mapping::default()
        };
        let err = Mapper::new(&m, &cols(&["email"]), None).unwrap_err();
        assert_eq!(err, MappingError::UnknownCountry(bad.into()));
        assert!(err.to_string().contains(bad));
    }
}

fn props_mapper(types: Option<&[ColumnTypeHint]>) -> Mapper {
    let m = Mapping {
        email: "email".into(),
        properties: BTreeMap::from([("p".to_string(), "p".to_string())]),
        ..Mapping::default()
    };
    Mapper::new(&m, &cols(&["email", "p"]), types).unwrap()
}

fn prop(mapper: &Mapper, v: &str) -> Value {
    let m = mapper.map(&row(&["ada@example.com", v])).unwrap();
    attrs(&m.json)["properties"]["p"].clone()
}

#[test]
fn without_hints_plain_numbers_become_numbers_and_everything_else_strings() {
    let mapper = props_mapper(None);
    assert_eq!(prop(&mapper, "42"), json!(42));
    assert_eq!(prop(&mapper, "-3.25"), json!(-3.25));
    assert_eq!(prop(&mapper, "0"), json!(0));
    assert_eq!(prop(&mapper, "0.5"), json!(0.5));
    assert_eq!(
        prop(&mapper, "999999999999999"),
        json!(999_999_999_999_999_i64)
    );
    for text in [
        "007",              // leading zero: a code, not a number
        "1e5",              // exponent
        "+5",               // sign
        "1,000",            // thousands separator
        ".5",               // no integer part
        "5.",               // no fraction digits
        "1234567890123456", // 16 digits: not exact in a double
        "true",             // booleans need a Boolean column
        "yes",
        "2024-01-05", // ISO dates stay strings
        "NaN",
        "gold",
    ] {
        assert_eq!(prop(&mapper, text), json!(text), "{text}");
    }
}

#[test]
fn column_types_are_inferred_from_sampled_values() {
    let columns = cols(&[
        "int", "dec", "bool", "mixed", "date", "empty", "zero_one", "zip",
    ]);
    let rows = vec![
        row(&["1", "1.5", "true", "1", "2024-01-05", "", "0", "02134"]),
        row(&[
            "-20",
            "2",
            "No",
            "yes",
            "2024-02-29T10:00:00Z",
            " ",
            "1",
            "10001",
        ]),
        row(&["", "", "", "", "", "", "", ""]),
        row(&[
            "300",
            "-0.25",
            "YES",
            "x",
            "2023-12-31 23:59",
            "",
            "1",
            "99501",
        ]),
    ];
    assert_eq!(
        infer_types(&columns, &rows),
        vec![
            ColumnTypeHint::Integer,
            ColumnTypeHint::Decimal,
            ColumnTypeHint::Boolean,
            ColumnTypeHint::Text,
            ColumnTypeHint::Date,
            ColumnTypeHint::Text,
            ColumnTypeHint::Integer,
            ColumnTypeHint::Text,
        ]
    );
    // Not a real date → text.
    assert_eq!(
        infer_types(&cols(&["d"]), &[row(&["2024-02-30"])]),
        vec![ColumnTypeHint::Text]
    );
}

#[test]
fn property_hints_decide_how_values_are_sent() {
    let hints = |h| [ColumnTypeHint::Text, h];
    let boolean = props_mapper(Some(&hints(ColumnTypeHint::Boolean)));
    assert_eq!(prop(&boolean, "TRUE"), json!(true));
    assert_eq!(prop(&boolean, "yes"), json!(true));
    assert_eq!(prop(&boolean, "False"), json!(false));
    assert_eq!(prop(&boolean, "no"), json!(false));
    assert_eq!(prop(&boolean, "maybe"), json!("maybe")); // unseen by the sample: a string

    // A column the sample found mixed stays text throughout: no number/string mix.
    let text = props_mapper(Some(&hints(ColumnTypeHint::Text)));
    assert_eq!(prop(&text, "42"), json!("42"));
    assert_eq!(prop(&text, "true"), json!("true"));

    let integer = props_mapper(Some(&hints(ColumnTypeHint::Integer)));
    assert_eq!(prop(&integer, "42"), json!(42));
    assert_eq!(prop(&integer, "4.5"), json!(4.5));
    assert_eq!(prop(&integer, "n/a"), json!("n/a"));
    assert_eq!(prop(&integer, "true"), json!("true"));

    let date = props_mapper(Some(&hints(ColumnTypeHint::Date)));
    assert_eq!(prop(&date, "2024-01-05"), json!("2024-01-05"));

    let err = Mapper::new(
        &email_only(),
        &cols(&["email", "p"]),
        Some(&[ColumnTypeHint::Text]),
    )
    .unwrap_err();
    assert_eq!(
        err,
        MappingError::TypeCount {
            types: 1,
            columns: 2
        }
    );
}

#[test]
fn from_sample_infers_booleans_only_when_every_value_is_boolean_like() {
    let m = Mapping {
        email: "email".into(),
        properties: BTreeMap::from([
            ("vip".to_string(), "vip".to_string()),
            ("flag".to_string(), "flag".to_string()),
        ]),
        ..Mapping::default()
    };
    let columns = cols(&["email", "vip", "flag"]);
    let rows = vec![
        row(&["a@example.com", "yes", "true"]),
        row(&["b@example.com", "no", "unknown"]),
    ];
    let mapper = Mapper::from_sample(&m, &columns, &rows).unwrap();
    let a = attrs(&mapper.map(&rows[0]).unwrap().json);
    assert_eq!(a["properties"], json!({"vip": true, "flag": "true"}));
}

#[test]
fn latitude_and_longitude_are_numbers_in_range() {
    let m = Mapping {
        email: "email".into(),
        latitude: Some("lat".into()),
        longitude: Some("lon".into()),
        ..Mapping::default()
    };
    let mapper = Mapper::new(&m, &cols(&["email", "lat", "lon"]), None).unwrap();
    let ok = mapper
        .map(&row(&["ada@example.com", "-33.8688", "151.2093"]))
        .unwrap();
    assert_eq!(
        attrs(&ok.json)["location"],
        json!({"latitude": -33.8688, "longitude": 151.2093})
    );
    let ok = mapper
        .map(&row(&["ada@example.com", "+40", "180"]))
        .unwrap();
    assert_eq!(
        attrs(&ok.json)["location"],
        json!({"latitude": 40, "longitude": 180})
    );
    for (lat, lon, what) in [
        ("91", "0", "latitude \"91\""),
        ("0", "-180.5", "longitude \"-180.5\""),
        ("north", "0", "latitude \"north\""),
        ("NaN", "0", "latitude \"NaN\""),
        ("0", "inf", "longitude \"inf\""),
    ] {
        let r = mapper
            .map(&row(&["ada@example.com", lat, lon]))
            .unwrap_err();
        assert!(r.reason.starts_with(what), "{}", r.reason);
    }
}

#[test]
fn a_profile_over_100_kb_is_rejected_with_its_row() {
    let m = Mapping {
        email: "email".into(),
        properties: BTreeMap::from([("notes".to_string(), "notes".to_string())]),
        ..Mapping::default()
    };
    let mapper = Mapper::new(&m, &cols(&["email", "notes"]), None).unwrap();
    let base = mapper
        .map(&row(&["ada@example.com", "x"]))
        .unwrap()
        .json
        .len()
        - 1;
    let fits = "x".repeat(MAX_PROFILE_BYTES - base);
    let ok = mapper.map(&row(&["ada@example.com", &fits])).unwrap();
    assert_eq!(ok.json.len(), MAX_PROFILE_BYTES);
    let over = "x".repeat(MAX_PROFILE_BYTES - base + 1);
    let r = mapper.map(&row(&["Ada@example.com", &over])).unwrap_err();
    assert_eq!(r.identifier, "Ada@example.com");
    assert!(r.reason.contains("at most 100 KB"), "{}", r.reason);
    // Escaping counts: 40,000 quotes are 80,000 bytes sent, plus 30,000 more: over.
    let quotes = "\"".repeat(40_000) + &"y".repeat(30_000);
    assert!(mapper.map(&row(&["ada@example.com", &quotes])).is_err());
}

#[test]
fn unknown_columns_are_named_with_the_available_ones() {
    let columns = cols(&["Email", "Name"]);
    let err = Mapper::new(&email_only(), &columns, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column \"email\" (mapped to email) is not in the source; available columns: \"Email\", \"Name\""
    );
    let m = Mapping {
        email: "Email".into(),
        city: Some("Town".into()),
        ..Mapping::default()
    };
    let err = Mapper::new(&m, &columns, None).unwrap_err();
    assert!(
        matches!(&err, MappingError::UnknownColumn { field, column, .. }
        if field == "location.city" && column == "Town")
    );
    let m = Mapping {
        email: "Email".into(),
        properties: BTreeMap::from([("plan".to_string(), "Plan".to_string())]),
        ..Mapping::default()
    };
    let err = Mapper::new(&m, &columns, None).unwrap_err();
    assert!(err
        .to_string()
        .contains("\"Plan\" (mapped to properties.plan)"));
    // "" for an optional attribute means "not mapped".
    let m = Mapping {
        email: "Email".into(),
        phone_number: Some(String::new()),
        ..Mapping::default()
    };
    assert!(Mapper::new(&m, &columns, None).is_ok());
    let m = Mapping {
        email: "Email".into(),
        properties: BTreeMap::from([(" ".to_string(), "Name".to_string())]),
        ..Mapping::default()
    };
    assert!(matches!(
        Mapper::new(&m, &columns, None),
        Err(MappingError::EmptyPropertyName { .. })
    ));
}

#[test]
fn the_hash_is_stable_and_covers_every_attribute() {
    let columns = cols(FULL_COLUMNS);
    let values: Vec<String> = FULL_COLUMNS
        .iter()
        .map(|c| match *c {
            "Email" => "ada@example.com".to_string(),
            "Phone" => "601234567".to_string(),
            "Lat" => "51.5".to_string(),
            "Lon" => "-0.12".to_string(),
            "Orders" => "3".to_string(),
            other => format!("{other} value"),
        })
        .collect();
    let a = Mapper::new(&full_mapping(), &columns, None).unwrap();
    let b = Mapper::new(&full_mapping(), &columns, None).unwrap();
    let h = a.map(&values).unwrap().hash;
    assert_eq!(h, a.map(&values).unwrap().hash);
    assert_eq!(h, b.map(&values).unwrap().hash);
    assert_eq!(h, xxhash_of(&a.map(&values).unwrap().json));

    let mut seen = std::collections::HashSet::from([h]);
    for i in 0..values.len() {
        let mut changed = values.clone();
        changed[i] = match FULL_COLUMNS[i] {
            "Email" => "bob@example.com".to_string(),
            "Phone" => "601234568".to_string(),
            "Lat" => "51.6".to_string(),
            "Lon" => "-0.13".to_string(),
            "Orders" => "4".to_string(),
            _ => format!("{} changed", values[i]),
        };
        let h2 = a.map(&changed).unwrap().hash;
        assert!(
            seen.insert(h2),
            "changing {} kept the hash",
            FULL_COLUMNS[i]
        );
        // Removing the value changes it too.
        if i > 0 {
            changed[i] = String::new();
            assert!(
                seen.insert(a.map(&changed).unwrap().hash),
                "{}",
                FULL_COLUMNS[i]
            );
        }
    }
    // Pinned: XXH3-64 is specified, so this holds on every platform and run (cross-checked with
    // `xxhsum -H3`).
    let pinned = Mapper::new(&email_only(), &cols(&["email"]), None)
        .unwrap()
        .map(&row(&["ada@example.com"]))
        .unwrap();
    assert_eq!(
        pinned.json,
        r#"{"type":"profile","attributes":{"email":"ada@example.com"}}"#
    );
    assert_eq!(pinned.hash, 0x1c80_8fde_bd47_91b5, "{:#x}", pinned.hash);
}

fn xxhash_of(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

#[test]
fn suggestions_come_from_common_headers() {
    let m = suggest(&cols(&[
        "Customer ID",
        "E-mail",
        "Phone number",
        "First Name",
        "last_name",
        "Company",
        "Postal Code",
        "City",
        "State",
        "Country",
        "Notes",
    ]));
    assert_eq!(m.email, "E-mail");
    assert_eq!(m.phone_number.as_deref(), Some("Phone number"));
    assert_eq!(m.first_name.as_deref(), Some("First Name"));
    assert_eq!(m.last_name.as_deref(), Some("last_name"));
    assert_eq!(m.organization.as_deref(), Some("Company"));
    assert_eq!(m.zip.as_deref(), Some("Postal Code"));
    assert_eq!(m.city.as_deref(), Some("City"));
    assert_eq!(m.region.as_deref(), Some("State"));
    assert_eq!(m.country.as_deref(), Some("Country"));
    assert_eq!(m.external_id, None); // never guessed
    assert!(m.properties.is_empty());

    let m = suggest(&cols(&["EMAIL_ADDRESS", "Mobile", "Given name", "Surname"]));
    assert_eq!(m.email, "EMAIL_ADDRESS");
    assert_eq!(m.phone_number.as_deref(), Some("Mobile"));
    assert_eq!(m.first_name.as_deref(), Some("Given name"));
    assert_eq!(m.last_name.as_deref(), Some("Surname"));

    // Fallback: a header that contains "email".
    assert_eq!(
        suggest(&cols(&["id", "Work Email (primary)"])).email,
        "Work Email (primary)"
    );
    // Nothing looks like an email: the user must choose.
    let m = suggest(&cols(&["a", "b"]));
    assert_eq!(m, Mapping::default());
    // A suggestion always resolves against the same columns.
    let columns = cols(&["Email", "Phone", "Firstname", "Lastname", "Zip"]);
    assert!(Mapper::new(&suggest(&columns), &columns, None).is_ok());
}

#[test]
fn preview_shows_the_first_five_profiles_as_sent() {
    let m = Mapping {
        email: "email".into(),
        first_name: Some("name".into()),
        properties: BTreeMap::from([("vip".to_string(), "vip".to_string())]),
        ..Mapping::default()
    };
    let columns = cols(&["email", "name", "vip"]);
    let rows: Vec<Vec<String>> = (0..8)
        .map(|i| {
            let email = if i == 2 {
                "broken".to_string()
            } else {
                format!("U{i}@Example.com")
            };
            row(&[
                &email,
                if i == 1 { "" } else { "Ann" },
                if i % 2 == 0 { "yes" } else { "no" },
            ])
        })
        .collect();
    let p = preview(&m, &columns, &rows).unwrap();
    assert_eq!(p.len(), 5);
    assert_eq!(
        p[0].as_ref().unwrap(),
        &json!({"type": "profile", "attributes": {"email": "u0@example.com", "first_name": "Ann", "properties": {"vip": true}}})
    );
    assert_eq!(
        p[1].as_ref().unwrap()["attributes"],
        json!({"email": "u1@example.com", "properties": {"vip": false}})
    );
    let r = p[2].as_ref().unwrap_err();
    assert_eq!(r.identifier, "broken");
    // The same as a run resolved from the same sample sends.
    let mapper = Mapper::from_sample(&m, &columns, &rows).unwrap();
    let sent: Value = serde_json::from_str(&mapper.map(&rows[3]).unwrap().json).unwrap();
    assert_eq!(p[3].as_ref().unwrap(), &sent);
    assert!(preview(&Mapping::default(), &columns, &rows).is_err());
}

#[test]
fn csv_records_and_str_slices_are_rows_too() {
    let mapper = Mapper::new(&full_mapping(), &cols(FULL_COLUMNS), None).unwrap();
    let record = csv::StringRecord::from(vec!["ada@example.com", "", "", "Ada"]);
    let a = mapper.map(&record).unwrap();
    let b = mapper.map(&["ada@example.com", "", "", "Ada"]).unwrap();
    assert_eq!(a, b);
    assert_eq!(attrs(&a.json)["first_name"], "Ada");
}

#[test]
fn awkward_text_is_escaped_as_json() {
    let m = Mapping {
        email: "email".into(),
        first_name: Some("name".into()),
        properties: BTreeMap::from([("say \"hi\"\n\\".to_string(), "name".to_string())]),
        ..Mapping::default()
    };
    let mapper = Mapper::new(&m, &cols(&["email", "name"]), None).unwrap();
    let name = "Zoë \"Z\" O'Neil\\\t\u{1}\u{7f}\u{2028}😀";
    let mapped = mapper.map(&row(&["zoe@example.com", name])).unwrap();
    let a = attrs(&mapped.json);
    assert_eq!(a["first_name"], name);
    assert_eq!(a["properties"]["say \"hi\"\n\\"], name);
    // Escaped exactly as serde_json escapes.
    assert!(mapped.json.contains(&serde_json::to_string(name).unwrap()));
}

#[test]
fn mapping_serde_is_backward_compatible_and_refuses_typos() {
    // What earlier versions stored.
    let old: Mapping =
        serde_json::from_str(r#"{"email":"E","first_name":"F","properties":{"plan":"P"}}"#)
            .unwrap();
    assert_eq!(old.email, "E");
    assert_eq!(old.invalid_phone, InvalidPhone::Reject);
    assert_eq!(old.default_country, None);
    // Defaults are not written.
    assert_eq!(
        serde_json::to_string(&old).unwrap(),
        r#"{"email":"E","first_name":"F","properties":{"plan":"P"}}"#
    );
    // The config file form.
    let toml_text = r#"
email = "Email"
phone_number = "Phone"
default_country = "PL"
invalid_phone = "omit"
city = "City"
latitude = "Lat"

[properties]
plan = "Plan"
"#;
    let m: Mapping = toml::from_str(toml_text).unwrap();
    assert_eq!(m.invalid_phone, InvalidPhone::Omit);
    assert_eq!(m.city.as_deref(), Some("City"));
    let back: Mapping = toml::from_str(&toml::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
    let json_back: Mapping = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(json_back, m);
    assert!(toml::from_str::<Mapping>("email = \"E\"\nfrist_name = \"F\"\n").is_err());
}

// ---------------------------------------------------------------------------------------------
// Property tests

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ \t]{0,3}",
        "[a-zA-Z0-9 .,'\"\\\\-]{0,20}",
        "-?[0-9]{1,18}(\\.[0-9]{0,4})?",
        "(true|false|yes|no|TRUE|No)",
        "[+0-9 ()-]{0,20}",
        "[a-zA-Z0-9._%+-]{1,10}@[a-zA-Z0-9-]{1,10}\\.[a-z]{2,4}",
        any::<String>(),
        "\\PC{0,30}",
    ]
}

fn any_hint() -> impl Strategy<Value = ColumnTypeHint> {
    prop_oneof![
        Just(ColumnTypeHint::Text),
        Just(ColumnTypeHint::Integer),
        Just(ColumnTypeHint::Decimal),
        Just(ColumnTypeHint::Boolean),
        Just(ColumnTypeHint::Date),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mapping_never_panics_and_never_sends_empty_or_null(
        email in prop_oneof![
            "[a-zA-Z0-9._%+-]{1,10}@[a-zA-Z0-9-]{1,10}\\.[a-z]{2,4}",
            " ?[A-Za-zé]{1,5}@[a-zé]{1,5}\\.(com|PL|рф) ?",
            any_text(),
        ],
        rest in proptest::collection::vec(any_text(), 0..23),
        hints in proptest::collection::vec(any_hint(), FULL_COLUMNS.len()),
        use_hints in any::<bool>(),
        omit in any::<bool>(),
    ) {
        let mut m = full_mapping();
        m.properties.insert("extra".into(), "Street".into());
        m.invalid_phone = if omit { InvalidPhone::Omit } else { InvalidPhone::Reject };
        let mapper = Mapper::new(&m, &cols(FULL_COLUMNS), use_hints.then_some(&hints[..])).unwrap();
        let values: Vec<String> = std::iter::once(email).chain(rest).collect();
        match mapper.map(&values) {
            Ok(mapped) => {
                prop_assert!(mapped.json.len() <= MAX_PROFILE_BYTES);
                let v: Value = serde_json::from_str(&mapped.json).unwrap();
                prop_assert_eq!(&v["type"], "profile");
                assert_no_empty(&v, "");
                prop_assert_eq!(v["attributes"]["email"].as_str(), Some(mapped.email.as_str()));
                prop_assert!(is_valid_email(&mapped.email));
                prop_assert!(email_address::EmailAddress::is_valid(&mapped.email));
                if let Some(p) = v["attributes"]["phone_number"].as_str() {
                    prop_assert!(p.starts_with('+') && p[1..].bytes().all(|b| b.is_ascii_digit()));
                }
                prop_assert_eq!(mapped.hash, xxhash_of(&mapped.json));
            }
            Err(r) => prop_assert!(!r.reason.is_empty()),
        }
    }

    #[test]
    fn phone_normalisation_never_panics(
        p in prop_oneof![
            "[+0-9 ()./-]{0,30}",
            "\\PC{0,30}",
            "\\+[1-9][0-9]{7,13}",
            "0{0,2}[1-9][0-9]{6,11}",
        ],
        country in prop_oneof!["(PL|US|DE|GB|IT|FR|BR|IN)", "[A-Z]{2}"],
    ) {
        let id = country.parse().ok();
        if let Ok(e164) = normalize_phone(&p, id) {
            // The same text as the crate's own E.164 formatter (a leading 00 without a default
            // country is the international prefix).
            let international = match (id, p.strip_prefix("00")) {
                (None, Some(rest)) => format!("+{rest}"),
                _ => p.clone(),
            };
            let n = phonenumber::parse(id, &international).unwrap();
            prop_assert_eq!(&e164, &n.format().mode(phonenumber::Mode::E164).to_string());
            prop_assert!(e164.starts_with('+'));
            prop_assert!((8..=16).contains(&e164.len()), "{}", e164);
            // Normalising is idempotent under the same mapping. (Not always with no default
            // country: the phonenumber crate's validity check for some shared country codes,
            // e.g. +7 811…, depends on the region it is given.)
            prop_assert_eq!(normalize_phone(&e164, id), Ok(e164.clone()));
        }
    }

    #[test]
    fn accepted_emails_are_accepted_by_the_sandbox_check_too(
        s in "\\PC{0,40}|[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{0,12}@[a-zA-Z0-9.\\[\\]-]{0,12}\\.?[a-z0-9]{0,3}"
    ) {
        if is_valid_email(&s) {
            prop_assert!(email_address::EmailAddress::is_valid(&s), "{}", s);
            prop_assert!(s.contains('@'));
        }
    }
}
