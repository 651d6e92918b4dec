import { useId } from "react";
import { MAX_HOURS, MIN_HOURS, type ScheduleDraft, type ScheduleKind } from "./schedule";

interface ScheduleEditorProps {
  draft: ScheduleDraft;
  onChange: (draft: ScheduleDraft) => void;
  /** Shown next to the hours or the time. */
  error: string | null;
  disabled?: boolean;
}

/** Manual, every N hours, or daily at a local time. Scheduled runs happen while Segport is open. */
export function ScheduleEditor({ draft, onChange, error, disabled }: ScheduleEditorProps) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <fieldset className="group" data-testid="export-schedule-editor">
      <legend>Schedule</legend>
      <div className="schedule-row">
        <div className="field">
          <label htmlFor={`${id}-kind`}>Runs</label>
          <select
            id={`${id}-kind`}
            value={draft.kind}
            onChange={(e) => onChange({ ...draft, kind: e.target.value as ScheduleKind })}
            disabled={disabled}
            aria-describedby={`${id}-hint`}
            data-testid="schedule-kind"
          >
            <option value="manual">Manually (only when you click Run)</option>
            <option value="every">Every few hours</option>
            <option value="daily">Daily at a set time</option>
          </select>
        </div>
        {draft.kind === "every" && (
          <div className="field">
            <label htmlFor={`${id}-hours`}>Every (hours)</label>
            <input
              id={`${id}-hours`}
              type="number"
              inputMode="numeric"
              min={MIN_HOURS}
              max={MAX_HOURS}
              step={1}
              value={draft.hours}
              onChange={(e) => onChange({ ...draft, hours: e.target.value })}
              className="input-short"
              disabled={disabled}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? errorId : undefined}
              data-testid="schedule-hours"
            />
          </div>
        )}
        {draft.kind === "daily" && (
          <div className="field">
            <label htmlFor={`${id}-at`}>At (local time)</label>
            <input
              id={`${id}-at`}
              type="time"
              step={60}
              value={draft.at}
              onChange={(e) => onChange({ ...draft, at: e.target.value })}
              className="input-short"
              disabled={disabled}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? errorId : undefined}
              data-testid="schedule-at"
            />
          </div>
        )}
      </div>
      {error && (
        <p id={errorId} className="field-error" data-testid="schedule-error">
          {error}
        </p>
      )}
      <p id={`${id}-hint`} className="hint">
        {draft.kind === "manual"
          ? "The export runs only when you click Run."
          : "Scheduled runs happen while Segport is open; a run missed while it was closed happens once when it next opens."}
      </p>
    </fieldset>
  );
}
