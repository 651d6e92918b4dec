import type { RunStatus, RunView } from "../../api";
import { everyMember } from "../../unions";

export interface RunFilter {
  /** An export id, or null for every export. */
  exportId: string | null;
  /** A status, or null for every status. */
  status: RunStatus | null;
}

export const NO_FILTER: RunFilter = { exportId: null, status: null };

/** The runs that pass the filter, in their original (newest first) order. */
export function filterRuns(runs: RunView[], filter: RunFilter): RunView[] {
  return runs.filter(
    (r) => (filter.exportId === null || r.exportId === filter.exportId) && (filter.status === null || r.status === filter.status),
  );
}

/** The exports that appear in the runs, once each, sorted by name (for the export filter). */
export function exportsInRuns(runs: RunView[]): { id: string; name: string }[] {
  const byId = new Map<string, string>();
  for (const r of runs) if (!byId.has(r.exportId)) byId.set(r.exportId, r.exportName);
  return [...byId].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
}

/** The statuses that appear in the runs, in a fixed order (for the status filter). */
export function statusesInRuns(runs: RunView[]): RunStatus[] {
  const order = everyMember<RunStatus>()([
    "running",
    "succeeded",
    "partial",
    "held",
    "failed",
    "cancelled",
    "interrupted",
    "superseded",
  ]);
  const present = new Set(runs.map((r) => r.status));
  return order.filter((s) => present.has(s));
}
