//! Segment filters: a rule tree over a source's columns, its text form, and a compiled matcher.
//!
//! A [`Filter`] is what the UI's rule builder edits and what the store keeps (serde, with a
//! TypeScript twin from ts-rs). Config files hold its text form ([`Filter::parse`],
//! [`Filter::to_text`]); `parse(f.to_text()) == f` for every valid filter. Before rows are read a
//! filter is compiled against the source's columns ([`Filter::compile`]); the resulting
//! [`CompiledFilter::matches`] does no allocation per row.
//!
//! # Text form
//!
//! ```text
//! filter  = or EOF ;
//! or      = and { "or" and } ;                      (* `and` binds tighter than `or` *)
//! and     = unary { "and" unary } ;
//! unary   = "not" unary | primary ;
//! primary = "(" or ")"
//!         | ( "all" | "any" ) "(" [ or { "," or } [ "," ] ] ")"   (* and / or of 0..n rules *)
//!         | rule ;
//! rule    = column ( cmp value
//!                  | [ "not" ] "contains" value
//!                  | [ "not" ] "starts" "with" value
//!                  | [ "not" ] "in" list
//!                  | "is" [ "not" ] "empty" ) ;
//! cmp     = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" ;
//! column  = ident | "`" chars "`" | '"' chars '"' ;    (* quoted: any name, e.g. `first name` *)
//! ident   = ( letter | "_" ) { letter | digit | "_" | "." } ;   (* not `and`, `or`, `not` *)
//! value   = '"' chars '"' | number | date ;              (* text is always double-quoted *)
//! list    = "[" [ value { "," value } [ "," ] ] "]" ;
//! number  = a number of crate::value, written bare: 3, -2.5 ;
//! date    = a date of crate::value without spaces, written bare: 2024-03-01, 01.03.2024,
//!           31/01/2024, 2024-03-01T10:00:00Z ;
//! ```
//! Keywords are case-insensitive (`AND` works); the canonical text is lower case. Escapes in
//! quoted names and text: `\"` `` \` `` `\\` `\n` `\r` `\t` `\u{1F600}`. Nesting is limited to
//! [`MAX_DEPTH`] levels. Errors point at a byte offset and a line:column, with a caret snippet.
//!
//! # Matching rules
//!
//! * Cells are trimmed before every comparison; a missing cell (short row) is the empty text.
//! * Text comparisons ignore case (Unicode lower-casing): `country = "pl"` matches `PL`;
//!   `contains` and `starts with` too. `<`/`>` on text compare the lower-cased texts.
//! * Numbers, dates and booleans are those of [`crate::value`] — the grammar the Sources screen's
//!   column types and the mapper use too — for rule values and cells alike: `.` before the
//!   decimals, no thousands separators, no exponent, no leading zeros (`01234` is text); dates
//!   `YYYY-MM-DD`, `DD.MM.YYYY` and `DD/MM/YYYY` when unambiguous (`31/01/2024`, not `01/02/2024`),
//!   optionally with a time; booleans `true`/`false`/`yes`/`no` in any case.
//! * The value decides the type (quotes don't): a value that is a number compares as a number,
//!   a date as a date, a boolean (with `=`, `!=`, `in`, `not in`) as a boolean, anything else as
//!   text. This holds for `=`, `!=`, `<`, `<=`, `>`, `>=` and for each element of `in` /
//!   `not in`. So `orders > 9` matches `10`, `vip = "yes"` matches `TRUE`, and `zip = "01234"`
//!   stays a text comparison.
//! * A typed comparison needs a cell of that type: a cell that is not a number (resp. a date, a
//!   boolean) simply doesn't match — for `!=` and `not in` too (`orders != 3` skips rows whose
//!   `orders` is empty; `not (orders = 3)` keeps them).
//! * `contains`, `starts with`, their negations and `is empty` are always textual.
//! * A date-only value compares calendar days, with the day as written in the cell (its offset
//!   is ignored): `signup = 2024-03-01` matches `2024-03-01T23:30:00-05:00`. A value with a time
//!   compares instants; a date-only cell is midnight UTC then.
//!
//! # Values that do not fit their column
//!
//! The text form refuses a bare value that is not a number or a date, with the reason: a decimal
//! comma (`orders > 1,5`), an ambiguous date (`signup < 01/02/2024`). Against a source's detected
//! column types ([`Filter::type_problems`], [`Filter::compile_typed`]), a rule on a number, date
//! or yes/no column must have values of that type (`orders > "abc"` is refused, as is
//! `vip > "yes"`): otherwise it would silently match nothing. Rules on text columns take any
//! value.

use crate::source::{ColumnInfo, ColumnType};
use crate::value;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::str::FromStr;
use ts_rs::TS;

/// How deeply groups, parentheses and `not` may nest.
pub const MAX_DEPTH: usize = 64;

/// A segment's filter: a tree of and/or groups, negations and rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(export)]
pub enum Filter {
    /// All (`and`) or any (`or`) of `rules`. An empty `and` matches every row, an empty `or` none.
    Group { op: GroupOp, rules: Vec<Filter> },
    /// Rows that `rule` does not match.
    Not { rule: Box<Filter> },
    /// One test of one column. `value` is `null` for `isEmpty`/`isNotEmpty`, a list for
    /// `in`/`notIn`, a text otherwise.
    Rule {
        column: String,
        cmp: Cmp,
        #[serde(default)]
        value: Value,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export, rename = "FilterGroupOp")]
pub enum GroupOp {
    And,
    Or,
}

/// The comparison of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export, rename = "FilterCmp")]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    NotContains,
    StartsWith,
    NotStartsWith,
    In,
    NotIn,
    IsEmpty,
    IsNotEmpty,
}

/// A rule's value. In JSON: `null`, `"text"` or `["a", "b"]`. Numbers and dates are kept as
/// written, as text; the matching rules decide how they compare.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(untagged)]
#[ts(export, rename = "FilterValue")]
pub enum Value {
    #[default]
    None,
    Text(String),
    List(Vec<String>),
}

impl Cmp {
    pub const ALL: [Cmp; 14] = [
        Cmp::Eq,
        Cmp::Ne,
        Cmp::Lt,
        Cmp::Le,
        Cmp::Gt,
        Cmp::Ge,
        Cmp::Contains,
        Cmp::NotContains,
        Cmp::StartsWith,
        Cmp::NotStartsWith,
        Cmp::In,
        Cmp::NotIn,
        Cmp::IsEmpty,
        Cmp::IsNotEmpty,
    ];

    /// The operator in the text form: `=`, `not starts with`, `is empty`, …
    pub fn as_text(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Contains => "contains",
            Cmp::NotContains => "not contains",
            Cmp::StartsWith => "starts with",
            Cmp::NotStartsWith => "not starts with",
            Cmp::In => "in",
            Cmp::NotIn => "not in",
            Cmp::IsEmpty => "is empty",
            Cmp::IsNotEmpty => "is not empty",
        }
    }

    /// What kind of [`Value`] this comparison takes.
    pub fn value_kind(self) -> ValueKind {
        match self {
            Cmp::IsEmpty | Cmp::IsNotEmpty => ValueKind::None,
            Cmp::In | Cmp::NotIn => ValueKind::List,
            _ => ValueKind::Text,
        }
    }
}

impl fmt::Display for Cmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_text())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    None,
    Text,
    List,
}

/// A rule whose value does not fit its column's detected type ([`Filter::type_problems`]): what
/// the rule builder shows beside the rule, and what saving the segment refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export, rename = "FilterRuleProblem")]
pub struct RuleProblem {
    /// The rule's column, as the rule names it.
    pub column: String,
    pub cmp: Cmp,
    /// The value (for `in` / `not in`, the element of the list) that does not fit, as written.
    pub value: String,
    /// The column's type: `integer`, `number`, `date` or `boolean`.
    #[ts(type = "string")]
    pub expected: ColumnType,
    /// A sentence for the user: what the column holds and how to write the value.
    pub message: String,
}

/// What went wrong parsing, validating or compiling a filter. Its English text is written in
/// [`crate::error::ErrorCode`]'s module, with every other error's; it reaches the UI as the
/// parameters of `segment.filter_invalid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, TS)]
#[serde(
    tag = "problem",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[ts(export)]
pub enum FilterError {
    /// The text form is malformed. `offset` is a byte offset into the text; `line` and `column`
    /// are 1-based (the column counts characters); `snippet` is the line with a caret under the
    /// spot.
    Syntax {
        message: String,
        #[ts(type = "number")]
        offset: usize,
        #[ts(type = "number")]
        line: usize,
        #[ts(type = "number")]
        column: usize,
        snippet: String,
    },
    UnknownColumn {
        column: String,
        available: Vec<String>,
    },
    InvalidRule {
        column: String,
        message: String,
    },
    /// A rule's value does not fit the type of its column in the source (see
    /// [`Filter::type_problems`]): `message` says what the column holds and how to write the
    /// value.
    ValueType {
        column: String,
        /// The value (for a list, the element) that does not fit.
        value: String,
        #[ts(type = "string")]
        expected: ColumnType,
        message: String,
    },
    TooDeep {
        #[ts(type = "number")]
        max: usize,
    },
}

// ---------------------------------------------------------------------------------------------
// Building, validating, printing
// ---------------------------------------------------------------------------------------------

impl Filter {
    pub fn rule(column: impl Into<String>, cmp: Cmp, value: Value) -> Filter {
        Filter::Rule {
            column: column.into(),
            cmp,
            value,
        }
    }
    pub fn and(rules: Vec<Filter>) -> Filter {
        Filter::Group {
            op: GroupOp::And,
            rules,
        }
    }
    pub fn or(rules: Vec<Filter>) -> Filter {
        Filter::Group {
            op: GroupOp::Or,
            rules,
        }
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(rule: Filter) -> Filter {
        Filter::Not {
            rule: Box::new(rule),
        }
    }
    /// A filter that matches every row (an empty `and`).
    pub fn everything() -> Filter {
        Filter::and(Vec::new())
    }

    /// Parses the text form. See the module documentation for the grammar.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        Parser::new(text, false)?.parse_filter()
    }

    /// [`Filter::parse`] for a filter an earlier Segport saved: a bare value the grammar no longer
    /// reads as a number or a date — a month-first date (`03/01/2024`), a number of more than 15
    /// digits — is read as the text it is written as (as every value is kept), instead of being
    /// an error, so that the segment can still be shown and edited; [`Filter::type_problems`]
    /// then points at it. A run parses strictly and is refused with the reason.
    pub fn parse_saved(text: &str) -> Result<Filter, FilterError> {
        Parser::new(text, true)?.parse_filter()
    }

    /// The canonical text form; [`Filter::parse`] gives this filter back when it is valid.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// The column names the filter uses, in order of first use.
    pub fn columns(&self) -> Vec<&str> {
        fn walk<'a>(f: &'a Filter, out: &mut Vec<&'a str>) {
            match f {
                Filter::Group { rules, .. } => rules.iter().for_each(|r| walk(r, out)),
                Filter::Not { rule } => walk(rule, out),
                Filter::Rule { column, .. } => {
                    if !out.contains(&column.as_str()) {
                        out.push(column);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// Checks the shape: every rule's value fits its comparison, nesting within [`MAX_DEPTH`].
    pub fn validate(&self) -> Result<(), FilterError> {
        self.validate_at(1)
    }

    fn validate_at(&self, depth: usize) -> Result<(), FilterError> {
        if depth > MAX_DEPTH {
            return Err(FilterError::TooDeep { max: MAX_DEPTH });
        }
        match self {
            Filter::Group { rules, .. } => rules.iter().try_for_each(|r| r.validate_at(depth + 1)),
            Filter::Not { rule } => rule.validate_at(depth + 1),
            Filter::Rule { column, cmp, value } => {
                let message = match (cmp.value_kind(), value) {
                    (ValueKind::None, Value::None)
                    | (ValueKind::Text, Value::Text(_))
                    | (ValueKind::List, Value::List(_)) => return Ok(()),
                    (ValueKind::None, _) => format!("`{cmp}` takes no value"),
                    (ValueKind::Text, _) => format!("`{cmp}` needs one value"),
                    (ValueKind::List, _) => format!("`{cmp}` needs a list of values"),
                };
                Err(FilterError::InvalidRule {
                    column: column.clone(),
                    message,
                })
            }
        }
    }

    /// Resolves column names against `columns` (exactly, else case-insensitively when that is
    /// unambiguous) and pre-parses the values.
    pub fn compile(&self, columns: &[String]) -> Result<CompiledFilter, FilterError> {
        self.validate()?;
        Ok(CompiledFilter {
            root: compile_node(self, columns)?,
        })
    }

    /// [`Filter::compile`] against a source's columns as [`crate::source::inspect`] detects them,
    /// after checking that every rule's values fit their column's type: the first rule that does
    /// not is a [`FilterError::ValueType`] (see [`Filter::type_problems`]).
    pub fn compile_typed(&self, columns: &[ColumnInfo]) -> Result<CompiledFilter, FilterError> {
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let compiled = self.compile(&names)?;
        self.check_types(columns)?;
        Ok(compiled)
    }

    /// The first of [`Filter::type_problems`] as a [`FilterError::ValueType`].
    pub fn check_types(&self, columns: &[ColumnInfo]) -> Result<(), FilterError> {
        match self.type_problems(columns).into_iter().next() {
            None => Ok(()),
            Some(p) => Err(FilterError::ValueType {
                column: p.column,
                value: p.value,
                expected: p.expected,
                message: p.message,
            }),
        }
    }

    /// The rules whose values do not fit the detected type of their column, in order, each
    /// with a message that says what the column holds and how to write the value. On a number
    /// or date column every value of `=`, `!=`, `<`, `<=`, `>`, `>=`, `in` and `not in` must be
    /// a number (resp. a date) of [`crate::value`] — else the rule compares text with numbers
    /// and matches nothing; on a yes/no column it must be a boolean, and there is no `<`/`>`.
    /// Rules on other columns, textual comparisons (`contains`, `starts with`, `is empty`) and
    /// rules naming an unknown column (which [`Filter::compile`] reports) have none.
    pub fn type_problems(&self, columns: &[ColumnInfo]) -> Vec<RuleProblem> {
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let mut out = Vec::new();
        self.collect_type_problems(columns, &names, 1, &mut out);
        out
    }

    fn collect_type_problems(
        &self,
        columns: &[ColumnInfo],
        names: &[String],
        depth: usize,
        out: &mut Vec<RuleProblem>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        match self {
            Filter::Group { rules, .. } => rules
                .iter()
                .for_each(|r| r.collect_type_problems(columns, names, depth + 1, out)),
            Filter::Not { rule } => rule.collect_type_problems(columns, names, depth + 1, out),
            Filter::Rule { column, cmp, value } => {
                let ordered = matches!(cmp, Cmp::Lt | Cmp::Le | Cmp::Gt | Cmp::Ge);
                if !ordered && !matches!(cmp, Cmp::Eq | Cmp::Ne | Cmp::In | Cmp::NotIn) {
                    return;
                }
                let Ok(i) = resolve_column(column, names) else {
                    return;
                };
                let items: &[String] = match value {
                    Value::Text(t) => std::slice::from_ref(t),
                    Value::List(items) => items,
                    Value::None => return,
                };
                let expected = columns[i].inferred;
                let problem = |v: &str, message: String| RuleProblem {
                    column: column.clone(),
                    cmp: *cmp,
                    value: v.to_string(),
                    expected,
                    message,
                };
                for v in items {
                    let message = match expected {
                        ColumnType::Integer | ColumnType::Number if !value::is_number(v) => {
                            format!(
                                "`{column}` holds numbers, and “{}” is not a number{}.",
                                v.trim(),
                                value::number_problem(v)
                            )
                        }
                        ColumnType::Date if value::parse_date(v).is_none() => format!(
                            "`{column}` holds dates, and “{}” is {}{}.",
                            v.trim(),
                            if value::is_ambiguous_date(v) {
                                "ambiguous"
                            } else {
                                "not a date"
                            },
                            value::date_problem(v)
                        ),
                        ColumnType::Boolean if ordered => format!(
                            "`{column}` holds yes/no values, which have no order: compare it with “is” (=) or “is not” (!=) instead of `{cmp}`."
                        ),
                        ColumnType::Boolean if value::parse_bool(v).is_none() => format!(
                            "`{column}` holds yes/no values, and “{}” is not one{}.",
                            v.trim(),
                            value::bool_problem(v)
                        ),
                        _ => continue,
                    };
                    out.push(problem(v, message));
                    if ordered {
                        break;
                    }
                }
            }
        }
    }

    fn write_text(&self, out: &mut fmt::Formatter<'_>, nested: bool) -> fmt::Result {
        match self {
            Filter::Group { op, rules } if rules.len() >= 2 => {
                if nested {
                    out.write_char('(')?;
                }
                let sep = match op {
                    GroupOp::And => " and ",
                    GroupOp::Or => " or ",
                };
                for (i, r) in rules.iter().enumerate() {
                    if i > 0 {
                        out.write_str(sep)?;
                    }
                    r.write_text(out, true)?;
                }
                if nested {
                    out.write_char(')')?;
                }
                Ok(())
            }
            Filter::Group { op, rules } => {
                out.write_str(match op {
                    GroupOp::And => "all(",
                    GroupOp::Or => "any(",
                })?;
                if let Some(r) = rules.first() {
                    r.write_text(out, false)?;
                }
                out.write_char(')')
            }
            Filter::Not { rule } => {
                out.write_str("not ")?;
                rule.write_text(out, true)
            }
            Filter::Rule { column, cmp, value } => {
                write_column(out, column)?;
                out.write_char(' ')?;
                out.write_str(cmp.as_text())?;
                if cmp.value_kind() == ValueKind::None {
                    // A value here makes the rule invalid; `validate` reports it.
                    return Ok(());
                }
                match value {
                    Value::None => Ok(()),
                    Value::Text(t) => {
                        out.write_char(' ')?;
                        write_value(out, t)
                    }
                    Value::List(items) => {
                        out.write_str(" [")?;
                        for (i, t) in items.iter().enumerate() {
                            if i > 0 {
                                out.write_str(", ")?;
                            }
                            write_value(out, t)?;
                        }
                        out.write_char(']')
                    }
                }
            }
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f, false)
    }
}

impl FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

const RESERVED: [&str; 3] = ["and", "or", "not"];

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}
fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}
fn is_bare_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '+' | '-' | '/' | '_')
}

fn write_column(out: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(is_ident_start)
        && chars.all(is_ident_char)
        && !RESERVED.iter().any(|k| name.eq_ignore_ascii_case(k));
    if plain {
        out.write_str(name)
    } else {
        write_quoted(out, name, '`')
    }
}

fn write_value(out: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let bare = text.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && text.chars().all(is_bare_char)
        && (value::is_number(text) || value::parse_date(text).is_some());
    if bare {
        out.write_str(text)
    } else {
        write_quoted(out, text, '"')
    }
}

fn write_quoted(out: &mut fmt::Formatter<'_>, text: &str, quote: char) -> fmt::Result {
    out.write_char(quote)?;
    for c in text.chars() {
        match c {
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if c == quote => {
                out.write_char('\\')?;
                out.write_char(c)?;
            }
            c if c.is_control() => write!(out, "\\u{{{:x}}}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char(quote)
}

// ---------------------------------------------------------------------------------------------
// Lexer and parser
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Backtick(String),
    Str(String),
    Bare(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Op(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
}

fn syntax_error(src: &str, offset: usize, message: impl Into<String>) -> FilterError {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
    let line_text: Vec<char> = src[line_start..line_end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let col0 = src[line_start..offset].chars().count();
    // Show at most 40 characters either side of the spot.
    let from = col0.saturating_sub(40);
    let to = (col0 + 40).min(line_text.len());
    let mut snippet = String::from("  ");
    if from > 0 {
        snippet.push('…');
    }
    snippet.extend(&line_text[from..to]);
    if to < line_text.len() {
        snippet.push('…');
    }
    snippet.push_str("\n  ");
    let pad = col0 - from + usize::from(from > 0);
    snippet.extend(std::iter::repeat_n(' ', pad));
    snippet.push('^');
    FilterError::Syntax {
        message: message.into(),
        offset,
        line,
        column: col0 + 1,
        snippet,
    }
}

fn lex(src: &str) -> Result<Vec<Token>, FilterError> {
    let mut toks = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some(&(start, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        it.next();
        let next = it.peek().map(|&(_, c)| c);
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            ',' => Tok::Comma,
            '=' | '!' | '<' | '>' => {
                let op = match (c, next) {
                    ('=', Some('=')) => "==",
                    ('!', Some('=')) => "!=",
                    ('<', Some('=')) => "<=",
                    ('<', Some('>')) => "<>",
                    ('>', Some('=')) => ">=",
                    ('=', _) => "=",
                    ('<', _) => "<",
                    ('>', _) => ">",
                    _ => {
                        return Err(syntax_error(
                            src,
                            start,
                            "unexpected `!`; did you mean `!=`?",
                        ))
                    }
                };
                if op.len() == 2 {
                    it.next();
                }
                Tok::Op(op)
            }
            '"' | '`' => {
                let text = lex_quoted(src, &mut it, start, c)?;
                if c == '"' {
                    Tok::Str(text)
                } else {
                    Tok::Backtick(text)
                }
            }
            '\'' => {
                return Err(syntax_error(
                    src,
                    start,
                    "text goes in double quotes (\"…\"), column names in backticks (`…`)",
                ))
            }
            c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, c)) = it.peek() {
                    if !is_bare_char(c) {
                        break;
                    }
                    end = i + c.len_utf8();
                    it.next();
                }
                Tok::Bare(src[start..end].to_string())
            }
            c if is_ident_start(c) => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, c)) = it.peek() {
                    if !is_ident_char(c) {
                        break;
                    }
                    end = i + c.len_utf8();
                    it.next();
                }
                Tok::Ident(src[start..end].to_string())
            }
            c => {
                return Err(syntax_error(
                    src,
                    start,
                    format!("unexpected character `{}`", c.escape_debug()),
                ))
            }
        };
        toks.push(Token { tok, start });
    }
    toks.push(Token {
        tok: Tok::Eof,
        start: src.len(),
    });
    Ok(toks)
}

fn lex_quoted(
    src: &str,
    it: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    start: usize,
    quote: char,
) -> Result<String, FilterError> {
    let what = if quote == '"' { "text" } else { "column name" };
    let mut out = String::new();
    loop {
        let Some((i, c)) = it.next() else {
            return Err(syntax_error(
                src,
                start,
                format!("unterminated {what}: missing the closing {quote}"),
            ));
        };
        match c {
            c if c == quote => return Ok(out),
            '\\' => {
                let Some((_, e)) = it.next() else {
                    return Err(syntax_error(
                        src,
                        start,
                        format!("unterminated {what}: missing the closing {quote}"),
                    ));
                };
                match e {
                    '"' | '`' | '\\' => out.push(e),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let bad = || {
                            syntax_error(src, i, "invalid escape: write \\u{…} with 1 to 6 hex digits of a Unicode scalar value")
                        };
                        if it.next().map(|(_, c)| c) != Some('{') {
                            return Err(bad());
                        }
                        let mut hex = String::new();
                        loop {
                            match it.next() {
                                Some((_, '}')) => break,
                                Some((_, h)) if h.is_ascii_hexdigit() && hex.len() < 6 => {
                                    hex.push(h)
                                }
                                _ => return Err(bad()),
                            }
                        }
                        let ch = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(bad)?;
                        out.push(ch);
                    }
                    other => {
                        return Err(syntax_error(
                            src,
                            i,
                            format!(
                                "unknown escape `\\{}`; use \\\" \\` \\\\ \\n \\r \\t or \\u{{…}}",
                                other.escape_debug()
                            ),
                        ))
                    }
                }
            }
            c => out.push(c),
        }
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(s) | Tok::Bare(s) => format!("`{s}`"),
        Tok::Backtick(s) => format!("the quoted name `{s}`"),
        Tok::Str(_) => "a quoted text".into(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Op(o) => format!("`{o}`"),
        Tok::Eof => "the end of the filter".into(),
    }
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Bare values that are not numbers or dates are texts, not errors ([`Filter::parse_saved`]).
    lenient: bool,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, lenient: bool) -> Result<Self, FilterError> {
        Ok(Parser {
            src,
            toks: lex(src)?,
            pos: 0,
            depth: 0,
            lenient,
        })
    }

    fn peek(&self) -> &Token {
        // `lex` always ends the list with `Eof`, and `bump` never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }
    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }
    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
    fn error_here(&self, message: impl Into<String>) -> FilterError {
        syntax_error(self.src, self.peek().start, message)
    }
    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(format!(
                "the filter is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    fn parse_filter(mut self) -> Result<Filter, FilterError> {
        if self.peek().tok == Tok::Eof {
            return Err(
                self.error_here("the filter is empty; write a rule such as `country = \"PL\"`")
            );
        }
        let f = self.parse_or()?;
        match &self.peek().tok {
            Tok::Eof => Ok(f),
            Tok::RParen => Err(self.error_here("unmatched `)`")),
            t => {
                let msg = format!(
                    "expected `and`, `or` or the end of the filter, found {}",
                    describe(t)
                );
                Err(self.error_here(msg))
            }
        }
    }

    fn parse_or(&mut self) -> Result<Filter, FilterError> {
        let mut items = vec![self.parse_and()?];
        while self.is_kw("or") {
            self.bump();
            items.push(self.parse_and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Filter::or(items)
        })
    }

    fn parse_and(&mut self) -> Result<Filter, FilterError> {
        let mut items = vec![self.parse_unary()?];
        while self.is_kw("and") {
            self.bump();
            items.push(self.parse_unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Filter::and(items)
        })
    }

    fn parse_unary(&mut self) -> Result<Filter, FilterError> {
        if self.is_kw("not") {
            self.enter()?;
            self.bump();
            let inner = self.parse_unary()?;
            self.depth -= 1;
            return Ok(Filter::not(inner));
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> Result<Filter, FilterError> {
        let tok = self.peek().clone();
        match &tok.tok {
            Tok::LParen => {
                self.enter()?;
                self.bump();
                let inner = self.parse_or()?;
                if self.peek().tok != Tok::RParen {
                    let (l, c) = line_col(self.src, tok.start);
                    let msg = format!(
                        "expected `)` to close the `(` at {l}:{c}, found {}",
                        describe(&self.peek().tok)
                    );
                    return Err(self.error_here(msg));
                }
                self.bump();
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Ident(s)
                if (s.eq_ignore_ascii_case("all") || s.eq_ignore_ascii_case("any"))
                    && *self.peek_at(1) == Tok::LParen =>
            {
                let op = if s.eq_ignore_ascii_case("all") {
                    GroupOp::And
                } else {
                    GroupOp::Or
                };
                self.enter()?;
                self.bump();
                self.bump();
                let mut rules = Vec::new();
                while self.peek().tok != Tok::RParen {
                    rules.push(self.parse_or()?);
                    match self.peek().tok {
                        Tok::Comma => {
                            self.bump();
                        }
                        Tok::RParen => {}
                        _ => {
                            let msg = format!(
                                "expected `,` or `)` in `{s}(…)`, found {}",
                                describe(&self.peek().tok)
                            );
                            return Err(self.error_here(msg));
                        }
                    }
                }
                self.bump();
                self.depth -= 1;
                Ok(Filter::Group { op, rules })
            }
            Tok::Ident(s) if RESERVED.iter().any(|k| s.eq_ignore_ascii_case(k)) => {
                Err(self.error_here(format!(
                    "expected a rule, found the keyword `{s}` (quote a column with this name: `{s}`)"
                )))
            }
            Tok::Ident(name) | Tok::Backtick(name) | Tok::Str(name) => {
                self.bump();
                self.parse_test(name.clone())
            }
            t => Err(self.error_here(format!(
                "expected a rule (a column name, `not` or `(`), found {}",
                describe(t)
            ))),
        }
    }

    fn parse_test(&mut self, column: String) -> Result<Filter, FilterError> {
        let tok = self.bump();
        let cmp = match &tok.tok {
            Tok::Op(op) => {
                let cmp = match *op {
                    "=" | "==" => Cmp::Eq,
                    "!=" | "<>" => Cmp::Ne,
                    "<" => Cmp::Lt,
                    "<=" => Cmp::Le,
                    ">" => Cmp::Gt,
                    _ => Cmp::Ge,
                };
                let value = self.parse_value(op, false)?;
                return Ok(Filter::rule(column, cmp, Value::Text(value)));
            }
            Tok::Ident(k) if k.eq_ignore_ascii_case("contains") => Cmp::Contains,
            Tok::Ident(k) if k.eq_ignore_ascii_case("starts") => {
                self.expect_kw("with", "after `starts`")?;
                Cmp::StartsWith
            }
            Tok::Ident(k) if k.eq_ignore_ascii_case("in") => Cmp::In,
            Tok::Ident(k) if k.eq_ignore_ascii_case("is") => {
                let negated = self.is_kw("not");
                if negated {
                    self.bump();
                }
                self.expect_kw("empty", if negated { "after `is not`" } else { "after `is`" })?;
                let cmp = if negated { Cmp::IsNotEmpty } else { Cmp::IsEmpty };
                return Ok(Filter::rule(column, cmp, Value::None));
            }
            Tok::Ident(k) if k.eq_ignore_ascii_case("not") => {
                if self.is_kw("contains") {
                    self.bump();
                    Cmp::NotContains
                } else if self.is_kw("starts") {
                    self.bump();
                    self.expect_kw("with", "after `not starts`")?;
                    Cmp::NotStartsWith
                } else if self.is_kw("in") {
                    self.bump();
                    Cmp::NotIn
                } else {
                    return Err(self.error_here(format!(
                        "expected `contains`, `starts with` or `in` after `not`, found {}",
                        describe(&self.peek().tok)
                    )));
                }
            }
            t => {
                return Err(syntax_error(
                    self.src,
                    tok.start,
                    format!(
                        "expected a comparison after the column `{column}` (`=`, `!=`, `<`, `<=`, `>`, `>=`, `contains`, `starts with`, `in`, `is empty`, `is not empty`), found {}",
                        describe(t)
                    ),
                ))
            }
        };
        let value = match cmp {
            Cmp::In | Cmp::NotIn => Value::List(self.parse_list(cmp)?),
            _ => Value::Text(self.parse_value(cmp.as_text(), false)?),
        };
        Ok(Filter::rule(column, cmp, value))
    }

    fn expect_kw(&mut self, kw: &str, context: &str) -> Result<(), FilterError> {
        if self.is_kw(kw) {
            self.bump();
            Ok(())
        } else {
            Err(self.error_here(format!(
                "expected `{kw}` {context}, found {}",
                describe(&self.peek().tok)
            )))
        }
    }

    fn parse_value(&mut self, after: &str, in_list: bool) -> Result<String, FilterError> {
        let tok = self.peek().clone();
        match tok.tok {
            Tok::Str(s) => {
                self.bump();
                Ok(s)
            }
            Tok::Bare(s) => {
                if value::is_number(&s) || value::parse_date(&s).is_some() {
                    self.bump();
                    // `1,5` outside a list: a decimal comma (a value never follows a comma
                    // otherwise: rules start with a column name).
                    if !in_list && self.peek().tok == Tok::Comma {
                        if let Tok::Bare(next) = self.peek_at(1) {
                            if next.starts_with(|c: char| c.is_ascii_digit()) {
                                let written = format!("{s},{next}");
                                let why = value::number_problem(&written);
                                return Err(syntax_error(
                                    self.src,
                                    tok.start,
                                    format!("`{written}` is not a number{why}"),
                                ));
                            }
                        }
                    }
                    Ok(s)
                } else if self.lenient {
                    self.bump();
                    Ok(s)
                } else if value::is_ambiguous_date(&s) {
                    let why = value::date_problem(&s);
                    Err(self.error_here(format!("`{s}` is an ambiguous date{why}")))
                } else if value::looks_like_date(&s) {
                    let why = value::date_problem(&s);
                    Err(self.error_here(format!("`{s}` is not a number or a date{why}")))
                } else {
                    let why = value::number_problem(&s);
                    let why = if why.starts_with(':') {
                        why
                    } else {
                        " (numbers: 3, -2.5; dates: 2024-03-01, 01.03.2024, 31/01/2024, 2024-03-01T10:00:00Z)".into()
                    };
                    Err(self.error_here(format!(
                        "`{s}` is not a number or a date{why}; put text in double quotes"
                    )))
                }
            }
            Tok::Ident(s) => Err(self.error_here(format!(
                "expected a value after `{after}`, found `{s}`; put text in double quotes: \"{s}\""
            ))),
            Tok::LBracket => Err(self.error_here(format!(
                "a list of values goes with `in` or `not in`, not with `{after}`"
            ))),
            t => Err(self.error_here(format!(
                "expected a value after `{after}`, found {}",
                describe(&t)
            ))),
        }
    }

    fn parse_list(&mut self, cmp: Cmp) -> Result<Vec<String>, FilterError> {
        if self.peek().tok != Tok::LBracket {
            return Err(self.error_here(format!(
                "expected a list such as [\"a\", \"b\"] after `{cmp}`, found {}",
                describe(&self.peek().tok)
            )));
        }
        self.bump();
        let mut items = Vec::new();
        while self.peek().tok != Tok::RBracket {
            items.push(self.parse_value(if items.is_empty() { "[" } else { "," }, true)?);
            match self.peek().tok {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RBracket => {}
                _ => {
                    return Err(self.error_here(format!(
                        "expected `,` or `]` in the list, found {}",
                        describe(&self.peek().tok)
                    )))
                }
            }
        }
        self.bump();
        Ok(items)
    }
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

// ---------------------------------------------------------------------------------------------
// Typed values
// ---------------------------------------------------------------------------------------------

/// What a rule's value is, by the matching rules.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Typed {
    Number(f64),
    Day(NaiveDate),
    Instant(i64),
    Bool(bool),
    Text,
}

/// `equality`: the comparison is `=`, `!=`, `in` or `not in` (booleans have no order).
fn classify(v: &str, equality: bool) -> Typed {
    if let Some(n) = value::parse_number(v) {
        return Typed::Number(n);
    }
    if let Some(d) = value::parse_date(v) {
        return if d.has_time {
            Typed::Instant(d.micros)
        } else {
            Typed::Day(d.day)
        };
    }
    match value::parse_bool(v) {
        Some(b) if equality => Typed::Bool(b),
        _ => Typed::Text,
    }
}

// ---------------------------------------------------------------------------------------------
// Compiled form
// ---------------------------------------------------------------------------------------------

/// A filter bound to a source's columns, ready to test rows.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Test { col: usize, test: Test },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Rel {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Rel::Eq => ord == Ordering::Equal,
            Rel::Ne => ord != Ordering::Equal,
            Rel::Lt => ord == Ordering::Less,
            Rel::Le => ord != Ordering::Greater,
            Rel::Gt => ord == Ordering::Greater,
            Rel::Ge => ord != Ordering::Less,
        }
    }
}

/// A lower-cased needle; `ascii` selects the byte-wise fast path.
#[derive(Debug, Clone)]
struct Needle {
    lower: String,
    ascii: bool,
}

impl Needle {
    fn new(s: &str) -> Needle {
        let lower = s.to_lowercase();
        Needle {
            ascii: lower.is_ascii(),
            lower,
        }
    }

    fn cmp_cell(&self, cell: &str) -> Ordering {
        if self.ascii && cell.is_ascii() {
            let a = cell.bytes().map(|c| c.to_ascii_lowercase());
            a.cmp(self.lower.bytes())
        } else {
            cell.chars()
                .flat_map(char::to_lowercase)
                .cmp(self.lower.chars())
        }
    }

    fn equals(&self, cell: &str) -> bool {
        if self.ascii && cell.is_ascii() {
            cell.len() == self.lower.len() && cell.eq_ignore_ascii_case(&self.lower)
        } else {
            cell.chars()
                .flat_map(char::to_lowercase)
                .eq(self.lower.chars())
        }
    }

    fn starts(&self, cell: &str) -> bool {
        if self.ascii && cell.is_ascii() {
            let n = self.lower.as_bytes();
            cell.len() >= n.len() && cell.as_bytes()[..n.len()].eq_ignore_ascii_case(n)
        } else {
            starts_lower(cell, &self.lower)
        }
    }

    fn within(&self, cell: &str) -> bool {
        let n = self.lower.as_bytes();
        let Some((&first, rest)) = n.split_first() else {
            return true;
        };
        if self.ascii && cell.is_ascii() {
            let h = cell.as_bytes();
            if h.len() < n.len() {
                return false;
            }
            let upper = first.to_ascii_uppercase();
            let last = h.len() - n.len();
            let mut i = 0;
            while i <= last {
                let c = h[i];
                if (c == first || c == upper) && h[i + 1..i + n.len()].eq_ignore_ascii_case(rest) {
                    return true;
                }
                i += 1;
            }
            false
        } else {
            cell.char_indices()
                .any(|(i, _)| starts_lower(&cell[i..], &self.lower))
        }
    }
}

/// Does the lower-cased `cell` start with `lower`?
fn starts_lower(cell: &str, lower: &str) -> bool {
    let mut hay = cell.chars().flat_map(char::to_lowercase);
    lower.chars().all(|c| hay.next() == Some(c))
}

/// The elements of an `in` list, by type.
#[derive(Debug, Clone, Default)]
struct InSet {
    texts: Vec<Needle>,
    /// Lower-cased ASCII texts, for long lists.
    text_set: Option<HashSet<String>>,
    numbers: Vec<f64>,
    days: Vec<NaiveDate>,
    instants: Vec<i64>,
    /// `[false in the list, true in the list]`.
    bools: [bool; 2],
}

const SET_THRESHOLD: usize = 8;
const SET_KEY_MAX: usize = 128;

impl InSet {
    fn new(items: &[String]) -> InSet {
        let mut set = InSet::default();
        for item in items {
            match classify(item, true) {
                Typed::Number(n) => set.numbers.push(n),
                Typed::Day(d) => set.days.push(d),
                Typed::Instant(t) => set.instants.push(t),
                Typed::Bool(b) => set.bools[usize::from(b)] = true,
                Typed::Text => set.texts.push(Needle::new(item.trim())),
            }
        }
        if set.texts.len() > SET_THRESHOLD
            && set
                .texts
                .iter()
                .all(|n| n.ascii && n.lower.len() <= SET_KEY_MAX)
        {
            set.text_set = Some(set.texts.iter().map(|n| n.lower.clone()).collect());
        }
        set
    }

    fn text_match(&self, cell: &str) -> bool {
        if let Some(set) = &self.text_set {
            if cell.is_ascii() {
                if cell.len() > SET_KEY_MAX {
                    return false;
                }
                let mut buf = [0u8; SET_KEY_MAX];
                let key = &mut buf[..cell.len()];
                key.copy_from_slice(cell.as_bytes());
                key.make_ascii_lowercase();
                // ASCII bytes are valid UTF-8.
                return std::str::from_utf8(key).is_ok_and(|k| set.contains(k));
            }
        }
        self.texts.iter().any(|n| n.equals(cell))
    }

    /// `Some(true)` if the cell equals an element, `Some(false)` if it differs from all, `None` if
    /// it differs from all texts but can't be compared with a typed element (not in the list,
    /// but not "not in" it either).
    fn lookup(&self, cell: &str) -> Option<bool> {
        if self.text_match(cell) {
            return Some(true);
        }
        let mut comparable = true;
        if !self.numbers.is_empty() {
            match value::parse_number(cell) {
                Some(v) if self.numbers.contains(&v) => return Some(true),
                Some(_) => {}
                None => comparable = false,
            }
        }
        if !self.days.is_empty() || !self.instants.is_empty() {
            match value::parse_date(cell) {
                Some(d) if self.days.contains(&d.day) || self.instants.contains(&d.micros) => {
                    return Some(true)
                }
                Some(_) => {}
                None => comparable = false,
            }
        }
        if self.bools.contains(&true) {
            match value::parse_bool(cell) {
                Some(b) if self.bools[usize::from(b)] => return Some(true),
                Some(_) => {}
                None => comparable = false,
            }
        }
        comparable.then_some(false)
    }
}

#[derive(Debug, Clone)]
enum Test {
    Empty(bool),
    Text(Rel, Needle),
    Number(Rel, f64),
    Day(Rel, NaiveDate),
    Instant(Rel, i64),
    /// `=` (true) or `!=` (false) a boolean.
    Bool(bool, bool),
    Contains(bool, Needle),
    StartsWith(bool, Needle),
    In(bool, Box<InSet>),
}

impl Test {
    #[inline]
    fn matches(&self, cell: &str) -> bool {
        let cell = cell.trim();
        match self {
            Test::Empty(want) => cell.is_empty() == *want,
            Test::Text(Rel::Eq, n) => n.equals(cell),
            Test::Text(Rel::Ne, n) => !n.equals(cell),
            Test::Text(rel, n) => rel.holds(n.cmp_cell(cell)),
            Test::Number(rel, x) => value::parse_number(cell)
                .and_then(|v| v.partial_cmp(x))
                .is_some_and(|o| rel.holds(o)),
            Test::Day(rel, x) => value::parse_date(cell).is_some_and(|d| rel.holds(d.day.cmp(x))),
            Test::Instant(rel, x) => {
                value::parse_date(cell).is_some_and(|d| rel.holds(d.micros.cmp(x)))
            }
            Test::Bool(eq, x) => value::parse_bool(cell).is_some_and(|b| (b == *x) == *eq),
            Test::Contains(want, n) => n.within(cell) == *want,
            Test::StartsWith(want, n) => n.starts(cell) == *want,
            Test::In(true, set) => set.lookup(cell) == Some(true),
            Test::In(false, set) => set.lookup(cell) == Some(false),
        }
    }
}

fn resolve_column(name: &str, columns: &[String]) -> Result<usize, FilterError> {
    if let Some(i) = columns.iter().position(|c| c == name) {
        return Ok(i);
    }
    let mut found = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.trim().to_lowercase() == name.trim().to_lowercase());
    match (found.next(), found.next()) {
        (Some((i, _)), None) => Ok(i),
        _ => Err(FilterError::UnknownColumn {
            column: name.to_string(),
            available: columns.to_vec(),
        }),
    }
}

fn compile_node(f: &Filter, columns: &[String]) -> Result<Node, FilterError> {
    Ok(match f {
        Filter::Group { op, rules } => {
            let nodes = rules
                .iter()
                .map(|r| compile_node(r, columns))
                .collect::<Result<Vec<_>, _>>()?;
            match op {
                GroupOp::And => Node::All(nodes),
                GroupOp::Or => Node::Any(nodes),
            }
        }
        Filter::Not { rule } => Node::Not(Box::new(compile_node(rule, columns)?)),
        Filter::Rule { column, cmp, value } => {
            let col = resolve_column(column, columns)?;
            let text = match value {
                Value::Text(t) => t.as_str(),
                _ => "",
            };
            let rel = |c: Cmp| match c {
                Cmp::Eq => Rel::Eq,
                Cmp::Ne => Rel::Ne,
                Cmp::Lt => Rel::Lt,
                Cmp::Le => Rel::Le,
                Cmp::Gt => Rel::Gt,
                _ => Rel::Ge,
            };
            let test = match cmp {
                Cmp::Eq | Cmp::Ne | Cmp::Lt | Cmp::Le | Cmp::Gt | Cmp::Ge => {
                    match classify(text, matches!(cmp, Cmp::Eq | Cmp::Ne)) {
                        Typed::Number(x) => Test::Number(rel(*cmp), x),
                        Typed::Day(x) => Test::Day(rel(*cmp), x),
                        Typed::Instant(x) => Test::Instant(rel(*cmp), x),
                        Typed::Bool(x) => Test::Bool(*cmp == Cmp::Eq, x),
                        Typed::Text => Test::Text(rel(*cmp), Needle::new(text.trim())),
                    }
                }
                Cmp::Contains | Cmp::NotContains => {
                    Test::Contains(*cmp == Cmp::Contains, Needle::new(text))
                }
                Cmp::StartsWith | Cmp::NotStartsWith => {
                    Test::StartsWith(*cmp == Cmp::StartsWith, Needle::new(text))
                }
                Cmp::In | Cmp::NotIn => {
                    let items = match value {
                        Value::List(items) => items.as_slice(),
                        _ => &[],
                    };
                    Test::In(*cmp == Cmp::In, Box::new(InSet::new(items)))
                }
                Cmp::IsEmpty => Test::Empty(true),
                Cmp::IsNotEmpty => Test::Empty(false),
            };
            Node::Test { col, test }
        }
    })
}

impl Node {
    fn matches(&self, values: &[String]) -> bool {
        match self {
            Node::All(nodes) => nodes.iter().all(|n| n.matches(values)),
            Node::Any(nodes) => nodes.iter().any(|n| n.matches(values)),
            Node::Not(node) => !node.matches(values),
            Node::Test { col, test } => test.matches(values.get(*col).map_or("", String::as_str)),
        }
    }
}

impl CompiledFilter {
    /// Does the row match? `values` are aligned with the columns the filter was compiled with;
    /// missing trailing cells count as empty.
    pub fn matches(&self, values: &[String]) -> bool {
        self.root.matches(values)
    }
}

/// Counts the matching rows and keeps the first `sample` of them.
pub fn count_and_sample<I>(
    rows: I,
    filter: &CompiledFilter,
    sample: usize,
) -> (u64, Vec<Vec<String>>)
where
    I: IntoIterator<Item = Vec<String>>,
{
    let result: Result<_, std::convert::Infallible> =
        try_count_and_sample(rows.into_iter().map(Ok), filter, sample);
    match result {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// [`count_and_sample`] over rows that may fail to read; stops at the first error.
pub fn try_count_and_sample<I, E>(
    rows: I,
    filter: &CompiledFilter,
    sample: usize,
) -> Result<(u64, Vec<Vec<String>>), E>
where
    I: IntoIterator<Item = Result<Vec<String>, E>>,
{
    let mut count = 0u64;
    let mut kept = Vec::with_capacity(sample.min(1000));
    for row in rows {
        let row = row?;
        if filter.matches(&row) {
            count += 1;
            if kept.len() < sample {
                kept.push(row);
            }
        }
    }
    Ok((count, kept))
}
