//! Sources as the engine reads them, and the row count and sample of a source that a filter
//! keeps (the segment editor's preview). The Sources screen is served from [`crate::catalog`].

use super::Workspace;
use crate::filter::Filter;
use crate::model::*;
use crate::source::{self, SourceSpec};
use crate::Result;

impl Workspace {
    /// Whether a stored source reads the file at `path` (the app accepts such a path from the
    /// web view without a dialog pick).
    pub fn is_source_path(&self, path: &str) -> Result<bool> {
        Ok(self.store.sources()?.iter().any(|s| s.path == path))
    }

    /// The source of a segment, as the engine reads it.
    pub fn source_spec(&self, source: &Source) -> SourceSpec {
        SourceSpec::new(source.kind.clone(), &source.path, source.table.as_deref())
    }
}

/// Count a source's rows that `filter` keeps and the first `sample` of them.
pub fn preview_source(
    spec: &SourceSpec,
    filter: Option<&str>,
    sample: usize,
) -> Result<SegmentPreview> {
    let mut rows = source::open(spec)?;
    let columns = rows.columns().to_vec();
    let compiled = match filter.map(str::trim).filter(|f| !f.is_empty()) {
        Some(text) => Some(Filter::parse(text)?.compile(&columns)?),
        None => None,
    };
    let mut out = SegmentPreview {
        columns,
        total: 0,
        matching: 0,
        bad_rows: 0,
        sample: vec![],
    };
    while let Some(item) = rows.next_row()? {
        out.total += 1;
        match item {
            source::RowItem::Bad { .. } => out.bad_rows += 1,
            source::RowItem::Row { values, .. } => {
                if compiled.as_ref().is_none_or(|f| f.matches(&values)) {
                    out.matching += 1;
                    if out.sample.len() < sample {
                        out.sample.push(values);
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_counts_the_segment_and_samples_the_first_matches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        let mut text = String::from("email,country,orders\n");
        for i in 0..1000 {
            let country = if i % 4 == 0 { "PL" } else { "DE" };
            text.push_str(&format!("p{i}@example.com,{country},{}\n", i % 10));
        }
        std::fs::write(&path, text).unwrap();
        let spec = SourceSpec::csv(path);
        let all = preview_source(&spec, None, 3).unwrap();
        assert_eq!((all.total, all.matching, all.sample.len()), (1000, 1000, 3));
        let p = preview_source(&spec, Some("country = \"pl\" and orders >= 4"), 2).unwrap();
        // i % 4 == 0 and i % 10 >= 4: i in {4, 8, 16, 24, 28, 36, …} — 150 of 1000.
        assert_eq!(p.matching, 150);
        assert_eq!(p.sample[0][0], "p4@example.com");
        assert_eq!(p.sample[1][0], "p8@example.com");
        let err = preview_source(&spec, Some("country = "), 2).unwrap_err();
        assert_eq!(err.code(), "segment.filter_invalid");
    }
}
