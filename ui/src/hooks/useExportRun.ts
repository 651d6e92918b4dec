import { useCallback, useRef, useState } from "react";
import * as api from "../api";
import type { AppError, ExportView, RunChoice, RunEvent, RunSummary } from "../api";
import { addRowSample, handledRows, type RowSample } from "../eta";
import { addSample, type Sample } from "../throughput";

/** How the back end words a run that replaced an interrupted one it could not continue. */
export const NOT_CONTINUED_PREFIX = "The interrupted run was not continued";

export interface RunState {
  exportItem: ExportView;
  /** How the run was asked for (Start over, Send everyone again, confirmed removals); null = Run now / Resume. */
  choice: Partial<RunChoice> | null;
  /**
   * Why the interrupted run was not continued, when the back end said so in the run's first
   * event (its source, segment, mapping, account or list changed, or it was too old).
   */
  notContinued: string | null;
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

  const start = useCallback((exportItem: ExportView, choice?: Partial<RunChoice>) => {
    if (active.current) return;
    active.current = true;
    const runNumber = ++generation.current;
    setRun({
      exportItem,
      choice: choice ?? null,
      notContinued: null,
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
    const onEvent = (event: RunEvent) => {
      const t = Date.now();
      setRun((current) =>
        current
          ? {
              ...current,
              notContinued:
                current.notContinued ??
                (current.last === null && event.message?.startsWith(NOT_CONTINUED_PREFIX) ? event.message : null),
              last: event,
              samples: addSample(current.samples, { t, sent: event.counts.sent }),
              rows: addRowSample(current.rows, { t, rows: handledRows(event.counts) }),
            }
          : current,
      );
    };
    (choice ? api.runExport(exportItem.id, onEvent, choice) : api.runExport(exportItem.id, onEvent))
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
