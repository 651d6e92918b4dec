// The export form's schedule: the editor's draft, the `Schedule` it sends, and how a schedule
// reads in the exports list. Pure functions only.

import type { Schedule } from "../../api";
import { formatDateTime } from "../../format";

export type ScheduleKind = Schedule["kind"];

export const MIN_HOURS = 1;
export const MAX_HOURS = 720;

/** What the inputs hold: text, as typed. */
export interface ScheduleDraft {
  kind: ScheduleKind;
  /** For "every": whole hours, 1–720. */
  hours: string;
  /** For "daily": local time "HH:MM". */
  at: string;
}

export const DEFAULT_HOURS = "24";
export const DEFAULT_AT = "09:00";

/** "09:30:00" (or "09:30", or "09:30:00.5") → "09:30". */
export function shortTime(at: string): string {
  const match = /^(\d{1,2}):(\d{2})/.exec(at.trim());
  if (!match) return at;
  return `${match[1].padStart(2, "0")}:${match[2]}`;
}

export function draftFromSchedule(schedule: Schedule): ScheduleDraft {
  switch (schedule.kind) {
    case "every":
      return { kind: "every", hours: String(schedule.hours), at: DEFAULT_AT };
    case "daily":
      return { kind: "daily", hours: DEFAULT_HOURS, at: shortTime(schedule.at) };
    default:
      return { kind: "manual", hours: DEFAULT_HOURS, at: DEFAULT_AT };
  }
}

/** Why the draft is not a schedule, or null when it is. */
export function validateSchedule(draft: ScheduleDraft): string | null {
  if (draft.kind === "every") {
    const text = draft.hours.trim();
    const hours = Number(text);
    if (text === "" || !/^\d+$/.test(text) || hours < MIN_HOURS || hours > MAX_HOURS) {
      return `Enter a whole number of hours from ${MIN_HOURS} to ${MAX_HOURS}.`;
    }
  }
  if (draft.kind === "daily") {
    const match = /^(\d{2}):(\d{2})$/.exec(draft.at.trim());
    if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) {
      return "Enter a time of day as HH:MM, e.g. 09:30.";
    }
  }
  return null;
}

/** The Schedule to send (daily times with seconds, "HH:MM:00"), or null when the draft is invalid. */
export function scheduleFromDraft(draft: ScheduleDraft): Schedule | null {
  if (validateSchedule(draft) !== null) return null;
  switch (draft.kind) {
    case "every":
      return { kind: "every", hours: Number(draft.hours.trim()) };
    case "daily":
      return { kind: "daily", at: `${draft.at.trim()}:00` };
    default:
      return { kind: "manual" };
  }
}

/** "Manual", "Every 6 h · next 2 Jan 2025, 16:00", "Daily at 09:30 · next …" (local time). */
export function describeSchedule(schedule: Schedule, nextRunAt: string | null): string {
  const next = nextRunAt ? ` · next ${formatDateTime(nextRunAt)}` : "";
  switch (schedule.kind) {
    case "every":
      return `Every ${schedule.hours} h${next}`;
    case "daily":
      return `Daily at ${shortTime(schedule.at)}${next}`;
    default:
      return "Manual";
  }
}
