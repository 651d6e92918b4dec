// A run's estimated time left, only when it can be honest about it.
//
// A run streams its source, so its events never say how many rows there will be. The total is
// knowable only from a count of the segment made when the run starts (previewSegment counts the
// matching rows of the whole file): with it, the rows of the segment handled so far (sent to
// Klaviyo, rejected, or skipped as unchanged — see `handledRows`; the reader runs ahead of the
// network, so rows read would overstate the progress) and their pace give the time left. Without a total,
// or once every row is read (waiting for Klaviyo, fetching errors and removing take as long as
// Klaviyo takes), there is no estimate.

import type { RunCounts, RunPhase } from "./api";
import { formatDuration } from "./format";
import { addTimed } from "./throughput";

/** When (ms) and how many rows of the segment had been read by then. */
export interface RowSample {
  t: number;
  rows: number;
}

/** Keep the last `keepMs` of samples; one sample per instant. */
export function addRowSample(samples: RowSample[], sample: RowSample, keepMs = 30_000): RowSample[] {
  return addTimed(samples, sample, keepMs);
}

/** Rows per second over the last `windowMs`; null until two samples a moment apart exist. */
export function rowRate(samples: RowSample[], windowMs = 10_000): number | null {
  if (samples.length < 2) return null;
  const last = samples[samples.length - 1];
  let start = samples.find((s) => s.t >= last.t - windowMs) ?? samples[0];
  if (start === last) start = samples[samples.length - 2];
  const seconds = (last.t - start.t) / 1000;
  if (seconds <= 0) return null;
  return Math.max(0, (last.rows - start.rows) / seconds);
}

/** Rows of the segment dealt with: sent to Klaviyo, rejected, or skipped as unchanged. */
export function handledRows(counts: RunCounts): number {
  return Math.min(counts.matched, counts.sent + counts.rejected + counts.unchanged);
}

const ESTIMATED_PHASES: RunPhase[] = ["starting", "reading", "sending"];

/**
 * Milliseconds left, or null when there is no honest estimate: no total, a phase after the
 * sending, every row handled already, or no pace measured yet.
 */
export function estimateRemaining(
  total: number | null,
  counts: RunCounts,
  phase: RunPhase,
  samples: RowSample[],
): number | null {
  if (total === null || total <= 0) return null;
  if (!ESTIMATED_PHASES.includes(phase)) return null;
  const left = total - handledRows(counts);
  if (left <= 0) return null;
  const rate = rowRate(samples);
  if (rate === null || rate <= 0) return null;
  return (left / rate) * 1000;
}

/** "about 40 s left", "about 3 min 5 s left", "about 2 h 4 min left". */
export function formatRemaining(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return `about ${seconds < 60 ? `${seconds} s` : formatDuration(seconds * 1000)} left`;
}
