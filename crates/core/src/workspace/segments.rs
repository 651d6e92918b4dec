//! Segments: the preview of a saved segment by name (the CLI's `segment preview`). The Segments
//! screen is served from [`crate::catalog`].

use super::{preview_source, Workspace};
use crate::model::*;
use crate::{CoreError, Result};

impl Workspace {
    /// Count a segment's rows and keep the first `sample` matching ones, streaming the source.
    /// `filter` (text form) overrides the segment's own, for a live preview while editing.
    pub fn segment_preview(
        &self,
        segment_name: &str,
        filter: Option<&str>,
        sample: usize,
    ) -> Result<SegmentPreview> {
        let segment = self
            .store
            .segments()?
            .into_iter()
            .find(|s| s.name == segment_name)
            .ok_or_else(|| CoreError::NotFound {
                what: "Segment",
                name: segment_name.to_string(),
            })?;
        let source = self.store.source(&segment.source_id)?;
        let text = filter.or(segment.filter.as_deref());
        preview_source(&self.source_spec(&source), text, sample)
    }
}
