//! Sources: CSV, JSON Lines and SQLite tables read as streams (segport_core::source).

use proptest::prelude::*;
use segport_core::source::{
    self, ColumnType, RowItem, RowStream, SourceError, SourceSpec, JSONL_KEY_SAMPLE, SAMPLE_LEN,
};
use std::io::Write;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// A stream's items, as (line, Ok(values)) or (line, Err(reason)).
type Items = Vec<(u64, Result<Vec<String>, String>)>;

/// Every item of a stream.
fn drain(stream: &mut dyn RowStream) -> Items {
    let mut out = vec![];
    while let Some(item) = stream.next_row().unwrap() {
        out.push(match item {
            RowItem::Row { line, values } => (line, Ok(values)),
            RowItem::Bad { line, reason } => (line, Err(reason.to_string())),
        });
    }
    out
}

fn rows(spec: &SourceSpec) -> (Vec<String>, Items) {
    let mut s = source::open(spec).unwrap();
    let items = drain(&mut *s);
    (s.columns().to_vec(), items)
}

fn ok(line: u64, values: &[&str]) -> (u64, Result<Vec<String>, String>) {
    (line, Ok(values.iter().map(|v| v.to_string()).collect()))
}

fn err_code(r: Result<impl Sized, SourceError>) -> (&'static str, String) {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => (e.code(), e.to_string()),
    }
}

// ---------------------------------------------------------------------------------- CSV

#[test]
fn csv_delimiter_is_detected_and_quoted_fields_keep_other_delimiters() {
    let dir = tempfile::tempdir().unwrap();
    for (d, name) in [
        (',', "comma"),
        (';', "semicolon"),
        ('\t', "tab"),
        ('|', "pipe"),
    ] {
        let s = d.to_string();
        // Each quoted value holds all four delimiters.
        let content = format!(
            "email{s}note{s}city\na@x.io{s}\"x,y;z\tw|v\"{s}Paris\n\"b@x.io\"{s}{s}\"Rome{s}Italy\"\n"
        );
        let path = write(dir.path(), &format!("{name}.csv"), content.as_bytes());
        let spec = SourceSpec::csv(&path);
        let info = source::inspect(&spec, 100).unwrap();
        assert_eq!(info.delimiter, Some(d), "{name}");
        let (columns, items) = rows(&spec);
        assert_eq!(columns, ["email", "note", "city"], "{name}");
        assert_eq!(
            items,
            vec![
                ok(2, &["a@x.io", "x,y;z\tw|v", "Paris"]),
                ok(3, &["b@x.io", "", &format!("Rome{s}Italy")]),
            ],
            "{name}"
        );
    }
}

#[test]
fn csv_semicolon_file_with_decimal_commas() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "eu.csv",
        b"email;total;rate\na@x.io;1,50;0,2\nb@x.io;3,00;0,5\n",
    );
    let info = source::inspect(&SourceSpec::csv(&path), 10).unwrap();
    assert_eq!(info.delimiter, Some(';'));
    assert_eq!(info.sample[1], ["b@x.io", "3,00", "0,5"]);
}

#[test]
fn csv_bom_is_not_part_of_the_first_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bom.csv",
        "\u{feff}email;name\na@x.io;Zoë\n".as_bytes(),
    );
    let (columns, items) = rows(&SourceSpec::csv(&path));
    assert_eq!(columns, ["email", "name"]);
    assert_eq!(items, vec![ok(2, &["a@x.io", "Zoë"])]);
}

#[test]
fn csv_crlf_blank_lines_and_quoted_newlines_keep_true_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "crlf.csv",
        b"\r\nemail,note\r\na@x.io,A\r\n\r\n\r\nb@x.io,\"two\r\nlines\"\r\n  \r\nc@x.io,\"C\"\r\nd@x.io,D",
    );
    let (columns, items) = rows(&SourceSpec::csv(&path));
    assert_eq!(columns, ["email", "note"]);
    assert_eq!(
        items,
        vec![
            ok(3, &["a@x.io", "A"]),
            ok(6, &["b@x.io", "two\r\nlines"]),
            ok(9, &["c@x.io", "C"]),
            ok(10, &["d@x.io", "D"]),
        ]
    );
    // Old Mac line endings (CR only) end rows too.
    let path = write(dir.path(), "cr.csv", b"email,note\ra@x.io,A\rb@x.io,B\r");
    let (_, items) = rows(&SourceSpec::csv(&path));
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].1, Ok(vec!["b@x.io".to_string(), "B".to_string()]));
}

#[test]
fn csv_short_rows_are_padded_and_long_rows_are_bad() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ragged.csv",
        b"email,first,last\na@x.io\nb@x.io,B,Bee,\nc@x.io,Smith, John,Cee\n",
    );
    let (_, items) = rows(&SourceSpec::csv(&path));
    assert_eq!(items[0], ok(2, &["a@x.io", "", ""]));
    assert_eq!(
        items[1],
        ok(3, &["b@x.io", "B", "Bee"]),
        "a trailing comma is harmless"
    );
    let (line, Err(reason)) = &items[2] else {
        panic!("{:?}", items[2])
    };
    assert_eq!(*line, 4);
    assert!(reason.contains("4 fields but the header has 3"), "{reason}");
    assert!(reason.contains("double quotes"), "{reason}");
}

#[test]
fn csv_files_that_cannot_be_used_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let spec = |name: &str, content: &[u8]| SourceSpec::csv(write(dir.path(), name, content));

    let (code, msg) = err_code(source::open(&spec(
        "latin1.csv",
        b"email,name\nj\xe9r\xf4me@x.io,J\n",
    )));
    assert_eq!(code, "source.not_utf8");
    assert!(msg.contains("UTF-8"), "{msg}");
    assert_eq!(
        err_code(source::open(&spec("empty.csv", b""))).0,
        "source.empty"
    );
    assert_eq!(
        err_code(source::open(&spec("blank.csv", b"\r\n\n  \n"))).0,
        "source.empty"
    );
    assert_eq!(
        err_code(source::inspect(&spec("header.csv", b"email,name\n"), 10)).0,
        "source.no_rows"
    );
    let (code, msg) = err_code(source::open(&spec("hole.csv", b"email,,name\na,b,c\n")));
    assert_eq!(code, "source.empty_header");
    assert!(msg.contains("column 2"), "{msg}");
    let (code, msg) = err_code(source::open(&SourceSpec::csv(dir.path().join("gone.csv"))));
    assert_eq!(code, "source.missing");
    assert!(msg.contains("choose the file again"), "{msg}");
}

#[test]
fn csv_non_utf8_row_after_the_checked_prefix_is_a_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = b"email,name\n".to_vec();
    for i in 0..5_000 {
        content.extend_from_slice(format!("user{i}@example.com,Name {i}\n").as_bytes());
    }
    content.extend_from_slice(b"late@x.io,J\xe9r\xf4me\nlast@x.io,L\n");
    let path = write(dir.path(), "late.csv", &content);
    let (_, items) = rows(&SourceSpec::csv(&path));
    assert_eq!(items.len(), 5_002);
    let (line, Err(reason)) = &items[5_000] else {
        panic!("{:?}", items[5_000])
    };
    assert_eq!(*line, 5_002);
    assert!(reason.contains("\"name\" is not UTF-8"), "{reason}");
    assert_eq!(items[5_001], ok(5_003, &["last@x.io", "L"]));
}

#[test]
fn csv_unclosed_quote_does_not_swallow_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unclosed.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(b"email,note\na@x.io,ok\nb@x.io,\"never closed\n")
        .unwrap();
    let line = [b'x'; 1023];
    for _ in 0..(17 * 1024) {
        f.write_all(&line).unwrap();
        f.write_all(b"\n").unwrap();
    }
    drop(f);
    let mut s = source::open(&SourceSpec::csv(&path)).unwrap();
    assert!(matches!(
        s.next_row(),
        Ok(Some(RowItem::Row { line: 2, .. }))
    ));
    let e = s.next_row().unwrap_err();
    assert_eq!(e.code(), "source.malformed");
    assert!(e.to_string().starts_with("Line 3 of"), "{e}");
    assert!(e.to_string().contains("never closed"), "{e}");
}

#[test]
fn semicolon_csv_is_read_by_inspect_and_stream_alike() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "legacy.csv", b"Name;E-mail\nAda;ada@x.io\n");
    let info = source::inspect(&SourceSpec::csv(&path), 10).unwrap();
    let names: Vec<&str> = info.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Name", "E-mail"]);
    assert_eq!(info.delimiter, Some(';'));
    let mut rows = source::open(&SourceSpec::csv(&path)).unwrap();
    let col = rows.columns().iter().position(|c| c == "E-mail").unwrap();
    let Some(RowItem::Row { line, values }) = rows.next_row().unwrap() else {
        panic!("no row")
    };
    assert_eq!((line, values[col].as_str()), (2, "ada@x.io"));
}

/// The lines of a CSV as a text editor shows them, joined with the line break `sep(i)` after
/// line `i` (a quoted value spanning two lines gets that line's break inside it).
fn joined(lines: &[&str], sep: impl Fn(usize) -> &'static str) -> Vec<u8> {
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        out.push_str(l);
        out.push_str(sep(i));
    }
    out.into_bytes()
}

/// The lines of the items, with the reasons of the bad ones (values differ by line break).
fn lines_and_rejects(items: &Items) -> Vec<(u64, Option<String>)> {
    items
        .iter()
        .map(|(line, r)| (*line, r.as_ref().err().cloned()))
        .collect()
}

#[test]
fn csv_lf_crlf_cr_only_and_mixed_line_ends_give_the_lines_an_editor_shows() {
    let lines = [
        "email,note",     // 1
        "a@x.io,A",       // 2
        "",               // 3 (blank)
        "b@x.io,\"two",   // 4: a quoted value over two lines
        "lines\"",        // 5
        "c@x.io,C,extra", // 6: a bad row
        "   ",            // 7 (blank)
        "d@x.io,\"D\"",   // 8
        "",               // 9
        "",               // 10
        "e@x.io,E",       // 11
    ];
    // No "\r" is followed by a blank line ending in "\n" (that would be one "\r\n").
    let mixed = ["\r\n", "\n", "\r"];
    let dir = tempfile::tempdir().unwrap();
    let mut seen = vec![];
    for (name, cycle) in [
        ("lf", ["\n"; 3]),
        ("crlf", ["\r\n"; 3]),
        ("cr", ["\r"; 3]),
        ("mixed", mixed),
        ("mixed2", [mixed[1], mixed[2], mixed[0]]),
        ("mixed3", [mixed[2], mixed[0], mixed[1]]),
    ] {
        let sep = |i: usize| cycle[i % 3];
        for last_break in [true, false] {
            let mut content = joined(&lines, sep);
            if !last_break {
                content.truncate(content.len() - sep(lines.len() - 1).len());
            }
            let path = write(dir.path(), &format!("{name}-{last_break}.csv"), &content);
            let (columns, items) = rows(&SourceSpec::csv(&path));
            assert_eq!(columns, ["email", "note"], "{name}");
            let got = lines_and_rejects(&items);
            assert_eq!(
                got.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
                [2, 4, 6, 8, 11],
                "{name} {last_break}: {items:?}"
            );
            assert!(got[2].1.as_deref().unwrap().contains("3 fields"), "{got:?}");
            assert_eq!(
                items[1].1.as_ref().unwrap()[1],
                format!("two{}lines", sep(3))
            );
            let info = source::inspect(&SourceSpec::csv(&path), 100).unwrap();
            assert_eq!(info.sample.len(), 4, "{name}: the bad row is left out");
            seen.push(got);
        }
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

#[test]
fn csv_unclosed_quote_names_its_true_lines_whatever_the_line_ends() {
    let dir = tempfile::tempdir().unwrap();
    for sep in ["\n", "\r\n", "\r"] {
        let content = ["email,note", "a@x.io,ok", "b@x.io,\"never closed", "x", "y"].join(sep);
        let path = write(
            dir.path(),
            "unclosed.csv",
            format!("{content}{sep}").as_bytes(),
        );
        let (_, items) = rows(&SourceSpec::csv(&path));
        assert_eq!(items.len(), 2, "{sep:?}: {items:?}");
        assert_eq!(items[0], ok(2, &["a@x.io", "ok"]), "{sep:?}");
        let (3, Err(reason)) = &items[1] else {
            panic!("{sep:?}: {:?}", items[1])
        };
        assert!(reason.contains("lines 3–5"), "{sep:?}: {reason}");
    }
}

#[test]
fn csv_crlf_split_across_read_buffers_counts_as_one_line_break() {
    // The reader fills 256 KiB at a time: put the \r of a \r\n as the last byte of a buffer
    // after a row, in a quoted value and in a blank line.
    const BUF: usize = 256 * 1024;
    let mut content = b"email,note\r\n".to_vec();
    let mut expected = vec![];
    let mut line = 2u64;
    fn row(content: &mut Vec<u8>, expected: &mut Vec<u64>, line: &mut u64, s: &str) {
        expected.push(*line);
        content.extend_from_slice(s.as_bytes());
        *line += s.matches("\r\n").count() as u64;
    }
    for (k, kind) in ["row", "quoted", "blank"].into_iter().enumerate() {
        let boundary = (k + 1) * BUF - 1;
        while content.len() < boundary - 200 {
            row(&mut content, &mut expected, &mut line, "u@x.io,filler\r\n");
        }
        match kind {
            "row" => {
                let pad = boundary - content.len() - "u@x.io,".len();
                row(
                    &mut content,
                    &mut expected,
                    &mut line,
                    &format!("u@x.io,{}\r\n", "p".repeat(pad)),
                );
            }
            "quoted" => {
                let pad = boundary - content.len() - "u@x.io,\"".len();
                row(
                    &mut content,
                    &mut expected,
                    &mut line,
                    &format!("u@x.io,\"{}\r\nend\"\r\n", "q".repeat(pad)),
                );
            }
            _ => {
                let pad = boundary - content.len() - "u@x.io,\r\n".len();
                row(
                    &mut content,
                    &mut expected,
                    &mut line,
                    &format!("u@x.io,{}\r\n", "b".repeat(pad)),
                );
                content.extend_from_slice(b"\r\n");
                line += 1;
            }
        }
        assert_eq!(content[boundary], b'\r', "{kind}");
        assert_eq!(content[boundary + 1], b'\n', "{kind}");
    }
    row(&mut content, &mut expected, &mut line, "last@x.io,L\r\n");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "split.csv", &content);
    let (_, items) = rows(&SourceSpec::csv(&path));
    assert!(items.iter().all(|(_, r)| r.is_ok()));
    assert_eq!(items.iter().map(|(l, _)| *l).collect::<Vec<_>>(), expected);
}

// -------------------------------------------------------------------------------- JSONL

#[test]
fn jsonl_columns_values_bad_lines_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "people.jsonl",
        concat!(
            "\u{feff}{\"email\":\"a@x.io\",\"age\":36,\"tags\":[\"vip\", \"eu\"]}\n",
            "\n",
            "{\"email\":\"b@x.io\",\"address\":{\"city\":\"Rome\",\"zip\":\"00100\"},\"vip\":true}\r\n",
            "   \n",
            "[\"not\",\"an\",\"object\"]\n",
            "{\"email\":\"c@x.io\",\"age\":null,\"note\":\"say \\\"hi\\\"\"}\n",
            "{\"email\": \"d@x.io\", \n",
            "{\"age\":1.50}",
        )
        .as_bytes(),
    );
    let (columns, items) = rows(&SourceSpec::jsonl(&path));
    assert_eq!(columns, ["email", "age", "tags", "address", "vip", "note"]);
    assert_eq!(items.len(), 6);
    assert_eq!(
        items[0],
        ok(1, &["a@x.io", "36", r#"["vip","eu"]"#, "", "", ""])
    );
    assert_eq!(
        items[1],
        ok(
            3,
            &[
                "b@x.io",
                "",
                "",
                r#"{"city":"Rome","zip":"00100"}"#,
                "true",
                ""
            ]
        )
    );
    let (5, Err(reason)) = &items[2] else {
        panic!("{:?}", items[2])
    };
    assert!(reason.contains("an array, not a JSON object"), "{reason}");
    assert_eq!(items[3], ok(6, &["c@x.io", "", "", "", "", "say \"hi\""]));
    let (7, Err(reason)) = &items[4] else {
        panic!("{:?}", items[4])
    };
    assert!(reason.starts_with("the line is not valid JSON"), "{reason}");
    assert_eq!(items[5], ok(8, &["", "1.50", "", "", "", ""]));
}

#[test]
fn jsonl_columns_come_from_the_first_lines_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = String::new();
    for i in 0..JSONL_KEY_SAMPLE {
        content.push_str(&format!("{{\"email\":\"u{i}@x.io\"}}\n"));
    }
    content.push_str("{\"email\":\"late@x.io\",\"late_key\":1}\n");
    let path = write(dir.path(), "late.jsonl", content.as_bytes());
    let (columns, items) = rows(&SourceSpec::jsonl(&path));
    assert_eq!(columns, ["email"]);
    assert_eq!(items.last().unwrap(), &ok(1_001, &["late@x.io"]));

    // One line further in, and the key is seen.
    let path = write(
        dir.path(),
        "early.jsonl",
        content
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    );
    let (columns, _) = rows(&SourceSpec::jsonl(&path));
    assert_eq!(columns, ["email", "late_key"]);
}

#[test]
fn jsonl_files_that_cannot_be_used_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let spec = |name: &str, content: &[u8]| SourceSpec::jsonl(write(dir.path(), name, content));
    assert_eq!(
        err_code(source::open(&spec("e.jsonl", b"\n \n"))).0,
        "source.empty"
    );
    let (code, msg) = err_code(source::open(&spec("csv.jsonl", b"email,name\na@x.io,A\n")));
    assert_eq!(code, "source.no_json_objects");
    assert!(msg.contains("first 2 lines"), "{msg}");
    assert_eq!(
        err_code(source::open(&spec(
            "latin.jsonl",
            b"{\"n\":\"J\xe9r\xf4me\"}\n"
        )))
        .0,
        "source.not_utf8"
    );
}

#[test]
fn jsonl_lone_cr_ends_a_line_like_lf_and_crlf() {
    let lines = [
        r#"{"email":"a@x.io","n":1}"#, // 1
        "",                            // 2
        r#"{"email":"b@x.io"}"#,       // 3
        "[1]",                         // 4: a bad row
        "  ",                          // 5
        r#"{"email":"c@x.io","n":3}"#, // 6
    ];
    let mixed = ["\r\n", "\n", "\r"];
    let dir = tempfile::tempdir().unwrap();
    for (name, cycle) in [
        ("lf", ["\n"; 3]),
        ("crlf", ["\r\n"; 3]),
        ("cr", ["\r"; 3]),
        ("mixed", mixed),
        ("mixed2", [mixed[1], mixed[2], mixed[0]]),
    ] {
        let content = joined(&lines, |i| cycle[i % 3]);
        let spec = SourceSpec::jsonl(write(dir.path(), &format!("{name}.jsonl"), &content));
        let (columns, items) = rows(&spec);
        assert_eq!(columns, ["email", "n"], "{name}");
        assert_eq!(items.len(), 4, "{name}: {items:?}");
        assert_eq!(items[0], ok(1, &["a@x.io", "1"]), "{name}");
        assert_eq!(items[1], ok(3, &["b@x.io", ""]), "{name}");
        let (4, Err(reason)) = &items[2] else {
            panic!("{name}: {:?}", items[2])
        };
        assert!(reason.contains("an array"), "{reason}");
        assert_eq!(items[3], ok(6, &["c@x.io", "3"]), "{name}");
        let info = source::inspect(&spec, 100).unwrap();
        assert_eq!(info.sample.len(), 3, "{name}");
    }
}

#[test]
fn jsonl_crlf_split_across_read_buffers_counts_as_one_line_break() {
    const BUF: usize = 256 * 1024;
    let mut content = Vec::new();
    let mut n = 0u64;
    fn push(content: &mut Vec<u8>, n: &mut u64, pad: usize) {
        let line = format!(
            "{{\"email\":\"user{n}@example.com\",\"p\":\"{}\"}}\r\n",
            "p".repeat(pad)
        );
        content.extend_from_slice(line.as_bytes());
        *n += 1;
    }
    while content.len() < BUF - 200 {
        push(&mut content, &mut n, 0);
    }
    // The next line's \r is the last byte of the first buffer.
    let probe = format!("{{\"email\":\"user{n}@example.com\",\"p\":\"\"}}").len();
    let pad = BUF - 1 - content.len() - probe;
    push(&mut content, &mut n, pad);
    assert_eq!(&content[BUF - 1..=BUF], b"\r\n");
    for _ in 0..10 {
        push(&mut content, &mut n, 0);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "split.jsonl", &content);
    assert_eq!(stream_all(&SourceSpec::jsonl(&path), 1), n);
}

// ------------------------------------------------------------------------------- SQLite

fn database(dir: &Path) -> PathBuf {
    let path = dir.join("crm.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE customers (email TEXT, score REAL, visits INTEGER, photo BLOB);
         INSERT INTO customers (rowid, email, score, visits, photo) VALUES
           (5, 'b@x.io', 2.5, 3, NULL),
           (2, 'a@x.io', 1.0, NULL, x'ff00'),
           (9, 'c@x.io', NULL, -1, CAST('d@x.io' AS BLOB));
         CREATE TABLE \"odd \"\"name\"\"\" (rowid TEXT, v TEXT);
         INSERT INTO \"odd \"\"name\"\"\" (rowid, v) VALUES ('z', 'first'), ('a', 'second');
         CREATE TABLE keyed (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
         INSERT INTO keyed VALUES ('m', '2'), ('c', '1');
         CREATE VIEW vip AS SELECT email FROM customers WHERE visits > 0;
         CREATE TABLE empty (email TEXT);",
    )
    .unwrap();
    path
}

#[test]
fn sqlite_tables_are_listed_and_streamed_in_rowid_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    assert_eq!(
        source::sqlite_tables(&db).unwrap(),
        ["customers", "empty", "keyed", "odd \"name\"", "vip"]
    );
    let (columns, items) = rows(&SourceSpec::sqlite(&db, "customers"));
    assert_eq!(columns, ["email", "score", "visits", "photo"]);
    assert_eq!(
        items,
        vec![
            ok(1, &["a@x.io", "1.0", "", "0xff00"]),
            ok(2, &["b@x.io", "2.5", "3", ""]),
            ok(3, &["c@x.io", "", "-1", "d@x.io"]),
        ]
    );
    // A column named rowid does not change the order; quotes in names are fine.
    let (columns, items) = rows(&SourceSpec::sqlite(&db, "odd \"name\""));
    assert_eq!(columns, ["rowid", "v"]);
    assert_eq!(items, vec![ok(1, &["z", "first"]), ok(2, &["a", "second"])]);
    // WITHOUT ROWID: primary-key order. Views can be read. Names are case-insensitive.
    let (_, items) = rows(&SourceSpec::sqlite(&db, "keyed"));
    assert_eq!(items, vec![ok(1, &["c", "1"]), ok(2, &["m", "2"])]);
    let (_, items) = rows(&SourceSpec::sqlite(&db, "VIP"));
    assert_eq!(items.len(), 1);
}

#[test]
fn sqlite_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());

    let (code, msg) = err_code(source::open(&SourceSpec::sqlite(&db, "clients")));
    assert_eq!(code, "source.missing_table");
    assert!(msg.contains("customers, empty, keyed"), "{msg}");
    let no_table = SourceSpec::sqlite(&db, "");
    assert_eq!(err_code(source::open(&no_table)).0, "source.table_required");
    // A stored SQLite source without a table.
    let no_table = SourceSpec::new(segport_core::model::SourceKind::Sqlite, &db, None);
    assert_eq!(err_code(source::open(&no_table)).0, "source.table_required");
    assert_eq!(
        err_code(source::inspect(&SourceSpec::sqlite(&db, "empty"), 10)).0,
        "source.no_rows"
    );

    let text = write(dir.path(), "people.csv", b"email,name\na@x.io,A\n");
    let (code, msg) = err_code(source::sqlite_tables(&text));
    assert_eq!(code, "source.not_sqlite");
    assert!(msg.contains("CSV or JSON Lines"), "{msg}");
    assert_eq!(
        err_code(source::open(&SourceSpec::sqlite(&text, "t"))).0,
        "source.not_sqlite"
    );
    assert_eq!(
        err_code(source::sqlite_tables(&dir.path().join("none.db"))).0,
        "source.missing"
    );
    assert!(
        !dir.path().join("none.db").exists(),
        "read-only open creates nothing"
    );
}

#[test]
fn sqlite_stream_dropped_early_stops_its_reader() {
    let dir = tempfile::tempdir().unwrap();
    let db = big_sqlite(dir.path(), 50_000);
    for _ in 0..3 {
        let mut s = source::open(&SourceSpec::sqlite(&db, "people")).unwrap();
        assert!(s.next_row().unwrap().is_some());
        drop(s); // would hang here if the reader thread kept waiting on a full channel
    }
    // The database is not held open or locked: it can be written.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("DELETE FROM people", []).unwrap();
}

// ---------------------------------------------------------------------------- inspect

#[test]
fn inspect_infers_column_types_from_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("email,phone,age,score,joined,vip,zip,note,unused\n");
    for i in 0..30 {
        csv.push_str(&format!(
            "u{i}@x.io,+1 555 010 {i:04},{},{}.5,2024-01-{:02},{},0{i:04},hello {i},\n",
            20 + i,
            i,
            i % 28 + 1,
            if i % 2 == 0 { "yes" } else { "no" },
        ));
    }
    csv.push_str("not-an-email,n/a,unknown,x,never,maybe,x,x,\n");
    let path = write(dir.path(), "people.csv", csv.as_bytes());
    let spec = SourceSpec::csv(&path);

    let info = source::inspect(&spec, 30).unwrap();
    let types: Vec<_> = info
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.inferred))
        .collect();
    assert_eq!(
        types,
        [
            ("email", ColumnType::Email),
            ("phone", ColumnType::Phone),
            ("age", ColumnType::Integer),
            ("score", ColumnType::Number),
            ("joined", ColumnType::Date),
            ("vip", ColumnType::Boolean),
            ("zip", ColumnType::Text),
            ("note", ColumnType::Text),
            ("unused", ColumnType::Empty),
        ]
    );
    assert_eq!(info.sample.len(), SAMPLE_LEN);
    assert_eq!(info.sample[0][0], "u0@x.io");
    assert_eq!(info.delimiter, Some(','));

    // One more row in the sample, and every typed column turns to Text.
    let info = source::inspect(&spec, 31).unwrap();
    assert!(info.columns[..8]
        .iter()
        .all(|c| c.inferred == ColumnType::Text));

    // JSONL and SQLite infer the same way and have no delimiter.
    let path = write(
        dir.path(),
        "p.jsonl",
        b"{\"email\":\"a@x.io\",\"n\":1}\n{\"email\":\"b@x.io\",\"n\":2.5}\n",
    );
    let info = source::inspect(&SourceSpec::jsonl(&path), 10).unwrap();
    assert_eq!(info.delimiter, None);
    assert_eq!(info.columns[0].inferred, ColumnType::Email);
    assert_eq!(info.columns[1].inferred, ColumnType::Number);
    let db = database(dir.path());
    let info = source::inspect(&SourceSpec::sqlite(&db, "customers"), 10).unwrap();
    let types: Vec<_> = info.columns.iter().map(|c| c.inferred).collect();
    assert_eq!(
        types,
        [
            ColumnType::Email,
            ColumnType::Number,
            ColumnType::Integer,
            ColumnType::Text
        ]
    );
}

// ------------------------------------------------------------------------ large files

const BIG: u64 = 200_000;

fn big_sqlite(dir: &Path, n: u64) -> PathBuf {
    let path = dir.join("big.sqlite");
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE people (email TEXT, first_name TEXT, visits INTEGER)")
        .unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare("INSERT INTO people VALUES (?1, ?2, ?3)")
            .unwrap();
        for i in 0..n {
            stmt.execute((format!("user{i}@example.com"), format!("Name{i}"), i as i64))
                .unwrap();
        }
    }
    tx.commit().unwrap();
    path
}

/// Stream a whole source: the number of rows, and that each row is the one expected there.
fn stream_all(spec: &SourceSpec, first_line: u64) -> u64 {
    let mut s = source::open(spec).unwrap();
    let mut n = 0u64;
    while let Some(item) = s.next_row().unwrap() {
        let RowItem::Row { line, values } = item else {
            panic!("bad row {item:?}")
        };
        assert_eq!(line, first_line + n);
        assert_eq!(values[0], format!("user{n}@example.com"));
        n += 1;
    }
    n
}

#[test]
fn two_hundred_thousand_rows_of_each_kind_stream_end_to_end() {
    let dir = tempfile::tempdir().unwrap();

    let csv = dir.path().join("big.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(f, "email;first_name;visits").unwrap();
    for i in 0..BIG {
        write!(f, "user{i}@example.com;\"Name; {i}\";{i}\r\n").unwrap();
    }
    drop(f);
    assert_eq!(stream_all(&SourceSpec::csv(&csv), 2), BIG);

    let jsonl = dir.path().join("big.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&jsonl).unwrap());
    for i in 0..BIG {
        writeln!(
            f,
            "{{\"email\":\"user{i}@example.com\",\"first_name\":\"Name{i}\",\"visits\":{i}}}"
        )
        .unwrap();
    }
    drop(f);
    assert_eq!(stream_all(&SourceSpec::jsonl(&jsonl), 1), BIG);

    let db = big_sqlite(dir.path(), BIG);
    assert_eq!(stream_all(&SourceSpec::sqlite(&db, "people"), 1), BIG);
}

// ------------------------------------------------------------------------- proptest

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zé ,;|\t\"\r\n]{0,8}",
        ".{0,6}",
        Just(String::new()),
        Just("\"".to_string()),
    ]
}

fn grid() -> impl Strategy<Value = (Vec<Vec<String>>, u8, bool)> {
    // At least two columns: a one-column file has no delimiter to detect.
    (2usize..6, 1usize..12).prop_flat_map(|(cols, rows)| {
        (
            prop::collection::vec(prop::collection::vec(field(), cols), rows),
            prop::sample::select(vec![b',', b';', b'\t', b'|']),
            any::<bool>(),
        )
    })
}

/// Line breaks as a text editor counts them: `\r\n`, a lone `\r`, a lone `\n`.
fn editor_line_breaks(bytes: &[u8]) -> u64 {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .bytes()
        .filter(|&b| b == b'\n' || b == b'\r')
        .count() as u64
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any grid written by the csv crate's writer (any of the four delimiters, CRLF or LF)
    /// reads back identically, each row with the line it starts on in a text editor.
    #[test]
    fn csv_written_by_the_csv_writer_reads_back_identically(
        (grid, delimiter, crlf) in grid()
    ) {
        let width = grid[0].len();
        let header: Vec<String> = (0..width).map(|i| format!("col{i}")).collect();
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        w.write_record(&header).unwrap();
        let mut starts = vec![];
        for row in &grid {
            w.flush().unwrap();
            starts.push(w.get_ref().len());
            w.write_record(row).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        // The line a text editor shows: `\r\n`, a lone `\r` (values may hold one) or `\n`.
        let expected_lines: Vec<u64> = starts
            .iter()
            .map(|&s| 1 + editor_line_breaks(&bytes[..s]))
            .collect();

        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "grid.csv", &bytes);
        let spec = SourceSpec::csv(&path);
        let mut s = source::open(&spec).unwrap();
        prop_assert_eq!(s.columns(), &header[..]);
        let items = drain(&mut *s);
        let expected: Vec<_> = grid
            .iter()
            .zip(&expected_lines)
            .map(|(row, &line)| (line, Ok(row.clone())))
            .collect();
        prop_assert_eq!(items, expected);
        prop_assert_eq!(
            source::inspect(&spec, 5).unwrap().delimiter,
            Some(delimiter as char)
        );
    }
}
