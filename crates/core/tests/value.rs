//! One value grammar (segport_core::value): the same string is the same number, date, boolean
//! or text to the Sources screen's type detection, the segment filter (as a cell and as a rule
//! value) and the mapper's typed custom properties.

use segport_core::filter::{Cmp, Filter, Value};
use segport_core::mapping::{infer_types, ColumnTypeHint, Mapper};
use segport_core::model::Mapping;
use segport_core::source::{infer_type, ColumnType};
use serde_json::json;
use std::collections::BTreeMap;

/// What a string is meant to be.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// A number without a fraction, and its value written plainly.
    Int(&'static str),
    /// A number with a fraction, and its value written plainly.
    Dec(&'static str),
    /// A date, and its day as `YYYY-MM-DD`.
    Date(&'static str),
    Bool(bool),
    Text,
}

const TABLE: &[(&str, Want)] = &[
    // Dates: ISO, day first with dots, day first with slashes only when unambiguous.
    ("2024-01-31", Want::Date("2024-01-31")),
    ("2024-01-31T10:00:00Z", Want::Date("2024-01-31")),
    ("2024-01-31 10:00", Want::Date("2024-01-31")),
    ("31.01.2024", Want::Date("2024-01-31")),
    ("1.3.2024", Want::Date("2024-03-01")),
    ("31/01/2024", Want::Date("2024-01-31")),
    ("05/05/2024", Want::Date("2024-05-05")),
    ("01/02/2024", Want::Text),
    ("01/31/2024", Want::Text),
    ("2024-02-30", Want::Text),
    ("2024-1-31", Want::Text),
    // Numbers: a dot before the decimals, an optional minus, nothing else.
    ("1.5", Want::Dec("1.5")),
    ("-0.25", Want::Dec("-0.25")),
    (" 7 ", Want::Int("7")),
    ("0", Want::Int("0")),
    ("-12", Want::Int("-12")),
    ("999999999999999", Want::Int("999999999999999")),
    ("1", Want::Int("1")),
    ("1,5", Want::Text),
    ("1e3", Want::Text),
    ("+7", Want::Text),
    ("007", Want::Text),
    (".5", Want::Text),
    ("1 000", Want::Text),
    ("1234567890123456", Want::Text),
    ("inf", Want::Text),
    ("NaN", Want::Text),
    // Booleans: four words, any case.
    ("TRUE", Want::Bool(true)),
    ("yes", Want::Bool(true)),
    ("Yes", Want::Bool(true)),
    ("false", Want::Bool(false)),
    ("NO", Want::Bool(false)),
    ("y", Want::Text),
    ("gold", Want::Text),
];

fn matches(rule: Filter, cell: &str) -> bool {
    rule.compile(&["x".to_string()])
        .expect("compiles")
        .matches(&[cell.to_string()])
}
fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// Probes that match a cell only when the filter reads it as a number, a date, a boolean.
fn cell_is_number(cell: &str) -> bool {
    matches(Filter::rule("x", Cmp::Ge, text("-999999999999999")), cell)
}
fn cell_is_date(cell: &str) -> bool {
    matches(Filter::rule("x", Cmp::Ge, text("0001-01-01")), cell)
}
fn cell_is_bool(cell: &str) -> bool {
    let both = Value::List(vec!["true".into(), "false".into()]);
    matches(Filter::rule("x", Cmp::In, both), cell)
}

/// The property `p` as the mapper sends it, types inferred from a sample of that one value.
fn sent(value: &str) -> serde_json::Value {
    let columns = vec!["email".to_string(), "p".to_string()];
    let m = Mapping {
        email: "email".into(),
        properties: BTreeMap::from([("p".to_string(), "p".to_string())]),
        ..Mapping::default()
    };
    let row = vec!["ada@example.com".to_string(), value.to_string()];
    let mapper = Mapper::from_sample(&m, &columns, std::slice::from_ref(&row)).expect("resolves");
    let json: serde_json::Value =
        serde_json::from_str(&mapper.map(&row).expect("maps").json).expect("json");
    json["attributes"]["properties"]["p"].clone()
}

#[test]
fn the_same_strings_are_the_same_kind_to_the_sources_screen_the_filter_and_the_mapper() {
    for &(s, want) in TABLE {
        let (column, hint) = match want {
            Want::Int(_) => (ColumnType::Integer, ColumnTypeHint::Integer),
            Want::Dec(_) => (ColumnType::Number, ColumnTypeHint::Decimal),
            Want::Date(_) => (ColumnType::Date, ColumnTypeHint::Date),
            Want::Bool(_) => (ColumnType::Boolean, ColumnTypeHint::Boolean),
            Want::Text => (ColumnType::Text, ColumnTypeHint::Text),
        };
        // The Sources screen (text may also look like a phone number: `2024-02-30`).
        let detected = infer_type([s]);
        if column == ColumnType::Text {
            assert!(
                matches!(detected, ColumnType::Text | ColumnType::Phone),
                "infer_type({s:?}) = {detected:?}"
            );
        } else {
            assert_eq!(detected, column, "infer_type({s:?})");
        }
        // The mapper's property typing, and what it sends.
        let hints = infer_types(&["p".to_string()], &[vec![s.to_string()]]);
        assert_eq!(hints, [hint], "infer_types({s:?})");
        let expected_json = match want {
            Want::Int(n) | Want::Dec(n) => serde_json::from_str(n).expect("a JSON number"),
            Want::Bool(b) => json!(b),
            Want::Date(_) | Want::Text => json!(s.trim()),
        };
        assert_eq!(sent(s), expected_json, "the mapper sends {s:?}");

        // The filter, reading the string in a cell…
        let is = (cell_is_number(s), cell_is_date(s), cell_is_bool(s));
        let want_is = (
            matches!(want, Want::Int(_) | Want::Dec(_)),
            matches!(want, Want::Date(_)),
            matches!(want, Want::Bool(_)),
        );
        assert_eq!(
            is, want_is,
            "the filter reads the cell {s:?} as (number, date, boolean)"
        );
        match want {
            Want::Int(n) | Want::Dec(n) => {
                assert!(
                    matches(Filter::rule("x", Cmp::Eq, text(n)), s),
                    "{s:?} = {n}"
                );
            }
            Want::Date(day) => {
                assert!(
                    matches(Filter::rule("x", Cmp::Eq, text(day)), s),
                    "{s:?} = {day}"
                );
            }
            Want::Bool(b) => {
                let word = if b { "true" } else { "false" };
                assert!(
                    matches(Filter::rule("x", Cmp::Eq, text(word)), s),
                    "{s:?} = {word}"
                );
            }
            Want::Text => {}
        }

        // …and as a rule's value: it compares as the same kind.
        let eq = Filter::rule("x", Cmp::Eq, text(s));
        match want {
            Want::Int(n) | Want::Dec(n) => {
                // Equal as numbers only (as texts they differ).
                let cell = if n.contains('.') {
                    format!("{n}0")
                } else {
                    format!("{n}.0")
                };
                if cell.bytes().filter(u8::is_ascii_digit).count() <= 15 {
                    assert!(matches(eq, &cell), "{s:?} as a value = cell {cell:?}");
                }
            }
            Want::Date(day) => {
                // The same day (and time, if any) written day first with dots.
                let (y, md) = day.split_at(4);
                let mut cell = format!("{}.{}.{y}", &md[4..6], &md[1..3]);
                if let Some(i) = s.trim().find(['T', ' ']) {
                    cell = format!("{cell} {}", &s.trim()[i + 1..]);
                }
                assert!(matches(eq, &cell), "{s:?} as a value = cell {cell:?}");
            }
            Want::Bool(b) => {
                for cell in if b { ["true", "yes"] } else { ["false", "no"] } {
                    assert!(
                        matches(eq.clone(), cell),
                        "{s:?} as a value = cell {cell:?}"
                    );
                }
            }
            Want::Text => {
                // A text comparison: an untyped cell differs from it (a typed one would never
                // match `!=`), and the string equals itself in any case.
                let ne = Filter::rule("x", Cmp::Ne, text(s));
                assert!(matches(ne, "zzz"), "{s:?} compares as text");
                assert!(matches(eq, &s.to_uppercase()), "{s:?} = itself");
            }
        }
    }
}
