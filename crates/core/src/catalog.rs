//! Sources, segments and the mapping preview: what the Sources, Segments and export screens
//! edit. Every view is detected afresh from the file, so a changed or missing file shows as such.

use crate::filter::{Filter, RuleProblem};
use crate::mapping::{PREVIEW_PROFILES, TYPE_SAMPLE_ROWS};
use crate::model::*;
use crate::source::{self, RowItem, SourceError, SourceSpec};
use crate::workspace::Workspace;
use crate::{CoreError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

/// Rows read to infer a source's column types for the Sources screen (and the types a segment's
/// rules are checked against).
const INSPECT_ROWS: usize = 200;

/// The export form's starting mapping for a segment, and what to tell the user about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MappingSuggestion {
    pub mapping: Mapping,
    /// Shown beside the phone field: the default country proposed and why, or why the phone
    /// column is left unmapped (numbers without a country code and no country that reads them).
    /// `None` when there is nothing to say.
    pub phone_hint: Option<String>,
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

fn required(field: &str, value: &str, hint: &str) -> Result<String> {
    let t = value.trim();
    if t.is_empty() {
        return Err(CoreError::invalid(field, hint));
    }
    Ok(t.to_string())
}

/// A filter with no rule at all keeps every row: stored as "no filter".
fn normalise(filter: Option<Filter>) -> Option<Filter> {
    filter.filter(|f| !matches!(f, Filter::Group { rules, .. } if rules.is_empty()))
}

/// What the native dialog's file is: its kind (by extension, else by content) and, for a
/// SQLite database, its tables.
pub fn picked_file(path: &Path) -> Result<PickedFile> {
    // The database is opened once: to list its tables, and (without a telling extension) to
    // recognise it as SQLite at all.
    let (kind, tables) = match SourceKind::guess(path) {
        Some(SourceKind::Sqlite) => (SourceKind::Sqlite, source::sqlite_tables(path)?),
        Some(other) => (other, vec![]),
        None => match source::sqlite_tables(path) {
            Ok(tables) => (SourceKind::Sqlite, tables),
            Err(_) => (SourceKind::Csv, vec![]),
        },
    };
    let p = path.to_string_lossy().into_owned();
    Ok(PickedFile {
        file_name: file_name(&p),
        path: p,
        kind,
        tables,
    })
}

impl Workspace {
    // ---- sources ----

    /// Every source, each inspected now (columns, types, first rows; missing or unreadable
    /// files say so).
    pub fn sources(&self) -> Result<Vec<SourceView>> {
        let segments = self.store.segments()?;
        self.store
            .sources()?
            .into_iter()
            .map(|s| Ok(self.source_view_with(s, &segments)))
            .collect()
    }

    pub fn source_view(&self, id: &str) -> Result<SourceView> {
        let s = self.store.source(id)?;
        Ok(self.source_view_with(s, &self.store.segments()?))
    }

    fn source_view_with(&self, s: Source, segments: &[Segment]) -> SourceView {
        let spec = self.source_spec(&s);
        let meta = std::fs::metadata(&s.path).ok();
        let (state, message, columns, sample) = match source::inspect(&spec, INSPECT_ROWS) {
            Ok(info) => (
                SourceState::Ok,
                None,
                info.columns
                    .into_iter()
                    .map(|c| SourceColumn {
                        name: c.name,
                        inferred: serde_json::to_value(c.inferred)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_else(|| "text".into()),
                    })
                    .collect(),
                info.sample,
            ),
            Err(e) => {
                let state = match e {
                    SourceError::Missing(_) | SourceError::MissingTable { .. } => {
                        SourceState::Missing
                    }
                    _ => SourceState::Unreadable,
                };
                (state, Some(e.to_string()), vec![], vec![])
            }
        };
        SourceView {
            file_name: file_name(&s.path),
            segments: segments
                .iter()
                .filter(|g| g.source_id == s.id)
                .map(|g| g.name.clone())
                .collect(),
            id: s.id,
            name: s.name,
            kind: s.kind,
            path: s.path,
            table: s.table,
            state,
            message,
            columns,
            sample,
            size: meta.as_ref().map(|m| m.len()),
            modified_at: meta.and_then(|m| m.modified().ok()).map(|t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            }),
        }
    }

    /// Add or edit a source. The file must be readable when it is added; an existing source
    /// may be saved while its file is missing (it may be on a drive that is not plugged in).
    pub fn save_source(&self, input: SourceInput) -> Result<SourceView> {
        let name = required("Name", &input.name, "Give the source a name.")?;
        let path = required("File", &input.path, "Choose the file.")?;
        let table = input
            .table
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if input.kind == SourceKind::Sqlite && table.is_none() {
            return Err(CoreError::invalid(
                "Table",
                "Choose the table of the database that holds the customers.",
            ));
        }
        let kind = input.kind;
        let existing = match &input.id {
            Some(id) => Some(self.store.source(id)?),
            None => None,
        };
        let source = Source {
            id: existing
                .as_ref()
                .map(|s| s.id.clone())
                .unwrap_or_else(new_id),
            name,
            table: if kind == SourceKind::Sqlite {
                table
            } else {
                None
            },
            kind,
            path,
        };
        let changed_file = existing.as_ref().is_none_or(|e| {
            e.path != source.path || e.table != source.table || e.kind != source.kind
        });
        if changed_file {
            source::inspect(&self.source_spec(&source), 1)?;
        }
        self.store.put_source(&source)?;
        self.source_view(&source.id)
    }

    /// Remove a source that no segment uses.
    pub fn delete_source(&self, id: &str) -> Result<()> {
        let s = self.store.source(id)?;
        let used: Vec<String> = self
            .store
            .segments()?
            .into_iter()
            .filter(|g| g.source_id == s.id)
            .map(|g| format!("\"{}\"", g.name))
            .collect();
        if !used.is_empty() {
            return Err(CoreError::invalid(
                "Source",
                format!(
                    "\"{}\" is used by the segment(s) {}. Remove them first.",
                    s.name,
                    used.join(", ")
                ),
            ));
        }
        self.store.delete_source(&s.id)?;
        Ok(())
    }

    /// The source for a file (reused when one already reads that file) and its "all rows"
    /// segment (created if needed): the shortest way from a file to an export.
    pub fn add_file_segment(
        &self,
        path: &str,
        kind: SourceKind,
        table: Option<&str>,
    ) -> Result<SegmentView> {
        let table = table.map(str::to_string);
        let sources = self.store.sources()?;
        let source = match sources
            .iter()
            .find(|s| s.path == path && s.kind == kind && s.table == table)
        {
            Some(s) => s.clone(),
            None => {
                let base = match &table {
                    Some(t) => format!("{} · {t}", file_name(path)),
                    None => file_name(path),
                };
                let taken: Vec<String> = sources.into_iter().map(|s| s.name).collect();
                let s = Source {
                    id: new_id(),
                    name: unique_name(&base, &taken),
                    kind,
                    path: path.to_string(),
                    table,
                };
                source::inspect(&self.source_spec(&s), 1)?;
                self.store.put_source(&s)?;
                s
            }
        };
        let segments = self.store.segments()?;
        let seg = match segments
            .iter()
            .find(|g| g.source_id == source.id && g.filter.is_none())
        {
            Some(g) => g.clone(),
            None => {
                let taken: Vec<String> = segments.iter().map(|s| s.name.clone()).collect();
                let g = Segment {
                    id: new_id(),
                    name: unique_name(&format!("All rows of {}", source.name), &taken),
                    source_id: source.id,
                    filter: None,
                };
                self.store.put_segment(&g)?;
                g
            }
        };
        self.segment_view(&seg.id)
    }

    // ---- segments ----

    pub fn segments(&self) -> Result<Vec<SegmentView>> {
        let sources = self.store.sources()?;
        let exports = self.store.exports()?;
        self.store
            .segments()?
            .into_iter()
            .map(|g| segment_view(g, &sources, &exports))
            .collect()
    }

    pub fn segment_view(&self, id: &str) -> Result<SegmentView> {
        segment_view(
            self.store.segment(id)?,
            &self.store.sources()?,
            &self.store.exports()?,
        )
    }

    /// Add or edit a segment. Its rules must name columns of the source and hold values that
    /// fit their column's type as the Sources screen detects it (when the file can be read now):
    /// `orders > "abc"` on a number column is refused with a
    /// [`crate::filter::FilterError::ValueType`] naming the column and the value.
    pub fn save_segment(&self, input: SegmentInput) -> Result<SegmentView> {
        let name = required("Name", &input.name, "Give the segment a name.")?;
        let source = self.store.source(&input.source_id)?;
        let filter = normalise(input.filter);
        if let Some(f) = &filter {
            f.validate()?;
            let spec = self.source_spec(&source);
            match source::inspect(&spec, INSPECT_ROWS) {
                Ok(info) => {
                    f.compile_typed(&info.columns)?;
                }
                // No rows to detect types from (or no file): the columns, if there are any.
                Err(_) => {
                    if let Ok(rows) = source::open(&spec) {
                        f.compile(rows.columns())?;
                    }
                }
            }
        }
        let id = match &input.id {
            Some(id) => self.store.segment(id)?.id,
            None => new_id(),
        };
        self.store.put_segment(&Segment {
            id: id.clone(),
            name,
            source_id: source.id,
            filter: filter.as_ref().map(Filter::to_text),
        })?;
        self.segment_view(&id)
    }

    /// Remove a segment that no export sends.
    pub fn delete_segment(&self, id: &str) -> Result<()> {
        let g = self.store.segment(id)?;
        let used: Vec<String> = self
            .store
            .exports()?
            .into_iter()
            .filter(|e| e.segment_id == g.id)
            .map(|e| format!("\"{}\"", e.name))
            .collect();
        if !used.is_empty() {
            return Err(CoreError::invalid(
                "Segment",
                format!(
                    "\"{}\" is sent by the export(s) {}. Remove them first, or choose another segment in them.",
                    g.name,
                    used.join(", ")
                ),
            ));
        }
        self.store.delete_segment(&g.id)?;
        Ok(())
    }

    /// The rules of `filter` whose values do not fit their column's type in the source (see
    /// [`Filter::type_problems`]), for the rule builder to show beside each rule while it is
    /// edited — what [`Workspace::save_segment`] would refuse. None when the file cannot be read
    /// now (saving does not check types then either).
    pub fn segment_rule_problems(
        &self,
        source_id: &str,
        filter: Option<&Filter>,
    ) -> Result<Vec<RuleProblem>> {
        let source = self.store.source(source_id)?;
        let Some(f) = filter else {
            return Ok(vec![]);
        };
        Ok(
            match source::inspect(&self.source_spec(&source), INSPECT_ROWS) {
                Ok(info) => f.type_problems(&info.columns),
                Err(_) => vec![],
            },
        )
    }

    /// Count the rows of a source that `filter` keeps, with the first `sample` of them (the
    /// segment editor's live preview; streams the whole file).
    pub fn preview_filter(
        &self,
        source_id: &str,
        filter: Option<&Filter>,
        sample: usize,
    ) -> Result<SegmentPreview> {
        let source = self.store.source(source_id)?;
        let filter = normalise(filter.cloned());
        if let Some(f) = &filter {
            f.validate()?;
        }
        let text = filter.as_ref().map(Filter::to_text);
        crate::workspace::preview_source(&self.source_spec(&source), text.as_deref(), sample)
    }

    // ---- mapping ----

    /// A mapping pre-selected from the segment's source headers, the phone column and its
    /// default country decided by the first rows and this computer's locale (see
    /// [`crate::mapping::suggest_from_rows`]).
    pub fn suggest_mapping(&self, segment_id: &str) -> Result<MappingSuggestion> {
        let locale = crate::mapping::os_locale();
        self.suggest_mapping_for_locale(segment_id, locale.as_deref())
    }

    /// [`Workspace::suggest_mapping`] with the user's locale given (as in `LANG`, e.g.
    /// `pl_PL.UTF-8`; `None`: unknown) instead of read from the environment.
    pub fn suggest_mapping_for_locale(
        &self,
        segment_id: &str,
        locale: Option<&str>,
    ) -> Result<MappingSuggestion> {
        let spec = self.segment_source(segment_id)?.0;
        let mut rows = source::open(&spec)?;
        let columns = rows.columns().to_vec();
        let mut head: Vec<Vec<String>> = Vec::new();
        let mut read = 0;
        while read < TYPE_SAMPLE_ROWS {
            match rows.next_row()? {
                None => break,
                Some(RowItem::Row { values, .. }) => head.push(values),
                Some(RowItem::Bad { .. }) => {}
            }
            read += 1;
        }
        let (mapping, phone_hint) = crate::mapping::suggest_from_rows(&columns, &head, locale);
        Ok(MappingSuggestion {
            mapping,
            phone_hint,
        })
    }

    /// The first profiles of the segment exactly as a run with `mapping` sends them: types
    /// inferred from the source's first rows as the engine does, rows filtered by the segment,
    /// unreadable rows and rejects shown with their line and reason.
    pub fn preview_mapping(&self, segment_id: &str, mapping: &Mapping) -> Result<MappingPreview> {
        let (spec, filter) = self.segment_spec(segment_id)?;
        let mut rows = source::open(&spec)?;
        let columns = rows.columns().to_vec();
        let filter = filter.map(|f| f.compile(&columns)).transpose()?;
        // The types are sampled from the source's first rows, before the filter, as a run does.
        let head = crate::engine::read_head(rows.as_mut())?;
        let mapper = crate::engine::head_mapper(mapping, &columns, &head)?;
        let mut profiles = Vec::new();
        // One identifier, one profile: a later row with a sent row's email or phone is shown
        // rejected, as the run rejects it.
        let mut dups = crate::engine::DuplicateCheck::default();
        let mut consider = |item: RowItem| -> Option<ProfilePreview> {
            let p = match item {
                RowItem::Bad { line, reason } => ProfilePreview {
                    line,
                    profile: None,
                    reject: Some(reason.to_string()),
                    warning: None,
                },
                RowItem::Row { line, values } => {
                    if filter.as_ref().is_some_and(|f| !f.matches(&values)) {
                        return None;
                    }
                    match mapper.map(&values) {
                        Ok(m) => match dups.check(line, &m.email, m.phone.as_deref()) {
                            Some(reason) => ProfilePreview {
                                line,
                                profile: None,
                                reject: Some(reason),
                                warning: None,
                            },
                            None => ProfilePreview {
                                line,
                                profile: Some(pretty(&m.json)),
                                reject: None,
                                warning: m.warning,
                            },
                        },
                        Err(r) => ProfilePreview {
                            line,
                            profile: None,
                            reject: Some(r.reason),
                            warning: None,
                        },
                    }
                }
            };
            Some(p)
        };
        let mut rest = head.into_iter();
        while profiles.len() < PREVIEW_PROFILES {
            let item = match rest.next() {
                Some(item) => item,
                None => match rows.next_row()? {
                    Some(item) => item,
                    None => break,
                },
            };
            if let Some(p) = consider(item) {
                profiles.push(p);
            }
        }
        Ok(MappingPreview { profiles })
    }

    /// The segment's source and its filter (parsed strictly, as a run parses it: a filter an
    /// earlier Segport saved that no longer reads is an error here, with the reason).
    fn segment_spec(&self, segment_id: &str) -> Result<(SourceSpec, Option<Filter>)> {
        let (spec, text) = self.segment_source(segment_id)?;
        let filter = text.as_deref().map(Filter::parse).transpose()?;
        Ok((spec, filter))
    }

    /// The segment's source and its filter as saved (text form).
    fn segment_source(&self, segment_id: &str) -> Result<(SourceSpec, Option<String>)> {
        let g = self.store.segment(segment_id)?;
        let s = self.store.source(&g.source_id)?;
        Ok((self.source_spec(&s), g.filter))
    }
}

/// The attributes of a profile's JSON, pretty-printed (the JSON itself when it cannot be read).
fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .map(|v| v.get("attributes").cloned().unwrap_or(v))
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string())
}

fn segment_view(g: Segment, sources: &[Source], exports: &[Export]) -> Result<SegmentView> {
    // Leniently: a segment saved by an earlier Segport whose value no longer reads as a date
    // (`03/01/2024`) is still listed and can be opened, where the rule builder points at it.
    let filter = g.filter.as_deref().map(Filter::parse_saved).transpose()?;
    Ok(SegmentView {
        source_name: sources
            .iter()
            .find(|s| s.id == g.source_id)
            .map(|s| s.name.clone())
            .unwrap_or_default(),
        exports: exports
            .iter()
            .filter(|e| e.segment_id == g.id)
            .map(|e| e.name.clone())
            .collect(),
        filter_text: filter.as_ref().map(Filter::to_text),
        filter,
        id: g.id,
        name: g.name,
        source_id: g.source_id,
    })
}

pub(crate) fn unique_name(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base} ({i})"))
        .find(|n| !taken.contains(n))
        .unwrap_or_else(|| base.to_string())
}
