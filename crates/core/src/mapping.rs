//! Profile mapping: one source row → one Klaviyo profile resource, serialized exactly as it is
//! sent (`{"type":"profile","attributes":{…}}`), or the reason the row is rejected.
//!
//! A [`Mapper`] is a [`Mapping`] resolved against a source's columns (column names → indices,
//! property names pre-escaped, default country parsed), so mapping a row does no look-ups and
//! allocates only its outputs: the email as sent and the JSON.
//!
//! Rules (the decisions behind them are in the comments of each helper):
//! - Values are trimmed; an empty value is omitted. The JSON never holds `""` nor `null`
//!   (Klaviyo would wipe the field), and an empty `location` or `properties` object is omitted.
//! - `email` is required. It is sent lower-cased (Klaviyo matches emails case-insensitively, so
//!   `Ada@Example.com` and `ada@example.com` are one profile, one identifier, one content hash)
//!   and must pass [`validate_email`].
//! - `phone_number` is normalised to E.164 with `phonenumber` (libphonenumber's metadata), using
//!   `Mapping::default_country` for numbers written without a country code. A phone that is not
//!   a valid number rejects the row (default) or, with `invalid_phone = "omit"`, is left out and
//!   the row kept with a [`Mapped::warning`].
//! - `latitude` / `longitude` are sent as JSON numbers and must lie in ±90 / ±180; anything else
//!   rejects the row. Every other standard attribute is sent as a string as written.
//! - Custom properties: see [`ColumnTypeHint`] for how values become numbers, booleans or strings.
//! - A profile over 100 KB serialized is rejected ([`MAX_PROFILE_BYTES`]).
//! - [`Mapped::hash`] is XXH3-64 of the JSON: same input → same hash on every run and platform;
//!   any change to what is sent → a different hash (delta exports).

use crate::error::{Axis, EmailProblem, PhoneProblem, RejectCode};
pub use crate::model::InvalidPhone;
use crate::model::Mapping;
use crate::value::Kind;
use phonenumber::country::Id as CountryId;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Klaviyo's limit for one serialized profile.
pub const MAX_PROFILE_BYTES: usize = segport_klaviyo::MAX_PROFILE_BYTES;
/// How many profiles [`preview`] returns.
pub const PREVIEW_PROFILES: usize = 5;
/// How many leading rows [`Mapper::from_sample`] and [`preview`] infer property types from.
pub const TYPE_SAMPLE_ROWS: usize = 1000;
/// Longest value quoted in a reject reason (in characters).
const SHOWN_CHARS: usize = 60;
/// Longest text tried as a phone number (libphonenumber itself stops at 250).
const MAX_PHONE_CHARS: usize = 40;

/// A mapping that cannot be resolved against a source. Its English text is written in
/// [`crate::error::ErrorCode`]'s module; it reaches the UI as the parameters of
/// `export.mapping_invalid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, ts_rs::TS)]
#[serde(
    tag = "problem",
    content = "detail",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[ts(export)]
pub enum MappingError {
    NoEmailColumn,
    UnknownColumn {
        /// The Klaviyo attribute, e.g. `phone_number` or `properties.plan`.
        field: String,
        column: String,
        /// The source's columns, quoted and comma-separated.
        available: String,
    },
    /// The default country as written.
    UnknownCountry(String),
    EmptyPropertyName {
        column: String,
    },
    TypeCount {
        #[ts(type = "number")]
        types: usize,
        #[ts(type = "number")]
        columns: usize,
    },
}

/// A row that cannot be sent, and why. `identifier` is the row's email as written (trimmed);
/// `reason` is the text of `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    pub identifier: String,
    pub code: RejectCode,
    pub reason: String,
}

impl Reject {
    pub fn new(identifier: impl Into<String>, code: RejectCode) -> Reject {
        Reject {
            identifier: identifier.into(),
            reason: code.to_string(),
            code,
        }
    }
}

/// One profile ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The email exactly as sent (trimmed, lower-cased): the profile's identifier.
    pub email: String,
    /// `{"type":"profile","attributes":{…}}`, at most [`MAX_PROFILE_BYTES`] long.
    pub json: String,
    /// XXH3-64 of `json`: stable across runs, versions of this crate that send the same JSON,
    /// and platforms.
    pub hash: u64,
    /// Something was left out of a row that is still sent (only with `invalid_phone = "omit"`).
    pub warning: Option<String>,
    /// The phone number exactly as sent (E.164), if any: with the email, what makes two rows
    /// the same profile.
    pub phone: Option<String>,
}

/// What a column holds, for custom properties. Numbers, dates and booleans are those of
/// [`crate::value`], the grammar the Sources screen and the segment filter read them by too.
///
/// - `Integer` / `Decimal`: a value that is a number (`-12`, `0.5`; no `+`, no leading zeros as
///   in `007`, no exponent, no thousands separators, at most 15 digits so it survives a round
///   trip through a double) is sent as a JSON number, copied as written; any other value in the
///   column is sent as a string (the sample did not see it).
/// - `Boolean`: `true`/`false`/`yes`/`no` (any case) are sent as JSON booleans; anything else
///   as a string. `0`/`1` are integers, never booleans.
/// - `Text` and `Date` (`YYYY-MM-DD`, `DD.MM.YYYY`, unambiguous `DD/MM/YYYY`, optionally with a
///   time): always strings, as written. Klaviyo recognises ISO dates in strings by itself.
///
/// Without hints (`types: None`) every property column behaves as `Integer`/`Decimal` do —
/// numbers where a value is a plain number, strings otherwise — and never as `Boolean`: a column
/// becomes boolean only when every sampled value is boolean-like ([`infer_types`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnTypeHint {
    Text,
    Integer,
    Decimal,
    Boolean,
    Date,
}

/// A row's values, aligned with the columns the [`Mapper`] was resolved against. A missing value
/// (a short row) counts as empty.
pub trait Values {
    fn value(&self, i: usize) -> Option<&str>;
}

impl<S: AsRef<str>> Values for [S] {
    fn value(&self, i: usize) -> Option<&str> {
        self.get(i).map(AsRef::as_ref)
    }
}

impl<S: AsRef<str>> Values for Vec<S> {
    fn value(&self, i: usize) -> Option<&str> {
        self.get(i).map(AsRef::as_ref)
    }
}

impl<S: AsRef<str>, const N: usize> Values for [S; N] {
    fn value(&self, i: usize) -> Option<&str> {
        self.get(i).map(AsRef::as_ref)
    }
}

impl Values for csv::StringRecord {
    fn value(&self, i: usize) -> Option<&str> {
        self.get(i)
    }
}

/// How a property value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PropKind {
    /// Number where the value is a plain number, else string.
    Number,
    Boolean,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LocKind {
    Text,
    Latitude,
    Longitude,
}

#[derive(Debug, Clone)]
struct Prop {
    /// `,"name":` — pre-escaped.
    key: String,
    col: usize,
    kind: PropKind,
}

/// A [`Mapping`] resolved against a source's columns. Cheap to share across threads (`Sync`).
#[derive(Debug, Clone)]
pub struct Mapper {
    email: usize,
    phone: Option<usize>,
    country: Option<CountryId>,
    invalid_phone: InvalidPhone,
    /// Top-level string attributes after `phone_number`: (`,"key":`, column).
    strings: Vec<(&'static str, usize)>,
    /// `location` members in Klaviyo's order: (`"key":`, column, kind).
    location: Vec<(&'static str, usize, LocKind)>,
    properties: Vec<Prop>,
    /// A guess of the JSON's length beyond the values, for one allocation per row.
    overhead: usize,
    /// Every column the mapping reads (see [`Mapper::input_key`]).
    used: Vec<usize>,
    /// Hash of the mapping and the column types: a change to either changes every input key.
    fingerprint: u64,
}

impl Mapper {
    /// Resolve `m` against `columns` (a source's header). `types`, when given, is aligned with
    /// `columns` (see [`ColumnTypeHint`]; [`infer_types`] makes it from sample rows).
    /// An optional attribute mapped to `""` counts as not mapped.
    pub fn new(
        m: &Mapping,
        columns: &[String],
        types: Option<&[ColumnTypeHint]>,
    ) -> Result<Mapper, MappingError> {
        if let Some(t) = types {
            if t.len() != columns.len() {
                return Err(MappingError::TypeCount {
                    types: t.len(),
                    columns: columns.len(),
                });
            }
        }
        let find = |field: &str, column: &str| -> Result<usize, MappingError> {
            columns
                .iter()
                .position(|c| c == column)
                .ok_or_else(|| MappingError::UnknownColumn {
                    field: field.to_string(),
                    column: column.to_string(),
                    available: available(columns),
                })
        };
        let opt = |field: &str, column: &Option<String>| -> Result<Option<usize>, MappingError> {
            match column.as_deref() {
                None | Some("") => Ok(None),
                Some(c) => find(field, c).map(Some),
            }
        };
        if m.email.is_empty() {
            return Err(MappingError::NoEmailColumn);
        }
        let email = find("email", &m.email)?;
        let phone = opt("phone_number", &m.phone_number)?;
        let country = match m.default_country.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(
                c.to_ascii_uppercase()
                    .parse::<CountryId>()
                    .ok()
                    .filter(|_| c.len() == 2)
                    .ok_or_else(|| MappingError::UnknownCountry(c.to_string()))?,
            ),
        };

        let mut strings = vec![];
        for (key, field, column) in [
            (",\"external_id\":", "external_id", &m.external_id),
            (",\"first_name\":", "first_name", &m.first_name),
            (",\"last_name\":", "last_name", &m.last_name),
            (",\"organization\":", "organization", &m.organization),
            (",\"title\":", "title", &m.title),
            (",\"locale\":", "locale", &m.locale),
            (",\"image\":", "image", &m.image),
        ] {
            if let Some(i) = opt(field, column)? {
                strings.push((key, i));
            }
        }
        let mut location = vec![];
        for (key, field, column, kind) in [
            ("\"address1\":", "address1", &m.address1, LocKind::Text),
            ("\"address2\":", "address2", &m.address2, LocKind::Text),
            ("\"city\":", "city", &m.city, LocKind::Text),
            ("\"country\":", "country", &m.country, LocKind::Text),
            ("\"region\":", "region", &m.region, LocKind::Text),
            ("\"zip\":", "zip", &m.zip, LocKind::Text),
            ("\"timezone\":", "timezone", &m.timezone, LocKind::Text),
            ("\"latitude\":", "latitude", &m.latitude, LocKind::Latitude),
            (
                "\"longitude\":",
                "longitude",
                &m.longitude,
                LocKind::Longitude,
            ),
            ("\"ip\":", "ip", &m.ip, LocKind::Text),
        ] {
            if let Some(i) = opt(&format!("location.{field}"), column)? {
                location.push((key, i, kind));
            }
        }
        let mut properties = Vec::with_capacity(m.properties.len());
        for (name, column) in &m.properties {
            if name.trim().is_empty() {
                return Err(MappingError::EmptyPropertyName {
                    column: column.clone(),
                });
            }
            let col = find(&format!("properties.{name}"), column)?;
            let kind = match types.map(|t| t[col]) {
                None | Some(ColumnTypeHint::Integer | ColumnTypeHint::Decimal) => PropKind::Number,
                Some(ColumnTypeHint::Boolean) => PropKind::Boolean,
                Some(ColumnTypeHint::Text | ColumnTypeHint::Date) => PropKind::Text,
            };
            let mut key = String::with_capacity(name.len() + 4);
            key.push(',');
            push_json_str(&mut key, name);
            key.push(':');
            properties.push(Prop { key, col, kind });
        }
        let overhead = PREFIX.len()
            + 16
            + if phone.is_some() { 20 } else { 0 }
            + strings.iter().map(|(k, _)| k.len() + 2).sum::<usize>()
            + location.iter().map(|(k, _, _)| k.len() + 3).sum::<usize>()
            + properties.iter().map(|p| p.key.len() + 2).sum::<usize>()
            + 30;
        let mut used: Vec<usize> = std::iter::once(email)
            .chain(phone)
            .chain(strings.iter().map(|s| s.1))
            .chain(location.iter().map(|l| l.1))
            .chain(properties.iter().map(|p| p.col))
            .collect();
        used.sort_unstable();
        used.dedup();
        let fingerprint = xxhash_rust::xxh3::xxh3_64(
            serde_json::json!({ "v": 1, "mapping": m, "types": types, "columns": columns })
                .to_string()
                .as_bytes(),
        );
        Ok(Mapper {
            email,
            phone,
            country,
            invalid_phone: m.invalid_phone,
            strings,
            location,
            properties,
            overhead,
            used,
            fingerprint,
        })
    }

    /// The row's identifier (its email, trimmed and lower-cased, as [`Mapper::map`] sends it)
    /// and a hash of every value the mapping reads, under this mapping and these column types.
    /// Cheap (no validation, no phone parsing): equal keys mean `map` would send the same
    /// profile, so a delta export can skip the row without mapping it.
    pub fn input_key<V: Values + ?Sized>(&self, values: &V) -> (String, u64) {
        let get = |i: usize| values.value(i).map(str::trim).unwrap_or("");
        let raw_email = get(self.email);
        let email = if raw_email.is_ascii() {
            raw_email.to_ascii_lowercase()
        } else {
            raw_email.to_lowercase()
        };
        let mut h = xxhash_rust::xxh3::Xxh3::with_seed(self.fingerprint);
        for &i in &self.used {
            h.update(get(i).as_bytes());
            h.update(&[0x1f]);
        }
        (email, h.digest())
    }

    /// Resolve `m` with property types inferred from (up to [`TYPE_SAMPLE_ROWS`] of) `sample`,
    /// which should be the source's first rows, before any segment filter — so that a run and
    /// its [`preview`] agree, and a segment change does not change the types.
    pub fn from_sample<R: AsRef<[String]>>(
        m: &Mapping,
        columns: &[String],
        sample: &[R],
    ) -> Result<Mapper, MappingError> {
        let types = infer_types(columns, sample);
        Mapper::new(m, columns, Some(&types))
    }

    /// Map one row (values aligned with the columns) to the profile as it will be sent.
    pub fn map<V: Values + ?Sized>(&self, values: &V) -> Result<Mapped, Reject> {
        let get = |i: usize| values.value(i).map(str::trim).unwrap_or("");
        let raw_email = get(self.email);
        let reject = |code: RejectCode| Reject::new(raw_email, code);
        if raw_email.is_empty() {
            return Err(reject(RejectCode::EmailMissing));
        }
        let email = if raw_email.is_ascii() {
            raw_email.to_ascii_lowercase()
        } else {
            raw_email.to_lowercase()
        };
        if let Err(why) = validate_email(&email) {
            return Err(reject(RejectCode::EmailInvalid {
                value: shown(raw_email),
                why,
            }));
        }

        let mut warning = None;
        let phone = match self.phone.map(get).filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => match normalize_phone(p, self.country) {
                Ok(e164) => Some(e164),
                Err(why) => {
                    let reason = RejectCode::phone(
                        shown(p),
                        why,
                        self.country.map(|c| c.as_ref().to_string()),
                    );
                    match self.invalid_phone {
                        InvalidPhone::Reject => return Err(reject(reason)),
                        InvalidPhone::Omit => {
                            warning = Some(format!("{reason}: sent without a phone number"));
                            None
                        }
                    }
                }
            },
        };

        let mut len = self.overhead + email.len() + phone.as_ref().map_or(0, String::len);
        for (_, i) in &self.strings {
            len += get(*i).len();
        }
        for (_, i, _) in &self.location {
            len += get(*i).len();
        }
        for p in &self.properties {
            len += get(p.col).len();
        }
        let mut json = String::with_capacity(len);
        json.push_str(PREFIX);
        push_json_str(&mut json, &email);
        if let Some(p) = &phone {
            json.push_str(",\"phone_number\":");
            push_json_str(&mut json, p);
        }
        for (key, i) in &self.strings {
            let v = get(*i);
            if !v.is_empty() {
                json.push_str(key);
                push_json_str(&mut json, v);
            }
        }
        let mut open = false;
        for (key, i, kind) in &self.location {
            let v = get(*i);
            if v.is_empty() {
                continue;
            }
            json.push_str(if open { "," } else { ",\"location\":{" });
            open = true;
            json.push_str(key);
            match kind {
                LocKind::Text => push_json_str(&mut json, v),
                LocKind::Latitude | LocKind::Longitude => {
                    let (axis, max) = if *kind == LocKind::Latitude {
                        (Axis::Latitude, 90u16)
                    } else {
                        (Axis::Longitude, 180)
                    };
                    match v.parse::<f64>() {
                        Ok(x) if x.is_finite() && x.abs() <= f64::from(max) => {
                            // Display never uses an exponent and round-trips: valid JSON.
                            let _ = write!(json, "{x}");
                        }
                        _ => {
                            return Err(reject(RejectCode::LocationInvalid {
                                axis,
                                value: shown(v),
                                max,
                            }))
                        }
                    }
                }
            }
        }
        if open {
            json.push('}');
        }
        open = false;
        for p in &self.properties {
            let v = get(p.col);
            if v.is_empty() {
                continue;
            }
            if open {
                json.push_str(&p.key);
            } else {
                json.push_str(",\"properties\":{");
                json.push_str(&p.key[1..]);
                open = true;
            }
            match p.kind {
                PropKind::Number if crate::value::is_number(v) => json.push_str(v),
                PropKind::Boolean => match crate::value::parse_bool(v) {
                    Some(true) => json.push_str("true"),
                    Some(false) => json.push_str("false"),
                    None => push_json_str(&mut json, v),
                },
                PropKind::Number | PropKind::Text => push_json_str(&mut json, v),
            }
        }
        if open {
            json.push('}');
        }
        json.push_str("}}");

        if json.len() > MAX_PROFILE_BYTES {
            return Err(reject(RejectCode::ProfileTooLarge {
                kb: json.len().div_ceil(1024),
                max_kb: MAX_PROFILE_BYTES / 1024,
            }));
        }
        let hash = xxhash_rust::xxh3::xxh3_64(json.as_bytes());
        Ok(Mapped {
            email,
            phone,
            json,
            hash,
            warning,
        })
    }
}

const PREFIX: &str = "{\"type\":\"profile\",\"attributes\":{\"email\":";

fn available(columns: &[String]) -> String {
    if columns.is_empty() {
        "(none)".to_string()
    } else {
        columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A value for a reject reason: at most [`SHOWN_CHARS`] characters.
fn shown(v: &str) -> String {
    match v.char_indices().nth(SHOWN_CHARS) {
        None => v.to_string(),
        Some((i, _)) => format!("{}…", &v[..i]),
    }
}

/// The first [`PREVIEW_PROFILES`] profiles exactly as a run sends them, property types inferred
/// from `rows` as [`Mapper::from_sample`] does — so pass the source's first
/// [`TYPE_SAMPLE_ROWS`] rows (or all of them, if fewer) to see what a run will send.
pub fn preview<R: AsRef<[String]>>(
    m: &Mapping,
    columns: &[String],
    rows: &[R],
) -> Result<Vec<Result<serde_json::Value, Reject>>, MappingError> {
    let mapper = Mapper::from_sample(m, columns, rows)?;
    Ok(rows
        .iter()
        .take(PREVIEW_PROFILES)
        .map(|r| {
            let mapped = mapper.map(r.as_ref())?;
            serde_json::from_str(&mapped.json).map_err(|e| {
                Reject::new(
                    mapped.email.clone(),
                    RejectCode::ProfileInternal {
                        reason: e.to_string(),
                    },
                )
            })
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Property types

/// Accumulates what every non-empty value of each column could be. Feed it rows, then
/// [`TypeSampler::finish`].
#[derive(Debug, Clone)]
pub struct TypeSampler {
    cols: Vec<ColState>,
}

#[derive(Debug, Clone, Copy)]
struct ColState {
    seen: bool,
    integer: bool,
    number: bool,
    boolean: bool,
    date: bool,
}

impl TypeSampler {
    pub fn new(columns: usize) -> Self {
        TypeSampler {
            cols: vec![
                ColState {
                    seen: false,
                    integer: true,
                    number: true,
                    boolean: true,
                    date: true,
                };
                columns
            ],
        }
    }

    pub fn observe<V: Values + ?Sized>(&mut self, values: &V) {
        for (i, c) in self.cols.iter_mut().enumerate() {
            let v = values.value(i).map(str::trim).unwrap_or("");
            if v.is_empty() {
                continue;
            }
            c.seen = true;
            let kind = crate::value::kind(v);
            c.integer = c.integer && kind == Kind::Integer;
            c.number = c.number && matches!(kind, Kind::Integer | Kind::Decimal);
            c.boolean = c.boolean && kind == Kind::Boolean;
            c.date = c.date && kind == Kind::Date;
        }
    }

    /// One hint per column; a column with no non-empty value is `Text`.
    pub fn finish(&self) -> Vec<ColumnTypeHint> {
        self.cols
            .iter()
            .map(|c| match c {
                ColState { seen: false, .. } => ColumnTypeHint::Text,
                ColState { integer: true, .. } => ColumnTypeHint::Integer,
                ColState { number: true, .. } => ColumnTypeHint::Decimal,
                ColState { boolean: true, .. } => ColumnTypeHint::Boolean,
                ColState { date: true, .. } => ColumnTypeHint::Date,
                _ => ColumnTypeHint::Text,
            })
            .collect()
    }
}

/// Column types from sample rows (the first [`TYPE_SAMPLE_ROWS`] of `rows`).
pub fn infer_types<R: AsRef<[String]>>(columns: &[String], rows: &[R]) -> Vec<ColumnTypeHint> {
    let mut s = TypeSampler::new(columns.len());
    for r in rows.iter().take(TYPE_SAMPLE_ROWS) {
        s.observe(r.as_ref());
    }
    s.finish()
}

// ---------------------------------------------------------------------------------------------
// Phone numbers

/// E.164 (`+48601234567`) for a phone written in any common way; numbers without a country code
/// are read as numbers of `country`. Without a `country`, a leading `00` is the international
/// prefix (`0048 601 234 567`); with one, that country's international prefix is. Only digits, spaces and `+-().\/` are accepted: letters
/// (vanity numbers, extensions such as `x12`, which E.164 cannot carry) are refused rather than
/// guessed at. Err: why, phrased to follow `phone number "…"`.
pub fn normalize_phone(p: &str, country: Option<CountryId>) -> Result<String, PhoneProblem> {
    if p.chars().count() > MAX_PHONE_CHARS {
        return Err(PhoneProblem::TooLong);
    }
    if !p.chars().all(|c| {
        c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.' | '/' | '\u{a0}')
    }) {
        return Err(PhoneProblem::Characters);
    }
    let international;
    let p = match (p.starts_with('+'), country, p.strip_prefix("00")) {
        // `00` is the international prefix of most of the world (ITU-T recommends it): without a
        // default country to say otherwise, `0048 601 …` is `+48 601 …`.
        (false, None, Some(rest)) => {
            international = format!("+{rest}");
            international.as_str()
        }
        (false, None, None) => return Err(PhoneProblem::NoCountry),
        _ => p,
    };
    let n = phonenumber::parse(country, p).map_err(|_| PhoneProblem::NotANumber)?;
    if !phonenumber::is_valid(&n) {
        return Err(PhoneProblem::NotValid);
    }
    // E.164 is `+`, the country code and the national number (with its leading zeros, as in
    // Italy). Written directly: the crate's formatter also matches national format patterns
    // (regexes) that E.164 does not use, which costs more than parsing does.
    Ok(format!("+{}{}", n.code().value(), n.national()))
}

// ---------------------------------------------------------------------------------------------
// Email

/// `validate_email(s).is_ok()`.
pub fn is_valid_email(s: &str) -> bool {
    validate_email(s).is_ok()
}

/// Is `s` an address Klaviyo accepts? Stricter than RFC 5322 where real mailboxes never go, and
/// never laxer than the `email_address` crate (the sandbox's check; a property test holds this):
/// - `local@domain`, one `@`: no display names (`Ada <ada@x.com>`), no quoted local parts, no
///   domain literals (`[1.2.3.4]`);
/// - local part: 1–64 bytes of dot-separated atoms (no leading, trailing or double dot) of
///   letters, digits and ``!#$%&'*+-/=?^_`{|}~``;
/// - domain: at most 253 bytes, at least two dot-separated labels of 1–63 bytes, letters,
///   digits and inner hyphens; the last label (TLD) is not all digits and, if ASCII, at least two
///   letters long — so `user@localhost` and `user@1.2.3.4` fail;
/// - internationalised addresses (RFC 6531: `zoë@exämple.de`, `用户@例子.公司`) are accepted:
///   non-ASCII letters, digits and combining marks count as letters, but no whitespace (also
///   no-break space), control or invisible characters (zero-width space, BOM, soft hyphen).
///
/// Klaviyo compares addresses case-insensitively; the mapper lower-cases before checking.
pub fn validate_email(s: &str) -> Result<(), EmailProblem> {
    if s.len() > 254 {
        return Err(EmailProblem::TooLong);
    }
    if s.chars().any(|c| c.is_whitespace()) {
        return Err(EmailProblem::Space);
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err(EmailProblem::NoAt);
    };
    if domain.contains('@') {
        return Err(EmailProblem::TwoAts);
    }
    if local.is_empty() {
        return Err(EmailProblem::NothingBeforeAt);
    }
    if local.len() > 64 {
        return Err(EmailProblem::LocalTooLong);
    }
    for atom in local.split('.') {
        if atom.is_empty() {
            return Err(EmailProblem::LocalDots);
        }
        if !atom.chars().all(|c| {
            if c.is_ascii() {
                c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
            } else {
                unicode_letter(c)
            }
        }) {
            return Err(EmailProblem::LocalCharacter);
        }
    }
    if domain.is_empty() {
        return Err(EmailProblem::NothingAfterAt);
    }
    if domain.len() > 253 {
        return Err(EmailProblem::DomainTooLong);
    }
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(EmailProblem::DomainDots);
        }
        if label.len() > 63 {
            return Err(EmailProblem::LabelTooLong);
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && unicode_letter(c)))
        {
            return Err(EmailProblem::DomainCharacter);
        }
        // Both ends: a letter or digit (a hyphen or a lone combining mark is not).
        let ends = [label.chars().next(), label.chars().next_back()];
        if ends.iter().any(|c| !c.is_some_and(char::is_alphanumeric)) {
            return Err(EmailProblem::LabelHyphen);
        }
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return Err(EmailProblem::DomainNoDot);
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EmailProblem::DomainNumeric);
    }
    if last.is_ascii() && last.len() < 2 {
        return Err(EmailProblem::TldTooShort);
    }
    Ok(())
}

/// A non-ASCII character that may appear in an internationalised address.
fn unicode_letter(c: char) -> bool {
    !c.is_whitespace()
        && !c.is_control()
        && !matches!(
            c,
            '\u{ad}' | '\u{200b}' | '\u{2060}' | '\u{feff}' | '\u{fffd}' | '\u{2028}' | '\u{2029}'
        )
        && (c.is_alphanumeric() || is_combining_mark(c))
}

/// Combining marks common in names (the blocks NFD text uses).
fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036f}' | '\u{0483}'..='\u{0489}' | '\u{0591}'..='\u{05bd}'
        | '\u{0610}'..='\u{061a}' | '\u{064b}'..='\u{065f}' | '\u{0900}'..='\u{0903}'
        | '\u{093a}'..='\u{094f}' | '\u{0e31}' | '\u{0e34}'..='\u{0e3a}' | '\u{0e47}'..='\u{0e4e}'
        | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}'
        | '\u{3099}'..='\u{309a}' | '\u{fe20}'..='\u{fe2f}')
}

// ---------------------------------------------------------------------------------------------
// JSON

/// Append `s` as a JSON string, escaped exactly as `serde_json` does (`\"`, `\\`, `\b\f\n\r\t`,
/// other control characters as `\u00XX`; everything else as is).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        // `b` is ASCII, so `i` is a char boundary.
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// Suggestions

/// A mapping pre-filled from a source's headers: email, phone, names, organization and location
/// columns whose header (lower-cased, without spaces, `_`, `-`, `.`) is a common English name
/// for them, e.g. `E-mail`, `Phone number`, `First Name`, `surname`, `Postal code`. No column is
/// used twice; `external_id` and custom properties are never guessed (a wrong external id merges
/// strangers' profiles). `email` is `""` when no header looks like one: the user must choose.
pub fn suggest(columns: &[String]) -> Mapping {
    let norm: Vec<String> = columns
        .iter()
        .map(|h| {
            h.chars()
                .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
                .flat_map(char::to_lowercase)
                .collect()
        })
        .collect();
    let mut used = vec![false; columns.len()];
    let mut pick = |names: &[&str]| -> Option<String> {
        for want in names {
            if let Some(i) = (0..columns.len()).find(|&i| !used[i] && norm[i] == *want) {
                used[i] = true;
                return Some(columns[i].clone());
            }
        }
        None
    };
    let email = pick(&[
        "email",
        "emailaddress",
        "mail",
        "email1",
        "primaryemail",
        "emailaddr",
        "customeremail",
    ]);
    let mut m = Mapping {
        phone_number: pick(&[
            "phonenumber",
            "phone",
            "mobile",
            "mobilephone",
            "mobilenumber",
            "cellphone",
            "cell",
            "telephone",
            "tel",
            "phoneno",
            "smsnumber",
        ]),
        first_name: pick(&["firstname", "first", "givenname", "forename", "fname"]),
        last_name: pick(&["lastname", "last", "surname", "familyname", "lname"]),
        organization: pick(&["organization", "organisation", "company", "companyname"]),
        address1: pick(&[
            "address1",
            "addressline1",
            "address",
            "street",
            "streetaddress",
        ]),
        address2: pick(&["address2", "addressline2"]),
        city: pick(&["city", "town"]),
        region: pick(&["region", "state", "province", "stateprovince", "county"]),
        zip: pick(&["zip", "zipcode", "postalcode", "postcode"]),
        country: pick(&["country", "countryname"]),
        timezone: pick(&["timezone", "tz"]),
        locale: pick(&["locale"]),
        ..Mapping::default()
    };
    m.email = match email {
        Some(e) => e,
        None => (0..columns.len())
            .find(|&i| !used[i] && (norm[i].contains("email")))
            .map(|i| columns[i].clone())
            .unwrap_or_default(),
    };
    m
}

/// A default country is proposed only when it reads at least this share (in percent) of the
/// sampled phone numbers written without a country code: never a default that rejects most rows.
pub const PHONE_COUNTRY_MIN_PERCENT: usize = 90;

/// [`suggest`], with the phone column decided by the source's first rows (up to
/// [`TYPE_SAMPLE_ROWS`] of `rows`), and a hint for the phone field:
/// - every sampled number has a country code (`+…`, or `00…`): the phone column is mapped, with
///   no default country — none is needed;
/// - some are written without one (national format, `601 234 567`): a default country is
///   proposed, the first of these that reads at least [`PHONE_COUNTRY_MIN_PERCENT`]% of them as
///   valid numbers — the most common ISO 3166 alpha-2 code (`PL`) in a country column (the
///   mapping's `country`, else a column whose name contains "country") of the rows with such
///   numbers, then the region of `locale` (the user's locale as in `LANG`, e.g. `pl_PL.UTF-8`;
///   see [`locale_country`]);
/// - none does: the phone column is left unmapped, and the hint says why (numbers without a
///   country code: choose the default country).
///
/// The hint is `None` when there is nothing to say (no phone column, or no default needed).
pub fn suggest_from_rows<R: AsRef<[String]>>(
    columns: &[String],
    rows: &[R],
    locale: Option<&str>,
) -> (Mapping, Option<String>) {
    let mut m = suggest(columns);
    let Some((phone_col, phone_name)) = m.phone_number.as_deref().and_then(|c| {
        columns
            .iter()
            .position(|x| x == c)
            .map(|i| (i, c.to_string()))
    }) else {
        return (m, None);
    };
    let rows: Vec<&[String]> = rows
        .iter()
        .take(TYPE_SAMPLE_ROWS)
        .map(AsRef::as_ref)
        .collect();
    let cell = |r: &[String], i: usize| r.get(i).map_or("", |v| v.trim()).to_string();
    // The rows whose phone is written without a country code, and that number.
    let national: Vec<(usize, String)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (i, cell(r, phone_col)))
        .filter(|(_, p)| needs_country(p))
        .collect();
    if national.is_empty() {
        return (m, None);
    }

    let mut candidates: Vec<(CountryId, String)> = Vec::new();
    if let Some((code, column)) = common_country(columns, &m, &rows, &national) {
        candidates.push((
            code,
            format!("the most common country in the column “{column}”"),
        ));
    }
    if let Some(code) = locale.and_then(locale_country) {
        if let Ok(id) = code.parse::<CountryId>() {
            candidates.push((id, "this computer's region".to_string()));
        }
    }
    let mut tried: Vec<String> = Vec::new();
    let mut seen: Vec<CountryId> = Vec::new();
    for (id, why) in candidates {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let read = national
            .iter()
            .filter(|(_, p)| normalize_phone(p, Some(id)).is_ok())
            .count();
        if read * 100 >= national.len() * PHONE_COUNTRY_MIN_PERCENT {
            let code = id.as_ref().to_string();
            let hint = format!(
                "Numbers without a country code (like “{}”) are read as numbers of {code}, {why}. Change the default country if that is wrong.",
                shown(&national[0].1)
            );
            m.default_country = Some(code);
            return (m, Some(hint));
        }
        tried.push(format!(
            "{}, {why}, reads only {}% of them",
            id.as_ref(),
            read * 100 / national.len()
        ));
    }
    m.phone_number = None;
    let mut hint = format!(
        "Phone not mapped: “{phone_name}” has numbers without a country code (like “{}”) — choose the default country, then the phone column.",
        shown(&national[0].1)
    );
    if !tried.is_empty() {
        hint.push_str(&format!(" ({}.)", tried.join("; ")));
    }
    (m, Some(hint))
}

/// A phone number written without a country code: not `+…` nor `00…`, and only the characters
/// phone numbers are written with (text such as `n/a` is rejected whatever the country).
fn needs_country(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('+')
        && !p.starts_with("00")
        && p.chars().any(|c| c.is_ascii_digit())
        && p.chars().all(|c| {
            c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.' | '/' | '\u{a0}')
        })
}

/// The most common ISO 3166 alpha-2 code among the `national` rows, in the country column with
/// the most codes (the mapping's `country` column first, then any whose name contains
/// "country"), and that column's name. Ties go to the code first in the alphabet.
fn common_country(
    columns: &[String],
    m: &Mapping,
    rows: &[&[String]],
    national: &[(usize, String)],
) -> Option<(CountryId, String)> {
    let mut candidates: Vec<usize> = Vec::new();
    if let Some(i) = m
        .country
        .as_deref()
        .and_then(|c| columns.iter().position(|x| x == c))
    {
        candidates.push(i);
    }
    for (i, name) in columns.iter().enumerate() {
        if name.to_lowercase().contains("country") && !candidates.contains(&i) {
            candidates.push(i);
        }
    }
    let mut best: Option<(usize, CountryId, String)> = None;
    for col in candidates {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for (row, _) in national {
            let v = rows[*row].get(col).map_or("", |v| v.trim());
            if v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphabetic()) {
                let code = v.to_ascii_uppercase();
                if code.parse::<CountryId>().is_ok() {
                    *counts.entry(code).or_default() += 1;
                }
            }
        }
        let total: usize = counts.values().sum();
        // Highest count; among equals the first in the alphabet (BTreeMap order).
        let Some((code, _)) = counts
            .iter()
            .fold(None, |acc: Option<(&String, usize)>, (c, &n)| match acc {
                Some((_, best)) if best >= n => acc,
                _ => Some((c, n)),
            })
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(n, _, _)| total > *n) {
            if let Ok(id) = code.parse::<CountryId>() {
                best = Some((total, id, columns[col].clone()));
            }
        }
    }
    best.map(|(_, id, name)| (id, name))
}

/// The region of a locale name, as an ISO 3166 alpha-2 code: `pl_PL.UTF-8` → `PL`, `en-US` →
/// `US`, `de_DE@euro` → `DE`. `None` for `C`, `POSIX`, a language alone (`pl`) or a region that is
/// not a country with a phone numbering plan.
pub fn locale_country(locale: &str) -> Option<String> {
    let name = locale.split(['.', '@']).next()?.trim();
    let region = name
        .split(['_', '-'])
        .skip(1)
        .find(|part| part.len() == 2 && part.bytes().all(|b| b.is_ascii_alphabetic()))?;
    let code = region.to_ascii_uppercase();
    code.parse::<CountryId>().ok().map(|_| code)
}

/// The user's locale, as the environment names it (`LC_ALL`, `LC_TELEPHONE`, then `LANG`: the
/// first that names a region), for [`suggest_from_rows`]. `None` when none does (as for an app
/// started from the macOS Finder or on Windows, where these are usually unset).
pub fn os_locale() -> Option<String> {
    ["LC_ALL", "LC_TELEPHONE", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| locale_country(v).is_some())
}
