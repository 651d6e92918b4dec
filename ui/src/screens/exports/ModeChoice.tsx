import { useId } from "react";
import type { ExportMode } from "../../api";
import type { GuardDraft, GuardErrors } from "../../removals";

export const MODE_LABEL: Record<ExportMode, string> = { upsert: "Upsert", mirror: "Mirror" };

export const MODE_EXPLANATION: Record<ExportMode, string> = {
  upsert: "Adds and updates profiles in the list; never removes anyone.",
  mirror: "Also removes from the list the profiles that left the segment since the last run.",
};

const MODES: ExportMode[] = ["upsert", "mirror"];

export const GUARD_EXPLANATION =
  "A mirror run that would remove more than this, of the profiles it sent to the list before, removes nobody and waits for your confirmation.";

/**
 * Upsert or Mirror: two radios in a fieldset, each with its one-sentence explanation; in Mirror
 * mode, the removal guard ("Hold removals above __ % or __ profiles") when `guard` is given.
 */
export function ModeChoice({
  value,
  onChange,
  disabled,
  guard,
  onGuardChange,
  guardErrors,
}: {
  value: ExportMode;
  onChange: (mode: ExportMode) => void;
  disabled?: boolean;
  guard?: GuardDraft;
  onGuardChange?: (guard: GuardDraft) => void;
  guardErrors?: GuardErrors;
}) {
  const id = useId();
  const percentError = guardErrors?.percent ?? null;
  const countError = guardErrors?.count ?? null;
  const describe = (error: string | null, errorId: string) =>
    [`${id}-guard-hint`, error ? errorId : null].filter(Boolean).join(" ");
  return (
    <fieldset className="group" data-testid="export-mode">
      <legend>Mode</legend>
      {MODES.map((mode) => (
        <label key={mode} className="choice" htmlFor={`${id}-${mode}`}>
          <input
            id={`${id}-${mode}`}
            type="radio"
            name={`${id}-mode`}
            value={mode}
            checked={value === mode}
            onChange={() => onChange(mode)}
            disabled={disabled}
            aria-describedby={`${id}-${mode}-hint`}
            data-testid={`export-mode-${mode}`}
          />
          <span>
            <strong>{MODE_LABEL[mode]}</strong>
            <span id={`${id}-${mode}-hint`} className="hint choice-hint">
              {MODE_EXPLANATION[mode]}
            </span>
          </span>
        </label>
      ))}
      {value === "mirror" && guard && onGuardChange && (
        <div className="removal-guard" role="group" aria-labelledby={`${id}-guard-label`} data-testid="removal-guard">
          <div className="removal-guard-row">
            <span id={`${id}-guard-label`}>Hold removals above</span>
            <input
              type="number"
              inputMode="numeric"
              min={0}
              max={100}
              step={1}
              value={guard.percent}
              onChange={(e) => onGuardChange({ ...guard, percent: e.target.value })}
              className="input-short"
              disabled={disabled}
              aria-label="Hold removals above this percentage of the list"
              aria-invalid={percentError ? true : undefined}
              aria-describedby={describe(percentError, `${id}-guard-percent-error`)}
              data-testid="guard-percent"
            />
            <span>% or</span>
            <input
              type="number"
              inputMode="numeric"
              min={0}
              step={1}
              value={guard.count}
              onChange={(e) => onGuardChange({ ...guard, count: e.target.value })}
              className="input-short"
              disabled={disabled}
              aria-label="Hold removals above this number of profiles"
              aria-invalid={countError ? true : undefined}
              aria-describedby={describe(countError, `${id}-guard-count-error`)}
              data-testid="guard-count"
            />
            <span>profiles</span>
          </div>
          {percentError && (
            <p id={`${id}-guard-percent-error`} className="field-error" data-testid="guard-percent-error">
              Percentage: {percentError}
            </p>
          )}
          {countError && (
            <p id={`${id}-guard-count-error`} className="field-error" data-testid="guard-count-error">
              Profiles: {countError}
            </p>
          )}
          <p id={`${id}-guard-hint`} className="hint">
            {GUARD_EXPLANATION}
          </p>
        </div>
      )}
    </fieldset>
  );
}
