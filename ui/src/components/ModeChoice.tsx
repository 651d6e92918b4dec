import { useId } from "react";
import type { ExportMode } from "../api";

export const MODE_LABEL: Record<ExportMode, string> = { upsert: "Upsert", mirror: "Mirror" };

export const MODE_EXPLANATION: Record<ExportMode, string> = {
  upsert: "Adds and updates profiles in the list; never removes anyone.",
  mirror: "Also removes from the list the profiles that left the segment since the last run.",
};

const MODES: ExportMode[] = ["upsert", "mirror"];

/** Upsert or Mirror: two radios in a fieldset, each with its one-sentence explanation. */
export function ModeChoice({
  value,
  onChange,
  disabled,
}: {
  value: ExportMode;
  onChange: (mode: ExportMode) => void;
  disabled?: boolean;
}) {
  const id = useId();
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
    </fieldset>
  );
}
