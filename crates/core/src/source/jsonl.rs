//! JSON Lines: one JSON object per line. A line ends at `\r\n`, a lone `\n` or a lone `\r` (old
//! Mac line ends), so line numbers are the ones a text editor shows.
//!
//! The columns are the keys of the first `key_sample` non-blank lines, in first-seen order. Those
//! lines are parsed once and kept (at most `key_sample` rows) until they are streamed; after them
//! a line is parsed straight into a row, its values borrowed from the line where possible, keys
//! that are not columns skipped unparsed.

use super::{check_utf8, open_text, read_prefix, unreadable, RowItem, RowStream, SourceError};
use crate::error::{JsonFound, RejectCode};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// A longer line is a bad row (and is skipped without being held in memory).
const MAX_LINE_BYTES: usize = 16 << 20;

/// The columns: names in first-seen order and where each is.
#[derive(Default)]
struct Keys {
    columns: Vec<String>,
    index: HashMap<String, usize>,
}

enum Line {
    Eof,
    Text,
    TooLong,
}

/// [`RowStream`] over a JSON Lines file.
pub(super) struct JsonlStream {
    path: PathBuf,
    src: BufReader<File>,
    /// The current line, without its terminator.
    buf: Vec<u8>,
    /// The current line's number (1-based).
    line: u64,
    /// The last line ended with a `\r` that was the last byte read so far: a `\n` first in
    /// the next chunk belongs to that line break (`\r\n` split between two reads).
    after_cr: bool,
    keys: Keys,
    /// The rows read to find the columns, not yet streamed.
    pending: VecDeque<RowItem>,
}

impl JsonlStream {
    pub(super) fn open(path: &Path, key_sample: usize) -> Result<JsonlStream, SourceError> {
        let (prefix, _) = read_prefix(path, 64 * 1024)?;
        check_utf8(path, &prefix)?;
        let src = open_text(path)?;
        let mut s = JsonlStream {
            path: path.to_path_buf(),
            src,
            buf: Vec::new(),
            line: 0,
            after_cr: false,
            keys: Keys::default(),
            pending: VecDeque::new(),
        };
        let mut seen = 0usize;
        while seen < key_sample {
            let item = match s.read_line()? {
                Line::Eof => break,
                Line::TooLong => s.too_long(),
                Line::Text if s.buf.trim_ascii().is_empty() => continue,
                Line::Text => s.parse(true),
            };
            seen += 1;
            s.pending.push_back(item);
        }
        if s.keys.columns.is_empty() {
            return Err(if seen == 0 {
                SourceError::Empty(path.to_path_buf())
            } else {
                SourceError::NoJsonObjects {
                    path: path.to_path_buf(),
                    lines: s.line,
                }
            });
        }
        Ok(s)
    }

    /// Read the next line into `buf` (its terminator, `\r\n`, `\n` or `\r`, removed).
    fn read_line(&mut self) -> Result<Line, SourceError> {
        self.buf.clear();
        if std::mem::take(&mut self.after_cr) {
            let chunk = self
                .src
                .fill_buf()
                .map_err(|e| unreadable(&self.path, &e))?;
            if chunk.first() == Some(&b'\n') {
                self.src.consume(1);
            }
        }
        let (mut any, mut too_long) = (false, false);
        loop {
            let chunk = self
                .src
                .fill_buf()
                .map_err(|e| unreadable(&self.path, &e))?;
            if chunk.is_empty() {
                if !any {
                    return Ok(Line::Eof);
                }
                break;
            }
            any = true;
            let newline = memchr::memchr2(b'\n', b'\r', chunk);
            let part = &chunk[..newline.unwrap_or(chunk.len())];
            if !too_long {
                if self.buf.len() + part.len() > MAX_LINE_BYTES {
                    too_long = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            let used = match newline {
                None => chunk.len(),
                Some(i) if chunk[i] == b'\r' => match chunk.get(i + 1) {
                    Some(b'\n') => i + 2,
                    Some(_) => i + 1,
                    None => {
                        self.after_cr = true;
                        i + 1
                    }
                },
                Some(i) => i + 1,
            };
            self.src.consume(used);
            if newline.is_some() {
                break;
            }
        }
        self.line += 1;
        Ok(if too_long { Line::TooLong } else { Line::Text })
    }

    fn too_long(&self) -> RowItem {
        RowItem::Bad {
            line: self.line,
            reason: RejectCode::JsonlTooLong {
                max_mb: MAX_LINE_BYTES >> 20,
            },
        }
    }

    /// Parse the current line; with `learn`, keys not seen before become columns.
    fn parse(&mut self, learn: bool) -> RowItem {
        let line = self.line;
        match parse_object(&self.buf, &mut self.keys, learn) {
            Ok(values) => RowItem::Row { line, values },
            Err(reason) => RowItem::Bad { line, reason },
        }
    }
}

impl RowStream for JsonlStream {
    fn columns(&self) -> &[String] {
        &self.keys.columns
    }

    fn next_row(&mut self) -> Result<Option<RowItem>, SourceError> {
        if let Some(mut item) = self.pending.pop_front() {
            if let RowItem::Row { values, .. } = &mut item {
                values.resize(self.keys.columns.len(), String::new());
            }
            return Ok(Some(item));
        }
        loop {
            return Ok(Some(match self.read_line()? {
                Line::Eof => return Ok(None),
                Line::TooLong => self.too_long(),
                Line::Text if self.buf.trim_ascii().is_empty() => continue,
                Line::Text => self.parse(false),
            }));
        }
    }
}

/// One row from one line: a value per known column, or why the line is not a row.
fn parse_object(bytes: &[u8], keys: &mut Keys, learn: bool) -> Result<Vec<String>, RejectCode> {
    let known = keys.columns.len();
    let mut values = vec![String::new(); known];
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = RowSeed {
        keys: &mut *keys,
        learn,
        values: &mut values,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match parsed {
        Ok(()) => {
            values.resize(keys.columns.len(), String::new());
            Ok(values)
        }
        Err(e) => {
            // Keys of a line that is not a row are not columns.
            for k in keys.columns.drain(known..) {
                keys.index.remove(&k);
            }
            Err(bad_line_reason(bytes, &e))
        }
    }
}

fn bad_line_reason(bytes: &[u8], e: &serde_json::Error) -> RejectCode {
    if std::str::from_utf8(bytes).is_err() {
        return RejectCode::JsonlNotUtf8;
    }
    if e.classify() == serde_json::error::Category::Data {
        let found = match bytes.trim_ascii_start().first() {
            Some(b'[') => JsonFound::Array,
            Some(b'"') => JsonFound::String,
            Some(b't' | b'f') => JsonFound::Boolean,
            Some(b'n') => JsonFound::Null,
            _ => JsonFound::Number,
        };
        return RejectCode::JsonlNotObject { found };
    }
    let msg = e.to_string();
    let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
    RejectCode::JsonlInvalid {
        message: msg.to_string(),
        column: e.column(),
    }
}

/// The text of a JSON value: a string as it is, null as "", a number or boolean as its JSON text,
/// an object or array as compact JSON (key order and number digits kept).
fn text_of(raw: &str) -> Result<String, serde_json::Error> {
    Ok(match raw.as_bytes().first() {
        Some(b'"') if !raw.contains('\\') => raw[1..raw.len() - 1].to_owned(),
        Some(b'"') => serde_json::from_str::<String>(raw)?,
        Some(b'n') => String::new(),
        Some(b'{' | b'[') => compact(raw),
        _ => raw.to_owned(),
    })
}

/// Valid JSON without the whitespace outside strings.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// Deserializes one JSON object straight into `values`.
struct RowSeed<'a> {
    keys: &'a mut Keys,
    learn: bool,
    values: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let slot = match self.keys.index.get(key.as_ref()) {
                Some(&i) => Some(i),
                None if self.learn => {
                    let i = self.keys.columns.len();
                    self.keys.columns.push(key.to_string());
                    self.keys.index.insert(key.into_owned(), i);
                    Some(i)
                }
                None => None,
            };
            match slot {
                Some(i) => {
                    let raw: &'de RawValue = map.next_value()?;
                    if self.values.len() <= i {
                        self.values.resize(i + 1, String::new());
                    }
                    self.values[i] = text_of(raw.get()).map_err(de::Error::custom)?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// An object key, borrowed from the line unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: &str, keys: &mut Keys) -> Result<Vec<String>, String> {
        parse_object(line.as_bytes(), keys, true).map_err(|e| e.to_string())
    }

    #[test]
    fn values_become_text() {
        let mut k = Keys::default();
        let v = row(
            r#"{"s":"a\"b","n":12345678901234567890123,"f":1.50,"b":true,"z":null,"o":{"y": [1, "a b"], "x":2}}"#,
            &mut k,
        )
        .unwrap();
        assert_eq!(k.columns, ["s", "n", "f", "b", "z", "o"]);
        assert_eq!(
            v,
            [
                "a\"b",
                "12345678901234567890123",
                "1.50",
                "true",
                "",
                r#"{"y":[1,"a b"],"x":2}"#
            ]
        );
    }

    #[test]
    fn a_bad_line_teaches_no_columns_and_says_why() {
        let mut k = Keys::default();
        let e = row(r#"{"email":"a@x.io", "oops"#, &mut k).unwrap_err();
        assert!(e.starts_with("the line is not valid JSON: "), "{e}");
        assert!(k.columns.is_empty() && k.index.is_empty());
        let e = row("[1,2]", &mut k).unwrap_err();
        assert!(e.contains("an array, not a JSON object"), "{e}");
        let e = row(r#"{"a":1} x"#, &mut k).unwrap_err();
        assert!(e.contains("trailing characters"), "{e}");
        let e = parse_object(b"{\"a\":\"\xe9\"}", &mut k, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not UTF-8"), "{e}");
    }

    #[test]
    fn without_learning_unknown_keys_are_skipped() {
        let mut k = Keys::default();
        row(r#"{"a":1}"#, &mut k).unwrap();
        let v = parse_object(br#"{"b":{"deep":[1]},"a":2}"#, &mut k, false).unwrap();
        assert_eq!(v, ["2"]);
        assert_eq!(k.columns, ["a"]);
    }
}
