import { useCallback, useRef, useState } from "react";
import * as api from "./api";
import type { AppError, ExportView, RunEvent, RunSummary } from "./api";
import { addSample, type Sample } from "./throughput";

export interface RunState {
  exportItem: ExportView;
  startedAt: number;
  /** The latest progress event; its runId is what cancel needs. */
  last: RunEvent | null;
  /** When each event arrived and how many profiles had been sent (throughput). */
  samples: Sample[];
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

  const start = useCallback((exportItem: ExportView) => {
    if (active.current) return;
    active.current = true;
    setRun({
      exportItem,
      startedAt: Date.now(),
      last: null,
      samples: [],
      summary: null,
      error: null,
      cancelling: false,
      cancelError: null,
    });
    const update = (patch: Partial<RunState>) => setRun((current) => (current ? { ...current, ...patch } : current));
    api
      .runExport(exportItem.id, (event) => {
        const sample = { t: Date.now(), sent: event.counts.sent };
        setRun((current) => (current ? { ...current, last: event, samples: addSample(current.samples, sample) } : current));
      })
      .then((summary) => update({ summary }))
      .catch((e: unknown) => update({ error: api.toAppError(e) }))
      .finally(() => {
        active.current = false;
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
