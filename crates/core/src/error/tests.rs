//! The codes are a contract: unique, stable, and their JSON round-trips.

use super::*;
use crate::filter::FilterError;
use crate::mapping::MappingError;
use crate::source::SourceError;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

fn s(v: &str) -> String {
    v.to_string()
}

/// Forces a sample for every variant: adding a variant breaks this match until it is listed
/// (and [`error_samples`] gets one).
fn error_index(c: &ErrorCode) -> usize {
    use ErrorCode::*;
    match c {
        StoreOpen { .. } => 0,
        StoreMigration { .. } => 1,
        Store { .. } => 2,
        NotFound { .. } => 3,
        Invalid { .. } => 4,
        Duplicate { .. } => 5,
        Forbidden { .. } => 6,
        ConsentRequired { .. } => 7,
        NoKey { .. } => 8,
        Keychain { .. } => 9,
        SourceMissing { .. } => 10,
        SourceUnreadable { .. } => 11,
        SourceEmpty { .. } => 12,
        SourceNoRows { .. } => 13,
        SourceNotUtf8 { .. } => 14,
        SourceMissingColumn { .. } => 15,
        SourceEmptyHeader { .. } => 16,
        SourceDuplicateColumn { .. } => 17,
        SourceMalformed { .. } => 18,
        SourceNoJsonObjects { .. } => 19,
        SourceNotSqlite { .. } => 20,
        SourceTableRequired { .. } => 21,
        SourceMissingTable { .. } => 22,
        SourceSqlite { .. } => 23,
        KlaviyoKeyRejected { .. } => 24,
        KlaviyoMissingScope { .. } => 25,
        KlaviyoInvalid { .. } => 26,
        KlaviyoRateLimited { .. } => 27,
        KlaviyoServer { .. } => 28,
        KlaviyoUnreachable { .. } => 29,
        KlaviyoTimeout => 30,
        KlaviyoDecode { .. } => 31,
        KlaviyoInvalidBaseUrl { .. } => 32,
        KlaviyoCancelled => 33,
        FilterInvalid(_) => 34,
        MappingInvalid(_) => 35,
        ScheduleInvalid { .. } => 36,
        Config { .. } => 37,
        Cancelled => 38,
        AlreadyRunning { .. } => 39,
        NotDue { .. } => 40,
        Internal { .. } => 41,
        Io { .. } => 42,
        DemoSandboxFailed { .. } => 43,
        DemoFailed { .. } => 44,
        AppInternal { .. } => 45,
        AppOpenFailed { .. } => 46,
    }
}
const ERROR_VARIANTS: usize = 47;

/// Every CoreError variant (and every sub-error's), with the code it has always had.
fn core_errors() -> Vec<(CoreError, &'static str)> {
    let p = || PathBuf::from("/data/in.csv");
    let api = segport_klaviyo::ApiError {
        status: 400,
        code: s("invalid"),
        title: s("Invalid input."),
        detail: s("The email is not valid."),
        pointer: Some(s("/data/attributes/profiles/data/3/attributes/email")),
        parameter: None,
    };
    use segport_klaviyo::Error as K;
    vec![
        (
            CoreError::StoreOpen {
                path: p(),
                reason: s("locked"),
            },
            "store.open_failed",
        ),
        (CoreError::Migration(s("bad")), "store.migration_failed"),
        (
            CoreError::Store(rusqlite::Error::InvalidQuery),
            "store.error",
        ),
        (
            CoreError::NotFound {
                what: "Export",
                name: s("x"),
            },
            "not_found",
        ),
        (CoreError::invalid("name", "is empty"), "invalid_input"),
        (
            CoreError::Duplicate {
                what: "segment",
                name: s("x"),
            },
            "duplicate_name",
        ),
        (
            CoreError::Forbidden(s("Only admins may do that.")),
            "forbidden",
        ),
        (
            CoreError::ConsentRequired(s("shop")),
            "connection.consent_required",
        ),
        (CoreError::NoKey(s("shop")), "connection.no_key"),
        (CoreError::Keychain(s("locked")), "keychain.unavailable"),
        (SourceError::Missing(p()).into(), "source.missing"),
        (
            SourceError::Unreadable {
                path: p(),
                reason: s("denied"),
            }
            .into(),
            "source.unreadable",
        ),
        (SourceError::Empty(p()).into(), "source.empty"),
        (SourceError::NoRows(p()).into(), "source.no_rows"),
        (
            SourceError::NotUtf8 {
                path: p(),
                offset: 7,
            }
            .into(),
            "source.not_utf8",
        ),
        (
            SourceError::MissingColumn {
                path: p(),
                column: s("mail"),
                available: s("a, b"),
            }
            .into(),
            "source.missing_column",
        ),
        (
            SourceError::EmptyHeader {
                path: p(),
                index: 2,
            }
            .into(),
            "source.empty_header",
        ),
        (
            SourceError::DuplicateColumn {
                path: p(),
                column: s("a"),
                first: 1,
                second: 3,
            }
            .into(),
            "source.duplicate_column",
        ),
        (
            SourceError::Malformed {
                path: p(),
                line: 4,
                reason: s("bad quote"),
            }
            .into(),
            "source.malformed",
        ),
        (
            SourceError::NoJsonObjects {
                path: p(),
                lines: 9,
            }
            .into(),
            "source.no_json_objects",
        ),
        (SourceError::NotSqlite(p()).into(), "source.not_sqlite"),
        (
            SourceError::TableRequired {
                path: p(),
                available: s("t1, t2"),
            }
            .into(),
            "source.table_required",
        ),
        (
            SourceError::MissingTable {
                path: p(),
                table: s("t"),
                available: s("u"),
            }
            .into(),
            "source.missing_table",
        ),
        (
            SourceError::EmptyTable {
                path: p(),
                table: s("t"),
            }
            .into(),
            "source.no_rows",
        ),
        (
            SourceError::Sqlite {
                path: p(),
                reason: s("busy"),
            }
            .into(),
            "source.sqlite_error",
        ),
        (
            K::KeyRejected {
                detail: s("Incorrect key."),
            }
            .into(),
            "klaviyo.key_rejected",
        ),
        (
            K::MissingScope {
                detail: s("Needs lists:write."),
            }
            .into(),
            "klaviyo.missing_scope",
        ),
        (
            K::Invalid {
                status: 400,
                errors: vec![api.clone()],
            }
            .into(),
            "klaviyo.invalid",
        ),
        (
            K::Invalid {
                status: 409,
                errors: vec![api.clone(), api.clone()],
            }
            .into(),
            "klaviyo.invalid",
        ),
        (
            K::Invalid {
                status: 400,
                errors: vec![],
            }
            .into(),
            "klaviyo.invalid",
        ),
        (
            K::RateLimited {
                retry_after: Some(Duration::from_millis(300)),
            }
            .into(),
            "klaviyo.rate_limited",
        ),
        (
            K::RateLimited { retry_after: None }.into(),
            "klaviyo.rate_limited",
        ),
        (
            K::Server {
                status: 503,
                body_excerpt: s("busy"),
            }
            .into(),
            "klaviyo.server_error",
        ),
        (
            K::Unreachable {
                url: s("https://a.klaviyo.com"),
                reason: s("refused"),
            }
            .into(),
            "klaviyo.unreachable",
        ),
        (K::Timeout.into(), "klaviyo.timeout"),
        (K::Decode(s("missing field")).into(), "klaviyo.decode"),
        (
            K::InvalidBaseUrl(s("ftp://x")).into(),
            "klaviyo.invalid_base_url",
        ),
        (K::Cancelled.into(), "klaviyo.cancelled"),
        (
            FilterError::Syntax {
                message: s("expected a value"),
                offset: 3,
                line: 1,
                column: 4,
                snippet: s("a =\n   ^"),
            }
            .into(),
            "segment.filter_invalid",
        ),
        (
            FilterError::UnknownColumn {
                column: s("x"),
                available: vec![s("a"), s("b")],
            }
            .into(),
            "segment.filter_invalid",
        ),
        (
            FilterError::UnknownColumn {
                column: s("x"),
                available: vec![],
            }
            .into(),
            "segment.filter_invalid",
        ),
        (
            FilterError::InvalidRule {
                column: s("a"),
                message: s("no value"),
            }
            .into(),
            "segment.filter_invalid",
        ),
        (
            FilterError::ValueType {
                column: s("age"),
                value: s("x"),
                expected: crate::source::ColumnType::Integer,
                message: s("age holds numbers"),
            }
            .into(),
            "segment.filter_invalid",
        ),
        (
            FilterError::TooDeep { max: 64 }.into(),
            "segment.filter_invalid",
        ),
        (MappingError::NoEmailColumn.into(), "export.mapping_invalid"),
        (
            MappingError::UnknownColumn {
                field: s("phone_number"),
                column: s("tel"),
                available: s("\"a\""),
            }
            .into(),
            "export.mapping_invalid",
        ),
        (
            MappingError::UnknownCountry(s("XX")).into(),
            "export.mapping_invalid",
        ),
        (
            MappingError::EmptyPropertyName { column: s("c") }.into(),
            "export.mapping_invalid",
        ),
        (
            MappingError::TypeCount {
                types: 1,
                columns: 2,
            }
            .into(),
            "export.mapping_invalid",
        ),
        (
            crate::schedule::Schedule::parse("weekly")
                .unwrap_err()
                .into(),
            "export.schedule_invalid",
        ),
        (CoreError::Config(s("bad config")), "config.invalid"),
        (CoreError::Cancelled, "run.cancelled"),
        (
            CoreError::AlreadyRunning(Box::new(RunHolder {
                export: s("Weekly"),
                who: s("ada"),
                trigger: s("manual"),
                pid: 42,
                host: s("desk"),
                since: s("2026-01-01T10:00:00Z"),
            })),
            "run.already_running",
        ),
        (CoreError::NotDue(s("Weekly")), "run.not_due"),
        (CoreError::Internal(s("worker panicked")), "internal"),
        (
            CoreError::Io {
                path: p(),
                source: std::io::Error::other("disk full"),
            },
            "io.error",
        ),
    ]
}

/// One of each [`ErrorCode`] variant.
fn error_samples() -> Vec<ErrorCode> {
    let mut out: Vec<ErrorCode> = core_errors()
        .iter()
        .map(|(e, _)| ErrorCode::from(e))
        .collect();
    out.extend([
        ErrorCode::Invalid {
            field: None,
            message: s("Choose the file."),
        },
        ErrorCode::DemoSandboxFailed {
            reason: s("port in use"),
        },
        ErrorCode::DemoFailed {
            reason: s("task panicked"),
        },
        ErrorCode::AppInternal {
            reason: s("task panicked"),
        },
        ErrorCode::AppOpenFailed {
            path: s("/logs"),
            reason: s("no opener"),
        },
    ]);
    out
}

#[test]
fn every_error_code_is_unique_and_round_trips() {
    let samples = error_samples();
    let covered: HashSet<usize> = samples.iter().map(error_index).collect();
    assert_eq!(covered.len(), ERROR_VARIANTS, "a variant has no sample");
    let mut code_of = std::collections::HashMap::new();
    for c in &samples {
        // One code per variant, one variant per code.
        let prev = code_of.insert(c.code(), error_index(c));
        assert!(
            prev.is_none_or(|i| i == error_index(c)),
            "{} used twice",
            c.code()
        );
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["code"], c.code(), "{json}");
        let back: ErrorCode = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(&back, c, "{json}");
        assert!(!c.message().is_empty());
    }
    assert_eq!(code_of.len(), ERROR_VARIANTS);
}

#[test]
fn core_error_codes_are_unchanged() {
    for (e, code) in core_errors() {
        assert_eq!(e.code(), code, "{e:?}");
        let payload = crate::model::ErrorPayload::from(&e);
        let json = serde_json::to_value(&payload).unwrap();
        assert_eq!(json["code"], code);
        assert_eq!(json["message"], e.to_string());
        let back: crate::model::ErrorPayload = serde_json::from_value(json).unwrap();
        assert_eq!(back, payload);
    }
}

#[test]
fn the_klaviyo_clients_messages_are_the_codes_messages() {
    for (e, _) in core_errors() {
        if let CoreError::Klaviyo(k) = &e {
            assert_eq!(ErrorCode::from(k).message(), k.to_string());
            assert_eq!(e.to_string(), k.to_string());
            assert_eq!(ErrorCode::from(k).code(), k.code());
        }
    }
}

#[test]
fn messages_are_the_ones_the_ui_and_cli_always_showed() {
    let held = CoreError::AlreadyRunning(Box::new(RunHolder {
        export: s("Weekly"),
        who: s("ada"),
        trigger: s("manual"),
        pid: 42,
        host: s("desk"),
        since: s("10:00"),
    }));
    assert_eq!(
        held.to_string(),
        "\"Weekly\" is already running: started by ada (manual, process 42 on desk) at 10:00. Wait for it to finish, or cancel it there."
    );
    assert_eq!(
        CoreError::from(SourceError::EmptyTable {
            path: PathBuf::from("/d.db"),
            table: s("t")
        })
        .to_string(),
        "The table \"t\" of /d.db has no rows. Fill it, or choose another table."
    );
    assert_eq!(
        CoreError::from(FilterError::UnknownColumn {
            column: s("x"),
            available: vec![s("a"), s("b")]
        })
        .to_string(),
        "The segment's filter is not valid: unknown column `x`; the source has: `a`, `b`"
    );
    assert_eq!(
        CoreError::from(MappingError::TypeCount {
            types: 1,
            columns: 2
        })
        .to_string(),
        "The export's field mapping is not valid: 1 column types were given for 2 columns"
    );
    assert_eq!(
        CoreError::from(segport_klaviyo::Error::RateLimited {
            retry_after: Some(Duration::from_millis(300))
        })
        .to_string(),
        "Klaviyo's rate limit was reached (available again in 1 s). Wait a little and try again."
    );
    let held = serde_json::to_value(ErrorCode::from(&CoreError::NotDue(s("W")))).unwrap();
    assert_eq!(
        held,
        serde_json::json!({"code": "run.not_due", "params": {"export": "W"}})
    );
    let unit = serde_json::to_value(ErrorCode::Cancelled).unwrap();
    assert_eq!(unit, serde_json::json!({"code": "run.cancelled"}));
}

#[test]
fn keys_are_redacted_in_params_and_message() {
    let key = "pk_abcdef0123456789abcdef";
    let e = CoreError::from(segport_klaviyo::Error::Invalid {
        status: 400,
        errors: vec![segport_klaviyo::ApiError {
            status: 400,
            code: s("invalid"),
            title: s("Bad"),
            detail: format!("key {key} is not allowed here"),
            pointer: None,
            parameter: None,
        }],
    });
    let payload = crate::model::ErrorPayload::from(&e);
    let json = serde_json::to_string(&payload).unwrap();
    assert!(!json.contains(key), "{json}");
    assert!(json.contains(crate::logging::REDACTED), "{json}");
    let app = crate::model::ErrorPayload::new(ErrorCode::DemoFailed {
        reason: format!("echo {key}"),
    });
    assert!(!serde_json::to_string(&app).unwrap().contains(key));
}

// ---- reject codes

fn reject_index(c: &RejectCode) -> usize {
    use RejectCode::*;
    match c {
        EmailMissing => 0,
        EmailInvalid { .. } => 1,
        PhoneInvalid { .. } => 2,
        PhoneNoCountry { .. } => 3,
        LocationInvalid { .. } => 4,
        ProfileTooLarge { .. } => 5,
        ProfileInternal { .. } => 6,
        CsvUnclosedQuote { .. } => 7,
        CsvTooManyFields { .. } => 8,
        CsvNotUtf8 { .. } => 9,
        JsonlTooLong { .. } => 10,
        JsonlNotUtf8 => 11,
        JsonlNotObject { .. } => 12,
        JsonlInvalid { .. } => 13,
        SqliteNotUtf8 { .. } => 14,
        Duplicate { .. } => 15,
        KlaviyoRefused { .. } => 16,
        KlaviyoFailed { .. } => 17,
        Recorded { .. } => 18,
    }
}
const REJECT_VARIANTS: usize = 19;

/// One of each reject code, with the text it has always had.
fn reject_samples() -> Vec<(RejectCode, &'static str)> {
    use RejectCode::*;
    vec![
        (EmailMissing, "email is empty"),
        (
            EmailInvalid { value: s("ada@localhost"), why: EmailProblem::DomainNoDot },
            "email \"ada@localhost\" is not a valid address: the domain has no dot (e.g. example.com)",
        ),
        (
            PhoneInvalid { value: s("12"), why: PhoneProblem::NotValid, country: Some(s("PL")) },
            "phone number \"12\" is not a valid phone number (default country PL)",
        ),
        (
            PhoneInvalid { value: s("x1"), why: PhoneProblem::Characters, country: None },
            "phone number \"x1\" contains characters that are not part of a phone number",
        ),
        (
            PhoneNoCountry { value: s("601 234 567") },
            "phone number \"601 234 567\" has no country code (+…) and the mapping has no default country",
        ),
        (
            LocationInvalid { axis: Axis::Latitude, value: s("91"), max: 90 },
            "latitude \"91\" is not a number between -90 and 90",
        ),
        (
            LocationInvalid { axis: Axis::Longitude, value: s("inf"), max: 180 },
            "longitude \"inf\" is not a number between -180 and 180",
        ),
        (
            ProfileTooLarge { kb: 101, max_kb: 100 },
            "profile is 101 KB serialized; Klaviyo accepts at most 100 KB per profile",
        ),
        (
            ProfileInternal { reason: s("EOF") },
            "internal error: the profile is not valid JSON (EOF)",
        ),
        (
            CsvUnclosedQuote { line: 3, end: 9 },
            "a double quote (\") opens a value on line 3 that is never closed, so lines 3–9 were read as one value and not exported: fix the quotes on line 3 and save the file again",
        ),
        (
            CsvTooManyFields { have: 4, width: 3, delimiter: s(";") },
            "the line has 4 fields but the header has 3 columns: a value that contains the delimiter (';') must be in double quotes",
        ),
        (
            CsvTooManyFields { have: 4, width: 3, delimiter: s("\t") },
            "the line has 4 fields but the header has 3 columns: a value that contains the delimiter (tab) must be in double quotes",
        ),
        (
            CsvNotUtf8 { column: s("name") },
            "the value of \"name\" is not UTF-8 text: save the file as CSV UTF-8",
        ),
        (
            JsonlTooLong { max_mb: 16 },
            "the line is longer than 16 MB: each line must hold one JSON object",
        ),
        (JsonlNotUtf8, "the line is not UTF-8 text: save the file as UTF-8"),
        (
            JsonlNotObject { found: JsonFound::Boolean },
            "the line is true or false, not a JSON object: each line must hold one object, like {\"email\": \"ada@example.com\"}",
        ),
        (
            JsonlInvalid { message: s("EOF while parsing an object"), column: 12 },
            "the line is not valid JSON: EOF while parsing an object (column 12)",
        ),
        (
            SqliteNotUtf8 { column: s("name") },
            "the value of \"name\" is stored as text that is not UTF-8",
        ),
        (
            Duplicate { what: DuplicateOf::Email, value: Some(s("ada@example.com")), first_line: 2 },
            "duplicate of line 2: the same email (ada@example.com) is on line 2, and only the first row with it is sent",
        ),
        (
            Duplicate { what: DuplicateOf::Phone, value: None, first_line: 5 },
            "duplicate of line 5: the same phone number is on line 5, and only the first row with it is sent",
        ),
        (KlaviyoRefused { detail: s("bad email") }, "Klaviyo refused it: bad email"),
        (
            KlaviyoFailed { detail: s("suppressed") },
            "Klaviyo failed it in processing: suppressed",
        ),
        (Recorded { reason: s("as stored") }, "as stored"),
    ]
}

#[test]
fn every_reject_code_is_unique_round_trips_and_reads_as_before() {
    let samples = reject_samples();
    let covered: HashSet<usize> = samples.iter().map(|(c, _)| reject_index(c)).collect();
    assert_eq!(covered.len(), REJECT_VARIANTS, "a variant has no sample");
    let mut code_of = std::collections::HashMap::new();
    for (c, text) in &samples {
        let prev = code_of.insert(c.code(), reject_index(c));
        assert!(
            prev.is_none_or(|i| i == reject_index(c)),
            "{} used twice",
            c.code()
        );
        assert_eq!(c.to_string(), *text);
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["code"], c.code(), "{json}");
        let back: RejectCode = serde_json::from_value(json).unwrap();
        assert_eq!(&back, c);
    }
    assert_eq!(code_of.len(), REJECT_VARIANTS);
}

#[test]
fn a_reject_row_carries_code_params_and_text() {
    let row = crate::model::RejectRow::new(
        7,
        s("ada"),
        RejectCode::EmailInvalid {
            value: s("ada"),
            why: EmailProblem::NoAt,
        },
    );
    let json = serde_json::to_value(&row).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "line": 7,
            "identifier": "ada",
            "code": "email.invalid",
            "params": {"value": "ada", "why": "no_at"},
            "reason": "email \"ada\" is not a valid address: it has no @",
        })
    );
    let back: crate::model::RejectRow = serde_json::from_value(json).unwrap();
    assert_eq!(back, row);
}
