//! [`RejectCode`]: why a row is not sent, as a stable code and its parameters, and the one place
//! the English reject reasons are written (its `Display`).
//!
//! Every reason a run, the mapping preview or a source reader gives for a row is one of these;
//! the rejects table, the CSV of rejects and the UI show its text, the UI can match its code.

use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// Why a row is rejected. One variant per code; the JSON form is `{"code": …, "params": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "code", content = "params", rename_all_fields = "camelCase")]
#[ts(export)]
pub enum RejectCode {
    // ---- the mapping
    #[serde(rename = "email.missing")]
    EmailMissing,
    /// `value`: the email as written (at most 60 characters, then `…`).
    #[serde(rename = "email.invalid")]
    EmailInvalid { value: String, why: EmailProblem },
    /// `country`: the mapping's default country, if it has one.
    #[serde(rename = "phone.invalid")]
    PhoneInvalid {
        value: String,
        why: PhoneProblem,
        country: Option<String>,
    },
    /// A national number and no default country to read it with.
    #[serde(rename = "phone.no_country")]
    PhoneNoCountry { value: String },
    /// A latitude or longitude that is not a number within ±`max`.
    #[serde(rename = "location.invalid")]
    LocationInvalid { axis: Axis, value: String, max: u16 },
    /// The serialized profile is over Klaviyo's limit (sizes in KB, rounded up).
    #[serde(rename = "profile.too_large")]
    ProfileTooLarge {
        #[ts(type = "number")]
        kb: usize,
        #[ts(type = "number")]
        max_kb: usize,
    },
    /// A bug: the profile built is not JSON.
    #[serde(rename = "profile.internal")]
    ProfileInternal { reason: String },

    // ---- the source readers
    /// A CSV quote opened on `line` and never closed before `end`.
    #[serde(rename = "csv.unclosed_quote")]
    CsvUnclosedQuote {
        #[ts(type = "number")]
        line: u64,
        #[ts(type = "number")]
        end: u64,
    },
    /// `delimiter`: the file's delimiter character.
    #[serde(rename = "csv.too_many_fields")]
    CsvTooManyFields {
        #[ts(type = "number")]
        have: usize,
        #[ts(type = "number")]
        width: usize,
        delimiter: String,
    },
    #[serde(rename = "csv.not_utf8")]
    CsvNotUtf8 { column: String },
    #[serde(rename = "jsonl.too_long")]
    JsonlTooLong {
        #[ts(type = "number")]
        max_mb: usize,
    },
    #[serde(rename = "jsonl.not_utf8")]
    JsonlNotUtf8,
    #[serde(rename = "jsonl.not_object")]
    JsonlNotObject { found: JsonFound },
    /// `message`: what the JSON parser said; `column`: where (1-based).
    #[serde(rename = "jsonl.invalid_json")]
    JsonlInvalid {
        message: String,
        #[ts(type = "number")]
        column: usize,
    },
    #[serde(rename = "sqlite.not_utf8")]
    SqliteNotUtf8 { column: String },

    // ---- the run
    /// Only the first row with an email (or phone number) is sent; `value` is `None` where only
    /// its hash is known (an unchanged row's phone).
    #[serde(rename = "row.duplicate")]
    Duplicate {
        what: DuplicateOf,
        value: Option<String>,
        #[ts(type = "number")]
        first_line: u64,
    },
    /// Klaviyo refused the row in a bulk import request (`detail`: what it said).
    #[serde(rename = "klaviyo.refused")]
    KlaviyoRefused { detail: String },
    /// Klaviyo accepted the request but failed the row while processing the job.
    #[serde(rename = "klaviyo.failed")]
    KlaviyoFailed { detail: String },

    /// A reject read back from the store, which keeps only the reason's text.
    #[serde(rename = "reject.recorded")]
    Recorded { reason: String },
}

/// Why an email is not an address Klaviyo accepts (see `mapping::validate_email`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum EmailProblem {
    TooLong,
    Space,
    NoAt,
    TwoAts,
    NothingBeforeAt,
    LocalTooLong,
    LocalDots,
    LocalCharacter,
    NothingAfterAt,
    DomainTooLong,
    DomainDots,
    LabelTooLong,
    DomainCharacter,
    LabelHyphen,
    DomainNoDot,
    DomainNumeric,
    TldTooShort,
}

/// Why a phone number cannot be normalised to E.164 (see `mapping::normalize_phone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PhoneProblem {
    TooLong,
    Characters,
    NoCountry,
    NotANumber,
    NotValid,
}

/// Which of a profile's location coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Axis {
    Latitude,
    Longitude,
}

/// What a JSON Lines line holds instead of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum JsonFound {
    Array,
    String,
    Boolean,
    Null,
    Number,
}

/// What an earlier row already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DuplicateOf {
    Email,
    Phone,
}

impl RejectCode {
    /// The stable code, as in the JSON form.
    pub fn code(&self) -> &'static str {
        match self {
            RejectCode::EmailMissing => "email.missing",
            RejectCode::EmailInvalid { .. } => "email.invalid",
            RejectCode::PhoneInvalid { .. } => "phone.invalid",
            RejectCode::PhoneNoCountry { .. } => "phone.no_country",
            RejectCode::LocationInvalid { .. } => "location.invalid",
            RejectCode::ProfileTooLarge { .. } => "profile.too_large",
            RejectCode::ProfileInternal { .. } => "profile.internal",
            RejectCode::CsvUnclosedQuote { .. } => "csv.unclosed_quote",
            RejectCode::CsvTooManyFields { .. } => "csv.too_many_fields",
            RejectCode::CsvNotUtf8 { .. } => "csv.not_utf8",
            RejectCode::JsonlTooLong { .. } => "jsonl.too_long",
            RejectCode::JsonlNotUtf8 => "jsonl.not_utf8",
            RejectCode::JsonlNotObject { .. } => "jsonl.not_object",
            RejectCode::JsonlInvalid { .. } => "jsonl.invalid_json",
            RejectCode::SqliteNotUtf8 { .. } => "sqlite.not_utf8",
            RejectCode::Duplicate { .. } => "row.duplicate",
            RejectCode::KlaviyoRefused { .. } => "klaviyo.refused",
            RejectCode::KlaviyoFailed { .. } => "klaviyo.failed",
            RejectCode::Recorded { .. } => "reject.recorded",
        }
    }

    /// A phone number that failed `why`: [`RejectCode::PhoneNoCountry`] when it lacked only a
    /// country, else [`RejectCode::PhoneInvalid`].
    pub fn phone(value: String, why: PhoneProblem, country: Option<String>) -> RejectCode {
        match why {
            PhoneProblem::NoCountry => RejectCode::PhoneNoCountry { value },
            why => RejectCode::PhoneInvalid {
                value,
                why,
                country,
            },
        }
    }
}

impl fmt::Display for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectCode::EmailMissing => f.write_str("email is empty"),
            RejectCode::EmailInvalid { value, why } => {
                write!(f, "email \"{value}\" is not a valid address: {why}")
            }
            RejectCode::PhoneInvalid {
                value,
                why,
                country,
            } => {
                write!(f, "phone number \"{value}\" {why}")?;
                match country {
                    Some(c) => write!(f, " (default country {c})"),
                    None => Ok(()),
                }
            }
            RejectCode::PhoneNoCountry { value } => write!(
                f,
                "phone number \"{value}\" {}",
                PhoneProblem::NoCountry
            ),
            RejectCode::LocationInvalid { axis, value, max } => {
                write!(f, "{axis} \"{value}\" is not a number between -{max} and {max}")
            }
            RejectCode::ProfileTooLarge { kb, max_kb } => write!(
                f,
                "profile is {kb} KB serialized; Klaviyo accepts at most {max_kb} KB per profile"
            ),
            RejectCode::ProfileInternal { reason } => {
                write!(f, "internal error: the profile is not valid JSON ({reason})")
            }
            RejectCode::CsvUnclosedQuote { line, end } => write!(
                f,
                "a double quote (\") opens a value on line {line} that is never closed, so lines {line}–{end} were read as one value and not exported: fix the quotes on line {line} and save the file again"
            ),
            RejectCode::CsvTooManyFields {
                have,
                width,
                delimiter,
            } => {
                let name = match delimiter.as_str() {
                    "\t" => "tab".to_string(),
                    d => format!("'{d}'"),
                };
                write!(
                    f,
                    "the line has {have} fields but the header has {width} columns: a value that contains the delimiter ({name}) must be in double quotes"
                )
            }
            RejectCode::CsvNotUtf8 { column } => write!(
                f,
                "the value of \"{column}\" is not UTF-8 text: save the file as CSV UTF-8"
            ),
            RejectCode::JsonlTooLong { max_mb } => write!(
                f,
                "the line is longer than {max_mb} MB: each line must hold one JSON object"
            ),
            RejectCode::JsonlNotUtf8 => {
                f.write_str("the line is not UTF-8 text: save the file as UTF-8")
            }
            RejectCode::JsonlNotObject { found } => write!(
                f,
                "the line is {found}, not a JSON object: each line must hold one object, like {{\"email\": \"ada@example.com\"}}"
            ),
            RejectCode::JsonlInvalid { message, column } => {
                write!(f, "the line is not valid JSON: {message} (column {column})")
            }
            RejectCode::SqliteNotUtf8 { column } => write!(
                f,
                "the value of \"{column}\" is stored as text that is not UTF-8"
            ),
            RejectCode::Duplicate {
                what,
                value,
                first_line,
            } => {
                write!(f, "duplicate of line {first_line}: the same {what}")?;
                if let Some(v) = value {
                    write!(f, " ({v})")?;
                }
                write!(
                    f,
                    " is on line {first_line}, and only the first row with it is sent"
                )
            }
            RejectCode::KlaviyoRefused { detail } => write!(f, "Klaviyo refused it: {detail}"),
            RejectCode::KlaviyoFailed { detail } => {
                write!(f, "Klaviyo failed it in processing: {detail}")
            }
            RejectCode::Recorded { reason } => f.write_str(reason),
        }
    }
}

impl fmt::Display for EmailProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EmailProblem::TooLong => "it is longer than 254 characters",
            EmailProblem::Space => "it contains a space",
            EmailProblem::NoAt => "it has no @",
            EmailProblem::TwoAts => "it has more than one @",
            EmailProblem::NothingBeforeAt => "nothing comes before the @",
            EmailProblem::LocalTooLong => "the part before the @ is longer than 64 characters",
            EmailProblem::LocalDots => {
                "the part before the @ starts or ends with a dot, or has two in a row"
            }
            EmailProblem::LocalCharacter => {
                "the part before the @ contains a character addresses cannot have"
            }
            EmailProblem::NothingAfterAt => "nothing comes after the @",
            EmailProblem::DomainTooLong => "the domain is longer than 253 characters",
            EmailProblem::DomainDots => "the domain starts or ends with a dot, or has two in a row",
            EmailProblem::LabelTooLong => "a part of the domain is longer than 63 characters",
            EmailProblem::DomainCharacter => "the domain contains a character domains cannot have",
            EmailProblem::LabelHyphen => "a part of the domain starts or ends with a hyphen",
            EmailProblem::DomainNoDot => "the domain has no dot (e.g. example.com)",
            EmailProblem::DomainNumeric => "the domain is a number, not a name",
            EmailProblem::TldTooShort => "the domain's last part is too short",
        })
    }
}

/// Phrased to follow `phone number "…"`.
impl fmt::Display for PhoneProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PhoneProblem::TooLong => "is too long to be a phone number",
            PhoneProblem::Characters => "contains characters that are not part of a phone number",
            PhoneProblem::NoCountry => {
                "has no country code (+…) and the mapping has no default country"
            }
            PhoneProblem::NotANumber => "is not a phone number",
            PhoneProblem::NotValid => "is not a valid phone number",
        })
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Axis::Latitude => "latitude",
            Axis::Longitude => "longitude",
        })
    }
}

impl fmt::Display for JsonFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonFound::Array => "an array",
            JsonFound::String => "a string",
            JsonFound::Boolean => "true or false",
            JsonFound::Null => "null",
            JsonFound::Number => "a number",
        })
    }
}

impl fmt::Display for DuplicateOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DuplicateOf::Email => "email",
            DuplicateOf::Phone => "phone number",
        })
    }
}
