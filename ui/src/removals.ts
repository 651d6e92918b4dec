// Mirror mode's removals: the guard that holds them when they look like an accident (the export
// form's "Hold removals above __ % or __ profiles"), and the words for a run that held them.

import type { RemovalGuard } from "./api";

/** The back end's defaults (RemovalGuard::default in crates/core/src/model.rs). */
export const DEFAULT_GUARD: RemovalGuard = { maxPercent: 10, maxCount: 1000 };

/** The guard as typed in the form (text, so a half-typed number is not lost). */
export interface GuardDraft {
  percent: string;
  count: string;
}

export interface GuardErrors {
  percent: string | null;
  count: string | null;
}

export function draftFromGuard(guard: RemovalGuard | null | undefined): GuardDraft {
  const g = guard ?? DEFAULT_GUARD;
  return { percent: String(g.maxPercent), count: String(g.maxCount) };
}

const WHOLE = /^\d+$/;

/** What is wrong with each number, or null (percent: 0–100; count: 0 or more, whole numbers). */
export function validateGuard(draft: GuardDraft): GuardErrors {
  const percent = draft.percent.trim();
  const count = draft.count.trim();
  return {
    percent: WHOLE.test(percent) && Number(percent) <= 100 ? null : "Enter a whole number from 0 to 100.",
    count: WHOLE.test(count) && Number.isSafeInteger(Number(count)) ? null : "Enter a whole number, 0 or more.",
  };
}

/** The guard to save, or null while a number is invalid. */
export function guardFromDraft(draft: GuardDraft): RemovalGuard | null {
  const errors = validateGuard(draft);
  if (errors.percent || errors.count) return null;
  return { maxPercent: Number(draft.percent.trim()), maxCount: Number(draft.count.trim()) };
}

/** "1 profile", "1,234 profiles". */
export function profiles(n: number): string {
  return n === 1 ? "1 profile" : `${n.toLocaleString()} profiles`;
}

/**
 * Why a held run held its removals, taken from its `error` ("Removals held: … because WHY.
 * Check the source; …"); null when the text does not have that shape.
 */
export function heldReason(error: string | null | undefined): string | null {
  if (!error) return null;
  const match = /\bbecause (.+?)\.(?:\s+Check the source\b|\s*$)/s.exec(error);
  return match ? match[1].trim() : null;
}

/**
 * "12 profiles left the segment; their removal from the list Y6nRLr is held because …" — with the
 * run's own explanation when it can be quoted, else without (the caller shows the whole text).
 */
export function heldSentence(held: number, list: string, error: string | null | undefined): string {
  const who = held === 1 ? "1 profile left the segment; its removal" : `${profiles(held)} left the segment; their removal`;
  const why = heldReason(error);
  return why ? `${who} from the list ${list} is held because ${why}.` : `${who} from the list ${list} is held.`;
}

/**
 * The list a held run's `error` names ("… not removed from the list Y6nRLr, because …"), for
 * where only the run is known (History); null when it names none.
 */
export function heldList(error: string | null | undefined): string | null {
  return /\bfrom the list (\S+?),? because\b/.exec(error ?? "")?.[1] ?? null;
}
