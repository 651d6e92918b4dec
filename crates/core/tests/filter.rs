//! Segment filters: the text form (parser, printer, errors), the typed matching rules, compile
//! errors, and property tests (print → parse round trip; the parser never panics).

use proptest::prelude::*;
use segport_core::filter::{
    count_and_sample, try_count_and_sample, Cmp, Filter, FilterError, GroupOp, Value, MAX_DEPTH,
};
use segport_core::source::{ColumnInfo, ColumnType};

fn t(s: &str) -> Value {
    Value::Text(s.into())
}
fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| s.to_string()).collect())
}
fn rule(col: &str, cmp: Cmp, value: Value) -> Filter {
    Filter::rule(col, cmp, value)
}
fn parse(s: &str) -> Filter {
    match Filter::parse(s) {
        Ok(f) => f,
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}
fn parse_err(s: &str) -> (String, usize, usize, usize, String) {
    match Filter::parse(s) {
        Ok(f) => panic!("{s:?} should not parse, got {f:?}"),
        Err(FilterError::Syntax {
            message,
            offset,
            line,
            column,
            snippet,
        }) => (message, offset, line, column, snippet),
        Err(e) => panic!("{s:?}: expected a syntax error, got {e:?}"),
    }
}
fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}
/// Does `filter` match a one-column row holding `cell`?
fn m(filter: &str, cell: &str) -> bool {
    let f = parse(filter);
    let c = f.compile(&cols(&["x"])).expect("compiles");
    c.matches(&[cell.to_string()])
}

// ---- parser -----------------------------------------------------------------------------------

#[test]
fn parses_every_operator() {
    let cases = [
        ("x = \"a\"", rule("x", Cmp::Eq, t("a"))),
        ("x == \"a\"", rule("x", Cmp::Eq, t("a"))),
        ("x != \"a\"", rule("x", Cmp::Ne, t("a"))),
        ("x <> \"a\"", rule("x", Cmp::Ne, t("a"))),
        ("x < 3", rule("x", Cmp::Lt, t("3"))),
        ("x <= 3", rule("x", Cmp::Le, t("3"))),
        ("x > -2.5", rule("x", Cmp::Gt, t("-2.5"))),
        ("x >= 2024-01-01", rule("x", Cmp::Ge, t("2024-01-01"))),
        ("x contains \"an\"", rule("x", Cmp::Contains, t("an"))),
        (
            "x not contains \"an\"",
            rule("x", Cmp::NotContains, t("an")),
        ),
        ("x starts with \"fr\"", rule("x", Cmp::StartsWith, t("fr"))),
        (
            "x not starts with \"fr\"",
            rule("x", Cmp::NotStartsWith, t("fr")),
        ),
        (
            "x in [\"a\", 2, 2024-03-01]",
            rule("x", Cmp::In, list(&["a", "2", "2024-03-01"])),
        ),
        ("x not in []", rule("x", Cmp::NotIn, list(&[]))),
        ("x in [\"a\",]", rule("x", Cmp::In, list(&["a"]))),
        ("x is empty", rule("x", Cmp::IsEmpty, Value::None)),
        ("x is not empty", rule("x", Cmp::IsNotEmpty, Value::None)),
        ("x=\"a\"", rule("x", Cmp::Eq, t("a"))),
        ("X IS NOT EMPTY", rule("X", Cmp::IsNotEmpty, Value::None)),
        (
            "x NOT STARTS WITH \"a\"",
            rule("x", Cmp::NotStartsWith, t("a")),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse(text), want, "{text}");
    }
}

#[test]
fn parses_the_example_from_the_issue() {
    let f = parse(
        r#"country = "PL" and (orders >= 3 or vip = "yes") and email is not empty and city in ["Warsaw", "Berlin"] and name contains "ann" and signup > 2024-01-01 and not (plan starts with "free")"#,
    );
    let want = Filter::and(vec![
        rule("country", Cmp::Eq, t("PL")),
        Filter::or(vec![
            rule("orders", Cmp::Ge, t("3")),
            rule("vip", Cmp::Eq, t("yes")),
        ]),
        rule("email", Cmp::IsNotEmpty, Value::None),
        rule("city", Cmp::In, list(&["Warsaw", "Berlin"])),
        rule("name", Cmp::Contains, t("ann")),
        rule("signup", Cmp::Gt, t("2024-01-01")),
        Filter::not(rule("plan", Cmp::StartsWith, t("free"))),
    ]);
    assert_eq!(f, want);
}

#[test]
fn and_binds_tighter_than_or() {
    let (a, b, c) = (
        rule("a", Cmp::IsEmpty, Value::None),
        rule("b", Cmp::IsEmpty, Value::None),
        rule("c", Cmp::IsEmpty, Value::None),
    );
    assert_eq!(
        parse("a is empty or b is empty and c is empty"),
        Filter::or(vec![a.clone(), Filter::and(vec![b.clone(), c.clone()])])
    );
    assert_eq!(
        parse("a is empty and b is empty or c is empty"),
        Filter::or(vec![Filter::and(vec![a.clone(), b.clone()]), c.clone()])
    );
    assert_eq!(
        parse("a is empty and b is empty and c is empty"),
        Filter::and(vec![a.clone(), b.clone(), c.clone()])
    );
}

#[test]
fn parentheses_group_and_keep_structure() {
    let (a, b, c) = (
        rule("a", Cmp::IsEmpty, Value::None),
        rule("b", Cmp::IsEmpty, Value::None),
        rule("c", Cmp::IsEmpty, Value::None),
    );
    assert_eq!(
        parse("(a is empty or b is empty) and c is empty"),
        Filter::and(vec![Filter::or(vec![a.clone(), b.clone()]), c.clone()])
    );
    // Redundant parentheses don't add groups; nested same-op groups are kept as written.
    assert_eq!(parse("((a is empty))"), a.clone());
    assert_eq!(
        parse("a is empty and (b is empty and c is empty)"),
        Filter::and(vec![a.clone(), Filter::and(vec![b.clone(), c.clone()])])
    );
    // all(…)/any(…) write groups of any size, including empty and one-rule groups.
    assert_eq!(parse("all()"), Filter::and(vec![]));
    assert_eq!(parse("any()"), Filter::or(vec![]));
    assert_eq!(parse("ANY(a is empty)"), Filter::or(vec![a.clone()]));
    assert_eq!(
        parse("all(a is empty, b is empty or c is empty,)"),
        Filter::and(vec![a.clone(), Filter::or(vec![b.clone(), c.clone()])])
    );
    // A column may still be called `all`.
    assert_eq!(parse("all = 1"), rule("all", Cmp::Eq, t("1")));
}

#[test]
fn not_binds_to_the_next_rule_or_group() {
    let (a, b) = (
        rule("a", Cmp::IsEmpty, Value::None),
        rule("b", Cmp::IsEmpty, Value::None),
    );
    assert_eq!(
        parse("not a is empty and b is empty"),
        Filter::and(vec![Filter::not(a.clone()), b.clone()])
    );
    assert_eq!(
        parse("not (a is empty and b is empty)"),
        Filter::not(Filter::and(vec![a.clone(), b.clone()]))
    );
    assert_eq!(
        parse("not not a is empty"),
        Filter::not(Filter::not(a.clone()))
    );
}

#[test]
fn quoted_column_names_and_escapes() {
    assert_eq!(
        parse("`first name` = \"Ann\""),
        rule("first name", Cmp::Eq, t("Ann"))
    );
    assert_eq!(
        parse("\"first name\" = \"Ann\""),
        rule("first name", Cmp::Eq, t("Ann"))
    );
    assert_eq!(
        parse("`a\\`b` is empty"),
        rule("a`b", Cmp::IsEmpty, Value::None)
    );
    assert_eq!(
        parse("`or` is empty"),
        rule("or", Cmp::IsEmpty, Value::None)
    );
    assert_eq!(parse("imię = \"Zoë\""), rule("imię", Cmp::Eq, t("Zoë")));
    assert_eq!(
        parse("address.city is empty"),
        rule("address.city", Cmp::IsEmpty, Value::None)
    );
    assert_eq!(
        parse(r#"x = "say \"hi\"\\ \n\t\r \u{1F600} `""#),
        rule("x", Cmp::Eq, t("say \"hi\"\\ \n\t\r \u{1F600} `"))
    );
    // Text in double quotes stays text even if it is a keyword.
    assert_eq!(parse("x = \"and\""), rule("x", Cmp::Eq, t("and")));
}

#[test]
fn errors_point_at_the_position() {
    let (msg, offset, line, col, snippet) = parse_err("country = \"PL\" and orders >=");
    assert_eq!(
        msg,
        "expected a value after `>=`, found the end of the filter"
    );
    assert_eq!((offset, line, col), (28, 1, 29));
    assert_eq!(
        snippet,
        format!("  country = \"PL\" and orders >=\n{}^", " ".repeat(30))
    );
    let e = Filter::parse("country = \"PL\" and orders >=").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("expected a value after `>=`, found the end of the filter at 1:29\n"),
        "{e}"
    );

    let (msg, offset, line, col, _) = parse_err("a = 1 and\n  (b = 2 or c = )");
    assert!(
        msg.starts_with("expected a value after `=`, found `)`"),
        "{msg}"
    );
    assert_eq!((offset, line, col), (26, 2, 17));

    let (msg, _, _, col, _) = parse_err("vip = yes");
    assert!(msg.contains("put text in double quotes: \"yes\""), "{msg}");
    assert_eq!(col, 7);

    let (msg, _, _, col, _) = parse_err("(a = 1 or b = 2");
    assert_eq!(
        msg,
        "expected `)` to close the `(` at 1:1, found the end of the filter"
    );
    assert_eq!(col, 16);

    let cases: &[(&str, &str, usize)] = &[
        ("", "the filter is empty", 1),
        ("   ", "the filter is empty", 4),
        ("a = 1)", "unmatched `)`", 6),
        (
            "a = 1 b = 2",
            "expected `and`, `or` or the end of the filter, found `b`",
            7,
        ),
        ("a", "expected a comparison after the column `a`", 2),
        ("a ~ 1", "unexpected character `~`", 3),
        ("a ! 1", "unexpected `!`; did you mean `!=`?", 3),
        ("a = 'x'", "text goes in double quotes", 5),
        ("a = \"x", "unterminated text", 5),
        ("`a = 1", "unterminated column name", 1),
        ("a = \"\\q\"", "unknown escape `\\q`", 6),
        ("a = \"\\u{110000}\"", "invalid escape", 6),
        ("a = 12abc", "`12abc` is not a number or a date", 5),
        (
            "a = 2024-02-30",
            "`2024-02-30` is not a number or a date",
            5,
        ),
        ("a = 007", "`007` is not a number or a date", 5),
        (
            "a = [1]",
            "a list of values goes with `in` or `not in`, not with `=`",
            5,
        ),
        (
            "a in \"x\"",
            "expected a list such as [\"a\", \"b\"] after `in`",
            6,
        ),
        (
            "a in [1 2]",
            "expected `,` or `]` in the list, found `2`",
            9,
        ),
        ("a is full", "expected `empty` after `is`, found `full`", 6),
        ("a starts \"x\"", "expected `with` after `starts`", 10),
        (
            "a not = 1",
            "expected `contains`, `starts with` or `in` after `not`",
            7,
        ),
        ("and = 1", "expected a rule, found the keyword `and`", 1),
        (
            "a = 1 and",
            "expected a rule (a column name, `not` or `(`), found the end of the filter",
            10,
        ),
        ("all(a = 1 b = 2)", "expected `,` or `)` in `all(…)`", 11),
    ];
    for (text, want, col) in cases {
        let (msg, _, _, c, _) = parse_err(text);
        assert!(
            msg.starts_with(want),
            "{text:?}: {msg:?} should start with {want:?}"
        );
        assert_eq!(c, *col, "{text:?}: column of {msg:?}");
    }
}

#[test]
fn error_positions_count_characters_and_lines() {
    // Offsets are bytes, columns are characters.
    let (_, offset, line, col, snippet) = parse_err("imię = \"Zoë\" and\nnazwisko ~");
    assert_eq!((offset, line, col), (28, 2, 10));
    assert_eq!(snippet, "  nazwisko ~\n           ^");
}

#[test]
fn nesting_is_limited_without_crashing() {
    let deep = format!("{}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
    let (msg, ..) = parse_err(&deep);
    assert!(msg.contains("nested more than"), "{msg}");
    let nots = format!("{}a = 1", "not ".repeat(10_000));
    let (msg, ..) = parse_err(&nots);
    assert!(msg.contains("nested more than"), "{msg}");
    // Exactly MAX_DEPTH levels parse.
    let ok = format!("{}a = 1", "not ".repeat(MAX_DEPTH - 1));
    assert!(Filter::parse(&ok).is_ok());
    // A deep tree built in code is refused by compile.
    let mut f = rule("a", Cmp::IsEmpty, Value::None);
    for _ in 0..MAX_DEPTH + 1 {
        f = Filter::not(f);
    }
    assert_eq!(
        f.compile(&cols(&["a"])).unwrap_err(),
        FilterError::TooDeep { max: MAX_DEPTH }
    );
}

// ---- printer / round trip ---------------------------------------------------------------------

#[test]
fn prints_the_canonical_text() {
    let f = parse(
        r#"COUNTRY == "PL" AND (orders>=3 OR `vip`="yes") and email is not empty and city in ["Warsaw","Berlin",] and name contains "ann" and signup > "2024-01-01" and not (plan starts with "free")"#,
    );
    assert_eq!(
        f.to_text(),
        r#"COUNTRY = "PL" and (orders >= 3 or vip = "yes") and email is not empty and city in ["Warsaw", "Berlin"] and name contains "ann" and signup > 2024-01-01 and not plan starts with "free""#
    );
    assert_eq!(f.to_string(), f.to_text());
    assert_eq!(parse(&f.to_text()), f);
}

#[test]
fn prints_quotes_where_needed() {
    let cases = [
        (
            rule("first name", Cmp::Eq, t("a\"b\\c\nd")),
            r#"`first name` = "a\"b\\c\nd""#,
        ),
        (rule("not", Cmp::IsEmpty, Value::None), "`not` is empty"),
        (rule("", Cmp::IsEmpty, Value::None), "`` is empty"),
        (rule("1st", Cmp::IsEmpty, Value::None), "`1st` is empty"),
        (rule("x", Cmp::Eq, t("01234")), r#"x = "01234""#),
        (rule("x", Cmp::Eq, t("1.50")), "x = 1.50"),
        (rule("x", Cmp::Eq, t("31/01/2024")), "x = 31/01/2024"),
        (rule("x", Cmp::Eq, t("03/01/2024")), r#"x = "03/01/2024""#),
        (rule("x", Cmp::Eq, t("1e3")), r#"x = "1e3""#),
        (rule("x", Cmp::Eq, t("+3")), r#"x = "+3""#),
        (
            rule("x", Cmp::Eq, t("2024-03-01 10:00")),
            r#"x = "2024-03-01 10:00""#,
        ),
        (rule("x", Cmp::Eq, t("bell\u{7}")), r#"x = "bell\u{7}""#),
        (Filter::and(vec![]), "all()"),
        (
            Filter::or(vec![rule("x", Cmp::IsEmpty, Value::None)]),
            "any(x is empty)",
        ),
        (Filter::not(Filter::or(vec![])), "not any()"),
        (
            Filter::or(vec![
                Filter::and(vec![
                    rule("a", Cmp::IsEmpty, Value::None),
                    rule("b", Cmp::IsEmpty, Value::None),
                ]),
                Filter::not(rule("c", Cmp::IsEmpty, Value::None)),
            ]),
            "(a is empty and b is empty) or not c is empty",
        ),
    ];
    for (f, want) in cases {
        assert_eq!(f.to_text(), want);
        assert_eq!(parse(want), f, "{want}");
    }
}

#[test]
fn invalid_rules_are_reported_not_silently_printed_as_valid() {
    let bad = rule("x", Cmp::In, t("a"));
    assert!(matches!(
        bad.validate(),
        Err(FilterError::InvalidRule { .. })
    ));
    assert!(Filter::parse(&bad.to_text()).is_err());
    let bad = rule("x", Cmp::Eq, Value::None);
    assert!(bad.compile(&cols(&["x"])).is_err());
    assert!(Filter::parse(&bad.to_text()).is_err());
    let bad = rule("x", Cmp::IsEmpty, t("a"));
    let e = bad.compile(&cols(&["x"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the rule on `x` is invalid: `is empty` takes no value"
    );
}

#[test]
fn json_shape_for_the_ui() {
    let f = parse(r#"country = "PL" and (tags in ["a"] or not email is empty)"#);
    let json = serde_json::to_value(&f).expect("serializes");
    assert_eq!(
        json,
        serde_json::json!({
            "kind": "group", "op": "and", "rules": [
                {"kind": "rule", "column": "country", "cmp": "eq", "value": "PL"},
                {"kind": "group", "op": "or", "rules": [
                    {"kind": "rule", "column": "tags", "cmp": "in", "value": ["a"]},
                    {"kind": "not", "rule": {"kind": "rule", "column": "email", "cmp": "isEmpty", "value": null}}
                ]}
            ]
        })
    );
    let back: Filter = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, f);
    // `value` may be left out for isEmpty/isNotEmpty.
    let f: Filter = serde_json::from_str(r#"{"kind":"rule","column":"a","cmp":"isNotEmpty"}"#)
        .expect("deserializes");
    assert_eq!(f, rule("a", Cmp::IsNotEmpty, Value::None));
    let f: Filter =
        serde_json::from_str(r#"{"kind":"rule","column":"a","cmp":"notStartsWith","value":"x"}"#)
            .expect("deserializes");
    assert_eq!(f, rule("a", Cmp::NotStartsWith, t("x")));
}

// ---- matching ---------------------------------------------------------------------------------

#[test]
fn numbers_compare_as_numbers() {
    assert!(m("x > 9", "10"));
    assert!(!m("x < 9", "10"));
    assert!(m("x >= 10", "10.0"));
    assert!(m("x = 10", "10.00"));
    assert!(m("x = 10", " 10 "));
    // Cells follow the values' grammar (crate::value): no `+`, no exponent, no leading zero.
    assert!(!m("x = 10", "+10"));
    assert!(!m("x = 10", "1e1"));
    assert!(!m("x = 10", "010"));
    assert!(m("x < 0.5", "0.25"));
    assert!(m("x > -2.5", "-2"));
    assert!(!m("x > -2.5", "-3"));
    assert!(m("x <= 2.5", "2.5"));
    assert!(m("x = \"3\"", "3.0"), "quotes don't change the type");
    assert!(m("x != 3", "4"));
    assert!(!m("x != 3", "3"));
}

#[test]
fn values_that_do_not_parse_do_not_match_typed_comparisons() {
    for cell in ["", "abc", "1,5", "inf", "NaN", "-infinity", "1 000"] {
        for op in ["=", "!=", "<", "<=", ">", ">="] {
            assert!(!m(&format!("x {op} 3"), cell), "x {op} 3 on {cell:?}");
            assert!(
                !m(&format!("x {op} 2024-03-01"), cell),
                "x {op} date on {cell:?}"
            );
        }
        assert!(!m("x not in [3]", cell), "not in on {cell:?}");
        // `not (…)` is plain negation.
        assert!(m("not x = 3", cell));
    }
}

#[test]
fn dates_compare_as_dates() {
    assert!(m("x > 2024-01-01", "2024-01-02"));
    assert!(!m("x > 2024-01-01", "2024-01-01"));
    assert!(m("x = 2024-03-01", "01.03.2024"), "dots: day first");
    assert!(m("x = 2024-03-01", "1.3.2024"));
    assert!(m("x = 2024-01-31", "31/01/2024"), "slashes: day first");
    assert!(m("x = 2024-05-05", "5/5/2024"), "day and month alike");
    assert!(
        !m("x = 2024-03-01", "01/03/2024") && !m("x = 2024-01-03", "01/03/2024"),
        "an ambiguous slash date is no date at all"
    );
    assert!(
        !m("x = 2024-01-31", "01/31/2024"),
        "month first is not read"
    );
    assert!(
        m("x = 2024-03-01", "2024-03-01T23:30:00-05:00"),
        "a day compares the day as written"
    );
    assert!(m("x = 2024-03-01", "2024-03-01 08:00"));
    assert!(m("x < 2024-03-01", "2024-02-29T23:59:59Z"));
    assert!(m("x = 01.03.2024", "2024-03-01"));
    assert!(!m("x = 2024-03-01", "2024-03-02"));
    assert!(!m("x > 2024-01-01", "2023-12-31"));
    assert!(
        !m("x > 2024-01-01", "2024-13-01"),
        "invalid dates don't parse"
    );
    assert!(!m("x > 2024-01-01", "12/31/2024"), "no 31st month");
    // Instants: offsets count; no offset = UTC; a date-only cell is midnight UTC.
    assert!(m("x = 2024-03-01T10:00:00Z", "2024-03-01T12:00:00+02:00"));
    assert!(m("x = 2024-03-01T10:00:00Z", "2024-03-01 10:00:00"));
    assert!(m("x > 2024-03-01T10:00:00Z", "2024-03-01T10:00:00.5Z"));
    assert!(m("x < 2024-03-01T10:00:00+01:00", "2024-03-01T08:30:00Z"));
    assert!(!m("x < 2024-03-01T10:00:00+01:00", "2024-03-01T09:30:00Z"));
    assert!(m("x = 2024-03-01T00:00:00Z", "2024-03-01"));
    assert!(m("x >= 2024-03-01T10:00Z", "2024-03-01T05:00:00-05:00"));
    assert!(!m("x > 2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"));
}

#[test]
fn yes_and_no_compare_as_booleans() {
    for cell in ["yes", "YES", "true", "True", " TRUE "] {
        assert!(m("x = \"yes\"", cell), "{cell:?}");
        assert!(m("x = \"TRUE\"", cell), "{cell:?}");
        assert!(!m("x != \"true\"", cell), "{cell:?}");
        assert!(m("x in [\"true\"]", cell), "{cell:?}");
        assert!(!m("x not in [\"yes\"]", cell), "{cell:?}");
    }
    for cell in ["no", "False", "NO"] {
        assert!(!m("x = \"yes\"", cell), "{cell:?}");
        assert!(m("x != \"yes\"", cell), "{cell:?}");
        assert!(m("x = \"false\"", cell), "{cell:?}");
        assert!(m("x not in [\"yes\"]", cell), "{cell:?}");
    }
    // A typed comparison needs a cell of its type, as for numbers and dates.
    for cell in ["", "maybe", "1", "y"] {
        assert!(!m("x = \"yes\"", cell), "{cell:?}");
        assert!(!m("x != \"yes\"", cell), "{cell:?}");
        assert!(!m("x not in [\"yes\"]", cell), "{cell:?}");
    }
    // Booleans have no order: `<`/`>` with a boolean word compare text, as before.
    assert!(m("x > \"no\"", "yes"));
}

#[test]
fn a_decimal_comma_or_an_ambiguous_date_in_the_text_form_says_how_to_write_it() {
    let (msg, offset, _, col, _) = parse_err("orders > 1,5");
    assert!(msg.starts_with("`1,5` is not a number"), "{msg}");
    assert!(msg.contains("write 1.5"), "{msg}");
    assert_eq!((offset, col), (9, 10));
    let (msg, _, _, _, _) = parse_err("country = \"PL\" and orders >= -1,25");
    assert!(msg.contains("write -1.25"), "{msg}");
    // In a list the comma separates values.
    assert_eq!(
        parse("orders in [1,5]"),
        rule("orders", Cmp::In, list(&["1", "5"]))
    );

    let (msg, _, _, col, _) = parse_err("signup < 01/02/2024");
    assert!(
        msg.starts_with("`01/02/2024` is an ambiguous date"),
        "{msg}"
    );
    assert!(
        msg.contains("1 February 2024 or 2 January 2024")
            && msg.contains("write 2024-02-01 or 2024-01-02"),
        "{msg}"
    );
    assert_eq!(col, 10);
    let (msg, _, _, _, _) = parse_err("signup < 01/31/2024");
    assert!(
        msg.contains("read day first") && msg.contains("2024-01-31"),
        "{msg}"
    );
    // Unambiguous day-first dates are dates.
    assert_eq!(
        parse("signup < 31/01/2024"),
        rule("signup", Cmp::Lt, t("31/01/2024"))
    );
    let (msg, _, _, _, _) = parse_err("orders > 1e3");
    assert!(msg.contains("exponent"), "{msg}");
}

#[test]
fn a_filter_saved_by_an_earlier_version_still_reads() {
    // Earlier versions printed month-first dates and long numbers bare.
    for (text, value) in [
        ("signup = 03/01/2024", "03/01/2024"),
        ("signup < 12/31/2024", "12/31/2024"),
        ("id = 12345678901234567890", "12345678901234567890"),
    ] {
        assert!(Filter::parse(text).is_err(), "{text}");
        let f = Filter::parse_saved(text).expect("reads");
        let Filter::Rule { value: v, .. } = &f else {
            panic!("{f:?}")
        };
        assert_eq!(v, &t(value));
        // Printed again, the value is quoted: the strict parser reads it back.
        assert_eq!(parse(&f.to_text()), f);
    }
    // Real mistakes are still errors.
    assert!(Filter::parse_saved("x = ").is_err());
}

fn typed_columns() -> Vec<ColumnInfo> {
    [
        ("orders", ColumnType::Integer),
        ("total", ColumnType::Number),
        ("signup", ColumnType::Date),
        ("vip", ColumnType::Boolean),
        ("city", ColumnType::Text),
        ("email", ColumnType::Email),
    ]
    .into_iter()
    .map(|(name, inferred)| ColumnInfo {
        name: name.into(),
        inferred,
    })
    .collect()
}

/// The problems of one rule against [`typed_columns`].
fn problems(f: &Filter) -> Vec<String> {
    f.type_problems(&typed_columns())
        .into_iter()
        .map(|p| p.message)
        .collect()
}

#[test]
fn a_rule_whose_value_does_not_fit_its_columns_type_is_refused_with_a_message() {
    let cases: &[(&str, Cmp, &str, &str)] = &[
        (
            "orders",
            Cmp::Gt,
            "abc",
            "`orders` holds numbers, and “abc” is not a number",
        ),
        ("orders", Cmp::Gt, "1,5", "write 1.5"),
        ("total", Cmp::Le, "1e3", "exponent"),
        (
            "signup",
            Cmp::Lt,
            "01/02/2024",
            "“01/02/2024” is ambiguous: it could be 1 February 2024 or 2 January 2024",
        ),
        (
            "signup",
            Cmp::Eq,
            "next week",
            "`signup` holds dates, and “next week” is not a date",
        ),
        (
            "vip",
            Cmp::Eq,
            "1",
            "`vip` holds yes/no values, and “1” is not one: 1 and 0 are numbers",
        ),
        ("vip", Cmp::Gt, "yes", "which have no order"),
        ("VIP", Cmp::Ne, "maybe", "`VIP` holds yes/no values"),
    ];
    for (column, cmp, value, want) in cases {
        let f = rule(column, *cmp, t(value));
        let got = problems(&f);
        assert_eq!(got.len(), 1, "{f}: {got:?}");
        assert!(
            got[0].contains(want),
            "{f}: {:?} should contain {want:?}",
            got[0]
        );
        // The same check refuses the filter, pointing at the column and the value.
        match f.compile_typed(&typed_columns()) {
            Err(FilterError::ValueType {
                column: c,
                value: v,
                message,
                ..
            }) => {
                assert_eq!((c.as_str(), v.as_str()), (*column, *value));
                assert_eq!(message, got[0]);
            }
            other => panic!("{f}: expected a ValueType error, got {other:?}"),
        }
    }

    // Each element of a list is checked; the problem names the element.
    let f = rule("orders", Cmp::In, list(&["1", "two", "3"]));
    let p = f.type_problems(&typed_columns());
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].value.as_str(), p[0].cmp), ("two", Cmp::In));

    // Nested, negated, several: all are listed, in order.
    let f = Filter::and(vec![
        Filter::not(rule("orders", Cmp::Ge, t("x"))),
        Filter::or(vec![rule("signup", Cmp::Gt, t("2024-13-01"))]),
    ]);
    assert_eq!(problems(&f).len(), 2);

    // What fits is fine: values of the column's type, text columns with anything, textual
    // comparisons on typed columns, emptiness tests.
    for f in [
        rule("orders", Cmp::Gt, t(" 3 ")),
        rule("orders", Cmp::Lt, t("2.5")),
        rule("total", Cmp::In, list(&["1", "-0.5"])),
        rule("signup", Cmp::Ge, t("2024-01-31")),
        rule("signup", Cmp::Lt, t("31/01/2024")),
        rule("signup", Cmp::Lt, t("31.01.2024 10:00")),
        rule("vip", Cmp::Eq, t("TRUE")),
        rule("vip", Cmp::NotIn, list(&["no"])),
        rule("city", Cmp::Eq, t("01/02/2024")),
        rule("city", Cmp::Gt, t("abc")),
        rule("email", Cmp::Eq, t("1,5")),
        rule("orders", Cmp::Contains, t("abc")),
        rule("orders", Cmp::StartsWith, t("1,")),
        rule("signup", Cmp::IsEmpty, Value::None),
        rule("unknown", Cmp::Gt, t("abc")),
    ] {
        assert_eq!(problems(&f), Vec::<String>::new(), "{f}");
    }
    // An unknown column is the compile error it always was.
    assert!(matches!(
        rule("unknown", Cmp::Gt, t("abc")).compile_typed(&typed_columns()),
        Err(FilterError::UnknownColumn { .. })
    ));
}

#[test]
fn text_is_case_insensitive() {
    assert!(m("x = \"pl\"", "PL"));
    assert!(m("x = \"PL\"", " pl "), "cells are trimmed");
    assert!(m("x = \"ŁÓDŹ\"", "łódź"));
    assert!(!m("x = \"pl\"", "pln"));
    assert!(m("x != \"pl\"", "DE"));
    assert!(m("x != \"pl\"", ""), "an empty cell differs from a text");
    assert!(!m("x != \"pl\"", "Pl"));
    assert!(m("x contains \"ANN\"", "Joanna"));
    assert!(m("x contains \"ÖR\"", "Jörg Öhrström"));
    assert!(!m("x contains \"anna\"", "Joann"));
    assert!(m("x contains \"\"", "anything"));
    assert!(m("x not contains \"ann\"", "Bob"));
    assert!(!m("x not contains \"ann\"", "ANNA"));
    assert!(m("x starts with \"FREE\"", "free-trial"));
    assert!(m("x starts with \"żó\"", "Żółw"));
    assert!(!m("x starts with \"trial\"", "free-trial"));
    assert!(m("x not starts with \"free\"", "pro"));
    assert!(m("x > \"m\"", "Nadia"));
    assert!(m("x < \"M\"", "ann"));
    assert!(m("x = \"01234\"", "01234"));
    assert!(
        !m("x = \"01234\"", "1234"),
        "a leading zero keeps a value text"
    );
}

#[test]
fn in_lists_mix_types() {
    assert!(m("x in [\"Warsaw\", \"Berlin\"]", "BERLIN"));
    assert!(!m("x in [\"Warsaw\", \"Berlin\"]", "Paris"));
    assert!(m("x in [1, 2, 3]", "2.0"));
    assert!(m("x in [\"a\", 2024-03-01]", "01.03.2024"));
    assert!(m("x not in [\"Warsaw\", \"Berlin\"]", "Paris"));
    assert!(!m("x not in [\"Warsaw\", \"Berlin\"]", "warsaw"));
    assert!(m("x not in [1, 2]", "3"));
    assert!(!m("x in []", "a"));
    assert!(m("x not in []", "a"));
    // A long list (hashed) behaves like a short one.
    let long: Vec<String> = (0..50).map(|i| format!("\"City{i}\"")).collect();
    let f = format!("x in [{}, \"Ünïcode\"]", long.join(", "));
    assert!(m(&f, "city42"));
    assert!(m(&f, " CITY7 "));
    assert!(m(&f, "ünïcode"));
    assert!(!m(&f, "city50"));
    assert!(!m(&f, &"c".repeat(300)));
}

#[test]
fn emptiness() {
    assert!(m("x is empty", ""));
    assert!(m("x is empty", "   "));
    assert!(!m("x is empty", "a"));
    assert!(m("x is not empty", "a"));
    // A short row: missing cells are empty.
    let c = parse("y is empty and x = 1")
        .compile(&cols(&["x", "y"]))
        .expect("compiles");
    assert!(c.matches(&["1".to_string()]));
    assert!(!c.matches(&[]));
}

#[test]
fn groups_and_not_evaluate_as_logic() {
    let c = parse("a = 1 and (b = 2 or not c is empty)")
        .compile(&cols(&["a", "b", "c"]))
        .expect("compiles");
    let row = |a: &str, b: &str, c: &str| vec![a.to_string(), b.to_string(), c.to_string()];
    assert!(c.matches(&row("1", "2", "")));
    assert!(c.matches(&row("1", "3", "x")));
    assert!(!c.matches(&row("1", "3", "")));
    assert!(!c.matches(&row("2", "2", "x")));
    assert!(Filter::everything()
        .compile(&[])
        .expect("compiles")
        .matches(&[]));
    assert!(!Filter::or(vec![])
        .compile(&[])
        .expect("compiles")
        .matches(&[]));
}

#[test]
fn unknown_column_names_it_and_lists_the_columns() {
    let e = parse("country = \"PL\" and ordrs > 3")
        .compile(&cols(&["email", "country", "orders"]))
        .unwrap_err();
    assert_eq!(
        e,
        FilterError::UnknownColumn {
            column: "ordrs".into(),
            available: cols(&["email", "country", "orders"]),
        }
    );
    assert_eq!(
        e.to_string(),
        "unknown column `ordrs`; the source has: `email`, `country`, `orders`"
    );
}

#[test]
fn columns_resolve_exactly_then_case_insensitively() {
    let f = parse("Country = \"PL\"");
    let c = f
        .compile(&cols(&["email", "country"]))
        .expect("case-insensitive match");
    assert!(c.matches(&cols(&["a@b.c", "pl"])));
    // Exact beats case-insensitive; two case-insensitive candidates are ambiguous.
    let c = f
        .compile(&cols(&["country", "Country"]))
        .expect("exact match");
    assert!(c.matches(&cols(&["DE", "PL"])));
    assert!(matches!(
        parse("COUNTRY = 1").compile(&cols(&["country", "Country"])),
        Err(FilterError::UnknownColumn { .. })
    ));
    assert_eq!(
        parse("a = 1 and (b = 2 or a = 3)").columns(),
        vec!["a", "b"]
    );
}

#[test]
fn count_and_sample_counts_all_and_keeps_the_first_matches() {
    let c = parse("n >= 5").compile(&cols(&["n"])).expect("compiles");
    let rows = (0..10).map(|i| vec![i.to_string()]);
    let (count, sample) = count_and_sample(rows, &c, 2);
    assert_eq!(count, 5);
    assert_eq!(sample, vec![vec!["5".to_string()], vec!["6".to_string()]]);

    let rows: Vec<Result<Vec<String>, &str>> =
        vec![Ok(vec!["7".into()]), Err("bad row"), Ok(vec!["8".into()])];
    assert_eq!(try_count_and_sample(rows, &c, 10), Err("bad row"));
    let rows: Vec<Result<Vec<String>, &str>> = vec![Ok(vec!["7".into()]), Ok(vec!["1".into()])];
    assert_eq!(try_count_and_sample(rows, &c, 0), Ok((1, vec![])));
}

#[test]
fn group_op_serializes_lowercase() {
    assert_eq!(
        serde_json::to_string(&GroupOp::Or).expect("serializes"),
        "\"or\""
    );
    let all: Vec<String> = Cmp::ALL
        .iter()
        .map(|c| serde_json::to_string(c).expect("serializes"))
        .collect();
    assert_eq!(
        all.join(","),
        r#""eq","ne","lt","le","gt","ge","contains","notContains","startsWith","notStartsWith","in","notIn","isEmpty","isNotEmpty""#
    );
}

// ---- properties -------------------------------------------------------------------------------

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        ".{0,8}",
        "[a-z_ ]{0,6}",
        "-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,3})?",
        "20[0-9]{2}-0[1-9]-[0-2][0-9]",
        "[0-2][0-9]\\.0[1-9]\\.20[0-9]{2}",
        "0[1-9]/[0-2][0-9]/20[0-9]{2}",
        "2024-03-01T1[0-9]:[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,4})?)?(Z|[+-]0[0-9]:?[0-5][0-9])?",
        Just("and".to_string()),
        Just("not".to_string()),
    ]
}

fn any_column() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_.]{0,8}",
        "[A-Za-zżółć ]{0,8}",
        any_text(),
        prop::sample::select(vec![
            "and", "OR", "Not", "all", "any", "in", "is", "contains"
        ])
        .prop_map(String::from),
    ]
}

fn any_rule() -> impl Strategy<Value = Filter> {
    (
        any_column(),
        prop::sample::select(Cmp::ALL.to_vec()),
        any_text(),
        prop::collection::vec(any_text(), 0..4),
    )
        .prop_map(|(column, cmp, text, items)| {
            let value = match cmp {
                Cmp::IsEmpty | Cmp::IsNotEmpty => Value::None,
                Cmp::In | Cmp::NotIn => Value::List(items),
                _ => Value::Text(text),
            };
            Filter::Rule { column, cmp, value }
        })
}

fn any_filter() -> impl Strategy<Value = Filter> {
    any_rule().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            (prop::bool::ANY, prop::collection::vec(inner.clone(), 0..4)).prop_map(
                |(and, rules)| Filter::Group {
                    op: if and { GroupOp::And } else { GroupOp::Or },
                    rules,
                }
            ),
            inner.prop_map(Filter::not),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_gives_the_same_tree(f in any_filter()) {
        prop_assert!(f.validate().is_ok());
        let text = f.to_text();
        match Filter::parse(&text) {
            Ok(back) => prop_assert_eq!(back, f, "text: {}", text),
            Err(e) => prop_assert!(false, "{text:?} does not parse: {e}"),
        }
    }

    #[test]
    fn json_round_trips(f in any_filter()) {
        let json = serde_json::to_string(&f).expect("serializes");
        let back: Filter = serde_json::from_str(&json).expect("deserializes");
        prop_assert_eq!(back, f);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(s in "\\PC{0,64}") {
        let _ = Filter::parse(&s);
    }

    #[test]
    fn parser_never_panics_on_filter_like_text(
        parts in prop::collection::vec(prop::sample::select(vec![
            "a", "`b c`", "\"x\"", "\"", "`", "\\", "=", "!=", "<>", "<", "<=", ">", ">=", "!", "(", ")", "[", "]", ",",
            "and", "or", "not", "in", "is", "empty", "contains", "starts", "with", "all(", "any(", "3", "-2.5", "007",
            "2024-03-01", "01.03.2024", "03/01/2024", "2024-03-01T10:00:00Z", "\n", " ", "ż", "\\u{", "-", "'",
        ]), 0..24)
    ) {
        let text = parts.concat();
        if let Err(FilterError::Syntax { offset, line, column, .. }) = Filter::parse(&text) {
            prop_assert!(offset <= text.len());
            prop_assert!(line >= 1 && column >= 1);
        }
        let spaced = parts.join(" ");
        let _ = Filter::parse(&spaced);
    }

    #[test]
    fn matching_never_panics(f in any_filter(), row in prop::collection::vec(any_text(), 0..6)) {
        let columns: Vec<String> = f.columns().into_iter().map(String::from).collect();
        let c = f.compile(&columns).expect("its own columns resolve");
        let _ = c.matches(&row);
        let negated = Filter::not(f.clone()).compile(&columns).expect("compiles");
        prop_assert_eq!(negated.matches(&row), !c.matches(&row));
    }
}
