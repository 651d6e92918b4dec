import { useCallback, useRef, useState } from "react";
import * as api from "./api";
import type { AppError, ExportView, RunEvent, RunSummary } from "./api";
import { addRowSample, handledRows, type RowSample } from "./eta";
import { addSample, type Sample } from "./throughput";

export interface RunState {
  exportItem: ExportView;
  startedAt: number;
  /** The latest progress event; its runId is what cancel needs. */
  last: RunEvent | null;
  /** When each event arrived and how many profiles had been sent (throughput). */
  samples: Sample[];
  /** When each event arrived and how many rows of the segment had been read (time left). */
  rows: RowSample[];
  /**
   * How many rows the segment has, counted when the run started (null until counted, or when
   * it could not be): what makes a time-left estimate honest.
   */
  total: number | null;
  summary: RunSummary | null;
  /** The run could not happen, or the command failed (no summary then). */
  error: AppError | null;
  cancelling: boolean;
  cancelError: string | null;
}

/**
 * One export run at a time, started from a click (not from an effect, so React's
 * development double-mount never starts a run twice).
 */
export function useExportRun() {
  const [run, setRun] = useState<RunState | null>(null);
  const active = useRef(false);
  // Which run a late answer (the segment's count) belongs to.
  const generation = useRef(0);

  const start = useCallback((exportItem: ExportView) => {
    if (active.current) return;
    active.current = true;
    const runNumber = ++generation.current;
    setRun({
      exportItem,
      startedAt: Date.now(),
      last: null,
      samples: [],
      rows: [],
      total: null,
      summary: null,
      error: null,
      cancelling: false,
      cancelError: null,
    });
    const update = (patch: Partial<RunState>) => setRun((current) => (current ? { ...current, ...patch } : current));
    api
      .runExport(exportItem.id, (event) => {
        const t = Date.now();
        setRun((current) =>
          current
            ? {
                ...current,
                last: event,
                samples: addSample(current.samples, { t, sent: event.counts.sent }),
                rows: addRowSample(current.rows, { t, rows: handledRows(event.counts) }),
              }
            : current,
        );
      })
      .then((summary) => update({ summary }))
      .catch((e: unknown) => update({ error: api.toAppError(e) }))
      .finally(() => {
        active.current = false;
      });
    // The total, for the time left: the segment's rows, counted alongside the run. Without it
    // (the count failed, the segment is gone) the run view shows no estimate.
    void countSegment(exportItem).then((total) => {
      if (total !== null && generation.current === runNumber) {
        setRun((current) => (current && current.exportItem.id === exportItem.id ? { ...current, total } : current));
      }
    });
  }, []);

  const cancel = useCallback(async () => {
    const runId = run?.last?.runId;
    if (!runId) return;
    setRun((current) => (current ? { ...current, cancelling: true, cancelError: null } : current));
    try {
      await api.cancelRun(runId);
    } catch (e) {
      const message = api.toAppError(e).message;
      setRun((current) => (current ? { ...current, cancelling: false, cancelError: message } : current));
    }
  }, [run?.last?.runId]);

  const close = useCallback(() => {
    if (!active.current) setRun(null);
  }, []);

  return { run, start, cancel, close };
}

/** The number of rows in the export's segment, or null when it cannot be counted. */
async function countSegment(exportItem: ExportView): Promise<number | null> {
  try {
    const segment = (await api.listSegments()).find((s) => s.id === exportItem.segmentId);
    if (!segment) return null;
    const preview = await api.previewSegment(segment.sourceId, segment.filter);
    return preview.matching;
  } catch {
    return null;
  }
}
