import type { Consent, RunPhase, RunStatus, RunTrigger, UsableBy } from "./api";

/** "Marta Kowalska (OS account marta)": who gave a consent, and from which OS account (older
 * consents recorded only the OS account, as `by`). */
export function consentGiver(consent: Consent): string {
  return consent.osUser ? `${consent.by} (OS account ${consent.osUser})` : consent.by;
}

/** Local date and time for an RFC 3339 timestamp; the raw text if it does not parse. */
export function formatDateTime(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "—";
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  return date.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** "850 ms", "4.2 s", "3 min 5 s", "2 h 4 min". */
export function formatDuration(milliseconds: number): string {
  if (!Number.isFinite(milliseconds) || milliseconds < 0) return "—";
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  const seconds = milliseconds / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${whole % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Duration between two RFC 3339 timestamps; "—" while unfinished or unparsable. */
export function durationBetween(startedAt: string, finishedAt: string | null): string {
  if (!finishedAt) return "—";
  const ms = new Date(finishedAt).getTime() - new Date(startedAt).getTime();
  return formatDuration(ms);
}

export function formatCount(n: number): string {
  return n.toLocaleString();
}

export const STATUS_LABEL: Record<RunStatus, string> = {
  running: "Running",
  succeeded: "Succeeded",
  partial: "Partial",
  failed: "Failed",
  cancelled: "Cancelled",
  interrupted: "Interrupted",
  superseded: "Not continued",
  held: "Removals held",
};

export const STATUS_HINT: Record<RunStatus, string> = {
  running: "The export is running.",
  succeeded: "Every row was exported.",
  partial: "The run finished, but some rows were rejected. See the rejects below.",
  failed: "The run failed. Nothing more was sent after the error.",
  cancelled: "The run was cancelled. Running the export again resumes where it stopped.",
  interrupted: "The run was interrupted (the app closed or crashed). Running it again resumes it.",
  superseded:
    "This run was not continued: a fresh run took its place (Start over, Send everyone again, or something it depends on changed). Its details say why. Profiles Klaviyo accepted are not lost.",
  held: "The segment was sent (changed profiles imported, unchanged ones skipped), but removing the profiles that left it looked like an accident: those removals wait for your confirmation.",
};

export const PHASE_LABEL: Record<RunPhase, string> = {
  starting: "Starting…",
  reading: "Reading the source…",
  sending: "Sending profiles to Klaviyo…",
  waiting: "Waiting for Klaviyo to finish importing…",
  fetching: "Fetching the rows Klaviyo could not import…",
  removing: "Removing the profiles that left the segment from the list…",
  finished: "Finished",
};

export const TRIGGER_LABEL: Record<RunTrigger, string> = {
  manual: "Manual",
  schedule: "Schedule",
  cli: "Command line",
};

export const USABLE_BY_LABEL: Record<UsableBy, string> = {
  admins: "Admins only",
  contributors: "Admins and contributors",
};

/** "path/to/file.csv" → "file.csv" (either slash). */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}
