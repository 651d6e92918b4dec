//! Sources, segments and the mapping preview as the app's screens use them: real files, the real
//! SQLite store.

mod common;

use common::*;
use segport_core::filter::{Cmp, Filter, FilterError, Value};
use segport_core::model::*;
use segport_core::schedule::Schedule;

fn csv_input(name: &str, path: &std::path::Path) -> SourceInput {
    SourceInput {
        id: None,
        name: name.into(),
        kind: SourceKind::Csv,
        path: path.to_string_lossy().into(),
        table: None,
    }
}

const PEOPLE: &str = "Email,First Name,Phone,country,orders\n\
ada@example.com,Ada,+48 601 234 567,PL,3\n\
bob@example.com,Bob,,DE,1\n\
not-an-email,Carl,,PL,7\n\
dora@example.com,Dora,+48 601 234 999,PL,0\n\
eve@example.com,Eve,,FR,2\n\
fay@example.com,Fay,+48 601 234 111,PL,5\n\
gus@example.com,Gus,+48 601 234 222,PL,9\n";

#[test]
fn a_source_shows_its_columns_and_rows_and_a_missing_file_is_shown_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, PEOPLE).unwrap();

    let v = ws.save_source(csv_input("People", &csv)).unwrap();
    assert_eq!(v.state, SourceState::Ok);
    let names: Vec<&str> = v.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Email", "First Name", "Phone", "country", "orders"]);
    assert_eq!(v.columns[4].inferred, "integer");
    assert_eq!(v.sample.len(), 7);
    assert_eq!(v.sample[0][0], "ada@example.com");
    assert_eq!(v.size, Some(PEOPLE.len() as u64));
    assert!(v.modified_at.is_some());

    // The file changes: the next view has the new column.
    std::fs::write(&csv, "Email,tier\nada@example.com,gold\n").unwrap();
    let v = ws.source_view(&v.id).unwrap();
    let names: Vec<&str> = v.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Email", "tier"]);

    // The file goes away: the source is listed as missing, with the path in the message.
    std::fs::remove_file(&csv).unwrap();
    let all = ws.sources().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].state, SourceState::Missing);
    assert!(all[0].message.as_deref().unwrap().contains("people.csv"));
    assert!(all[0].columns.is_empty());

    // A new source must be readable; an existing one can be renamed while its file is missing.
    let err = ws
        .save_source(csv_input("Gone", &dir.path().join("nope.csv")))
        .unwrap_err();
    assert_eq!(err.code(), "source.missing");
    let renamed = ws
        .save_source(SourceInput {
            id: Some(all[0].id.clone()),
            ..csv_input("People (old drive)", &csv)
        })
        .unwrap();
    assert_eq!(renamed.name, "People (old drive)");
    assert_eq!(renamed.state, SourceState::Missing);
}

#[test]
fn a_sqlite_source_needs_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let db = dir.path().join("crm.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE customers (email TEXT, name TEXT);
         INSERT INTO customers VALUES ('ada@example.com', 'Ada');
         CREATE TABLE orders (id INTEGER);",
    )
    .unwrap();
    drop(conn);
    let picked = segport_core::catalog::picked_file(&db).unwrap();
    assert_eq!(picked.kind, SourceKind::Sqlite);
    assert_eq!(picked.tables, ["customers", "orders"]);
    let input = SourceInput {
        kind: SourceKind::Sqlite,
        ..csv_input("CRM", &db)
    };
    let err = ws.save_source(input.clone()).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let v = ws
        .save_source(SourceInput {
            table: Some("customers".into()),
            ..input
        })
        .unwrap();
    assert_eq!(v.state, SourceState::Ok);
    assert_eq!(v.sample, vec![vec!["ada@example.com", "Ada"]]);
}

#[test]
fn segments_keep_their_rule_tree_preview_counts_and_removal_is_refused_while_used() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, PEOPLE).unwrap();
    let source = ws.save_source(csv_input("People", &csv)).unwrap();

    let filter = Filter::and(vec![
        Filter::rule("country", Cmp::Eq, Value::Text("pl".into())),
        Filter::rule("orders", Cmp::Ge, Value::Text("3".into())),
    ]);
    let preview = ws.preview_filter(&source.id, Some(&filter), 10).unwrap();
    // PL with orders ≥ 3: ada (3), not-an-email (7), fay (5), gus (9).
    assert_eq!((preview.total, preview.matching), (7, 4));
    assert_eq!(preview.sample[1][0], "not-an-email");
    // No filter, or an empty group: every row.
    let all = ws
        .preview_filter(&source.id, Some(&Filter::and(vec![])), 2)
        .unwrap();
    assert_eq!((all.matching, all.sample.len()), (7, 2));

    let seg = ws
        .save_segment(SegmentInput {
            id: None,
            name: "Polish regulars".into(),
            source_id: source.id.clone(),
            filter: Some(filter.clone()),
        })
        .unwrap();
    assert_eq!(seg.filter.as_ref(), Some(&filter));
    assert_eq!(seg.source_name, "People");
    assert!(seg.filter_text.as_deref().unwrap().contains("country"));

    // A rule on a column the file does not have is refused with the column's name.
    let err = ws
        .save_segment(SegmentInput {
            id: Some(seg.id.clone()),
            name: "Polish regulars".into(),
            source_id: source.id.clone(),
            filter: Some(Filter::rule("tier", Cmp::Eq, Value::Text("gold".into()))),
        })
        .unwrap_err();
    assert_eq!(err.code(), "segment.filter_invalid");
    assert!(err.to_string().contains("tier"), "{err}");
    // …and the saved segment is unchanged.
    assert_eq!(ws.segment_view(&seg.id).unwrap().filter, Some(filter));

    // The source cannot go while the segment uses it; the segment not while an export sends it.
    let err = ws.delete_source(&source.id).unwrap_err();
    assert!(err.to_string().contains("Polish regulars"), "{err}");
    let conn = ws
        .save_connection(connection_input("C", "http://127.0.0.1:9", Some(KEY)))
        .unwrap();
    let export = ws
        .save_export(ExportInput {
            id: None,
            name: "PL".into(),
            segment_id: seg.id.clone(),
            connection_id: conn.id,
            list_id: "AbC123".into(),
            mapping: Mapping {
                email: "Email".into(),
                ..Mapping::default()
            },
            mode: ExportMode::Mirror,
            schedule: Schedule::Every { hours: 6 },
            removal_guard: None,
        })
        .unwrap();
    assert_eq!(export.segment_name, "Polish regulars");
    assert_eq!(export.mode, ExportMode::Mirror);
    assert!(export.next_run_at.is_some());
    assert!(!export.resumable);
    let err = ws.delete_segment(&seg.id).unwrap_err();
    assert!(err.to_string().contains("\"PL\""), "{err}");
    ws.delete_export(&export.id).unwrap();
    ws.delete_segment(&seg.id).unwrap();
    ws.delete_source(&source.id).unwrap();
    assert!(ws.sources().unwrap().is_empty());
}

#[test]
fn the_mapping_is_suggested_from_headers_and_previewed_exactly_as_sent() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, PEOPLE).unwrap();
    let seg = ws
        .add_file_segment(&csv.to_string_lossy(), SourceKind::Csv, None)
        .unwrap();
    assert_eq!(seg.name, "All rows of people.csv");
    // The same file again reuses the source and its segment.
    let again = ws
        .add_file_segment(&csv.to_string_lossy(), SourceKind::Csv, None)
        .unwrap();
    assert_eq!(again.id, seg.id);

    let suggestion = ws.suggest_mapping(&seg.id).unwrap();
    // Every phone is written with its country code: none to choose, nothing to say.
    assert_eq!(suggestion.mapping.default_country, None);
    assert_eq!(suggestion.phone_hint, None);
    let mut m = suggestion.mapping;
    assert_eq!(m.email, "Email");
    assert_eq!(m.first_name.as_deref(), Some("First Name"));
    assert_eq!(m.phone_number.as_deref(), Some("Phone"));
    m.properties.insert("orders".into(), "orders".into());

    let p = ws.preview_mapping(&seg.id, &m).unwrap();
    assert_eq!(p.profiles.len(), 5);
    let lines: Vec<u64> = p.profiles.iter().map(|p| p.line).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6]);
    let first: serde_json::Value =
        serde_json::from_str(p.profiles[0].profile.as_deref().unwrap()).unwrap();
    assert_eq!(first["email"], "ada@example.com");
    assert_eq!(first["phone_number"], "+48601234567");
    assert_eq!(first["properties"]["orders"], 3);
    assert!(p.profiles[2].profile.is_none());
    assert!(p.profiles[2]
        .reject
        .as_deref()
        .unwrap()
        .contains("not-an-email"));

    // The preview follows the segment's filter: Polish rows only.
    let pl = ws
        .save_segment(SegmentInput {
            id: None,
            name: "PL".into(),
            source_id: seg.source_id.clone(),
            filter: Some(Filter::rule("country", Cmp::Eq, Value::Text("PL".into()))),
        })
        .unwrap();
    let p = ws.preview_mapping(&pl.id, &m).unwrap();
    let lines: Vec<u64> = p.profiles.iter().map(|p| p.line).collect();
    assert_eq!(lines, [2, 4, 5, 7, 8]);

    // A mapping naming a missing column is an error that names it.
    m.last_name = Some("Surname".into());
    let err = ws.preview_mapping(&seg.id, &m).unwrap_err();
    assert_eq!(err.code(), "export.mapping_invalid");
    assert!(err.to_string().contains("Surname"), "{err}");
}

#[test]
fn a_run_whose_process_died_shows_as_interrupted_and_its_export_as_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, PEOPLE).unwrap();
    let conn = ws
        .save_connection(connection_input("C", "http://127.0.0.1:9", Some(KEY)))
        .unwrap();
    let mut input = export_input(&ws, "E", &conn.id, &csv, "AbC123");
    input.mapping.email = "Email".into();
    let export = ws.save_export(input).unwrap();
    let alive = hold_export(&ws, &export.id);
    insert_running_run(&ws, &export);
    // Alive (its process holds the export's lock): still running, however old its heartbeat.
    let db = rusqlite::Connection::open(store_of(&ws).path()).unwrap();
    let ago = (chrono::Utc::now() - chrono::Duration::seconds(600))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    db.execute("UPDATE runs SET heartbeat_at = ?1", [&ago])
        .unwrap();
    assert_eq!(ws.runs(None).unwrap()[0].status, RunStatus::Running);
    assert!(!ws.exports().unwrap()[0].resumable);
    // Its process died (the kernel released its lock): interrupted at once, no waiting.
    drop(alive);
    assert_eq!(ws.runs(None).unwrap()[0].status, RunStatus::Interrupted);
    let view = &ws.exports().unwrap()[0];
    assert!(view.resumable);
    assert_eq!(
        view.last_run.as_ref().map(|r| r.status),
        Some(RunStatus::Interrupted)
    );
}

#[test]
fn a_run_whose_process_died_does_not_hold_its_schedule_back() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, PEOPLE).unwrap();
    let conn = ws
        .save_connection(connection_input("C", "http://127.0.0.1:9", Some(KEY)))
        .unwrap();
    let mut input = export_input(&ws, "E", &conn.id, &csv, "AbC123");
    input.mapping.email = "Email".into();
    input.schedule = Schedule::Every { hours: 1 };
    let export = ws.save_export(input).unwrap();
    let alive = hold_export(&ws, &export.id);
    insert_running_run(&ws, &export);
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    // Alive: a running export is not started twice.
    assert!(ws.due_exports(later).unwrap().is_empty());
    // Its process (say, a cron `run-due`) died: the next check runs the export again.
    drop(alive);
    let due: Vec<String> = ws
        .due_exports(later)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(due, ["E"]);
}

/// A source file in `dir` and its "all rows" segment.
fn file_segment(
    ws: &segport_core::workspace::Workspace,
    dir: &std::path::Path,
    name: &str,
    content: &str,
) -> SegmentView {
    let csv = dir.join(name);
    std::fs::write(&csv, content).unwrap();
    ws.add_file_segment(&csv.to_string_lossy(), SourceKind::Csv, None)
        .unwrap()
}

/// The rejects of the mapping preview (the first five profiles).
fn preview_rejects(
    ws: &segport_core::workspace::Workspace,
    seg: &SegmentView,
    m: &Mapping,
) -> Vec<String> {
    let p = ws.preview_mapping(&seg.id, m).unwrap();
    assert_eq!(p.profiles.len(), 5);
    p.profiles.iter().filter_map(|p| p.reject.clone()).collect()
}

const NATIONAL_PL: &str = "email,phone,country\n\
ada@example.com,601 234 567,PL\n\
bob@example.com,601-234-568,pl\n\
cy@example.com,(60) 123 45 69,PL\n\
dee@example.com,601234570,DE\n\
eve@example.com,+48 601 234 571,PL\n\
fay@example.com,,PL\n";

#[test]
fn national_phone_numbers_get_the_most_common_country_of_the_file_and_the_preview_rejects_none() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let seg = file_segment(&ws, dir.path(), "pl.csv", NATIONAL_PL);
    // Whatever the computer's locale says: the file knows better.
    for locale in [None, Some("en_US.UTF-8")] {
        let s = ws.suggest_mapping_for_locale(&seg.id, locale).unwrap();
        assert_eq!(s.mapping.phone_number.as_deref(), Some("phone"));
        assert_eq!(s.mapping.default_country.as_deref(), Some("PL"));
        let hint = s.phone_hint.as_deref().unwrap();
        assert!(hint.contains("PL") && hint.contains("“country”"), "{hint}");
        assert_eq!(preview_rejects(&ws, &seg, &s.mapping), Vec::<String>::new());
    }
}

#[test]
fn national_phone_numbers_with_no_country_anywhere_leave_the_phone_unmapped_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let seg = file_segment(
        &ws,
        dir.path(),
        "national.csv",
        "email,phone\nada@example.com,601 234 567\nbob@example.com,601 234 568\n\
         cy@example.com,601 234 569\ndee@example.com,601 234 570\neve@example.com,601 234 571\n",
    );
    for locale in [None, Some("C.UTF-8"), Some("POSIX"), Some("pl")] {
        let s = ws.suggest_mapping_for_locale(&seg.id, locale).unwrap();
        assert_eq!(s.mapping.phone_number, None, "{locale:?}");
        assert_eq!(s.mapping.default_country, None);
        let hint = s.phone_hint.as_deref().unwrap();
        assert!(
            hint.contains("numbers without a country code")
                && hint.contains("choose the default country"),
            "{hint}"
        );
        assert!(hint.contains("“phone”"), "{hint}");
        // Unmapped, nothing is rejected for it.
        assert_eq!(preview_rejects(&ws, &seg, &s.mapping), Vec::<String>::new());
    }
    // The computer's region reads them: proposed, saying so.
    let s = ws
        .suggest_mapping_for_locale(&seg.id, Some("pl_PL.UTF-8"))
        .unwrap();
    assert_eq!(s.mapping.default_country.as_deref(), Some("PL"));
    assert!(s
        .phone_hint
        .as_deref()
        .unwrap()
        .contains("this computer's region"));
    assert_eq!(preview_rejects(&ws, &seg, &s.mapping), Vec::<String>::new());
    // A region that rejects them is not proposed: these are not US numbers.
    let s = ws
        .suggest_mapping_for_locale(&seg.id, Some("en_US.UTF-8"))
        .unwrap();
    assert_eq!(s.mapping.phone_number, None);
    assert_eq!(s.mapping.default_country, None);
    let hint = s.phone_hint.as_deref().unwrap();
    assert!(
        hint.contains("US") && hint.contains("reads only 0%"),
        "{hint}"
    );
}

#[test]
fn international_phone_numbers_are_mapped_with_no_default_country() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let seg = file_segment(
        &ws,
        dir.path(),
        "e164.csv",
        "email,mobile\nada@example.com,+48601234567\nbob@example.com,+1 650 253 0000\n\
         cy@example.com,0048 601 234 569\ndee@example.com,+44 20 7946 0958\neve@example.com,\n",
    );
    let s = ws
        .suggest_mapping_for_locale(&seg.id, Some("pl_PL.UTF-8"))
        .unwrap();
    assert_eq!(s.mapping.phone_number.as_deref(), Some("mobile"));
    assert_eq!(s.mapping.default_country, None);
    assert_eq!(s.phone_hint, None);
    assert_eq!(preview_rejects(&ws, &seg, &s.mapping), Vec::<String>::new());
}

#[test]
fn saving_a_segment_refuses_a_rule_whose_value_does_not_fit_its_columns_type() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let csv = dir.path().join("typed.csv");
    std::fs::write(
        &csv,
        "email,orders,signup,vip,city\n\
         ada@example.com,3,2024-01-31,yes,Warsaw\n\
         bob@example.com,12,31/01/2024,no,Berlin\n\
         cy@example.com,,15.02.2024,TRUE,Paris\n",
    )
    .unwrap();
    let source = ws.save_source(csv_input("Typed", &csv)).unwrap();
    let types: Vec<&str> = source.columns.iter().map(|c| c.inferred.as_str()).collect();
    assert_eq!(types, ["email", "integer", "date", "boolean", "text"]);
    let input = |filter: Filter| SegmentInput {
        id: None,
        name: "S".into(),
        source_id: source.id.clone(),
        filter: Some(filter),
    };
    for (column, cmp, value, says) in [
        (
            "orders",
            Cmp::Gt,
            "abc",
            "`orders` holds numbers, and “abc” is not a number",
        ),
        (
            "orders",
            Cmp::Gt,
            "1,5",
            "the decimal separator is a dot — write 1.5",
        ),
        (
            "signup",
            Cmp::Lt,
            "01/02/2024",
            "could be 1 February 2024 or 2 January 2024",
        ),
        ("vip", Cmp::Eq, "1", "`vip` holds yes/no values"),
    ] {
        let f = Filter::and(vec![
            Filter::rule("city", Cmp::Eq, Value::Text("Warsaw".into())),
            Filter::rule(column, cmp, Value::Text(value.into())),
        ]);
        // The rule builder is told before anything is saved…
        let problems = ws.segment_rule_problems(&source.id, Some(&f)).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            (problems[0].column.as_str(), problems[0].value.as_str()),
            (column, value)
        );
        assert!(
            problems[0].message.contains(says),
            "{}",
            problems[0].message
        );
        // …and saving refuses it with a typed error that names the column and the value.
        let err = ws.save_segment(input(f)).unwrap_err();
        assert_eq!(err.code(), "segment.filter_invalid");
        assert!(err.to_string().contains(says), "{err}");
        match err {
            segport_core::CoreError::Filter(FilterError::ValueType {
                column: c,
                value: v,
                ..
            }) => {
                assert_eq!((c.as_str(), v.as_str()), (column, value));
            }
            other => panic!("expected a value type error, got {other:?}"),
        }
    }
    assert!(ws.segments().unwrap().is_empty(), "nothing was saved");

    // Values that fit are saved and mean what they say.
    let f = Filter::and(vec![
        Filter::rule("orders", Cmp::Gt, Value::Text("2.5".into())),
        Filter::rule("signup", Cmp::Le, Value::Text("31/01/2024".into())),
        Filter::rule("vip", Cmp::Eq, Value::Text("TRUE".into())),
    ]);
    assert!(ws
        .segment_rule_problems(&source.id, Some(&f))
        .unwrap()
        .is_empty());
    ws.save_segment(input(f.clone())).unwrap();
    let preview = ws.preview_filter(&source.id, Some(&f), 10).unwrap();
    assert_eq!(preview.matching, 1);
    assert_eq!(preview.sample[0][0], "ada@example.com");
}

#[test]
fn a_segment_saved_with_a_month_first_date_is_still_listed_and_its_rule_is_pointed_at() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let csv = dir.path().join("signups.csv");
    std::fs::write(
        &csv,
        "email,signup\nada@example.com,2024-03-01\nbob@example.com,2024-01-03\n",
    )
    .unwrap();
    let source = ws.save_source(csv_input("Signups", &csv)).unwrap();
    // An earlier Segport printed month-first dates bare.
    store_of(&ws)
        .put_segment(&Segment {
            id: "old".into(),
            name: "Old".into(),
            source_id: source.id.clone(),
            filter: Some("signup = 03/01/2024".into()),
        })
        .unwrap();
    let listed = ws.segments().unwrap();
    let want = Filter::rule("signup", Cmp::Eq, Value::Text("03/01/2024".into()));
    assert_eq!(listed[0].filter.as_ref(), Some(&want));
    let problems = ws.segment_rule_problems(&source.id, Some(&want)).unwrap();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .message
            .contains("write 2024-01-03 or 2024-03-01"),
        "{}",
        problems[0].message
    );
    // Its meaning changed (slashes are no longer read month first): the export form's preview
    // (as a run) refuses it, saying why, until it is fixed.
    let m = Mapping {
        email: "email".into(),
        ..Mapping::default()
    };
    let err = ws.preview_mapping("old", &m).unwrap_err();
    assert_eq!(err.code(), "segment.filter_invalid");
    assert!(err.to_string().contains("ambiguous"), "{err}");
}
