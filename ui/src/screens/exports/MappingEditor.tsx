import { useEffect, useId, useState } from "react";
import type { InvalidPhone } from "../../api";
import {
  MAIN_FIELDS,
  MORE_FIELDS,
  newPropertyRow,
  type ColumnKey,
  type FieldInfo,
  type MappingDraft,
  type MappingErrors,
  type PropertyRow,
} from "./mapping";

interface MappingEditorProps {
  draft: MappingDraft;
  /** The source's columns ([] when the file cannot be read now). */
  columns: string[];
  errors: MappingErrors;
  onChange: (draft: MappingDraft) => void;
  /**
   * Beside the phone field: why the suggested default country was chosen, or why the phone
   * column was left unmapped (see `phoneHint` in mapping.ts).
   */
  phoneHint?: string | null;
  disabled?: boolean;
}

/** Options for a column select: "Not sent", the source's columns, and the current value if the file lacks it. */
function ColumnOptions({ columns, value, required }: { columns: string[]; value: string; required?: boolean }) {
  return (
    <>
      <option value="" disabled={required}>
        {required ? "Choose the email column" : "Not sent"}
      </option>
      {value && !columns.includes(value) && (
        <option value={value}>{columns.length > 0 ? `${value} (not in the file)` : value}</option>
      )}
      {columns.map((c) => (
        <option key={c} value={c}>
          {c}
        </option>
      ))}
    </>
  );
}

/**
 * Which columns become which Klaviyo profile attributes: the standard ones (the location
 * fields under "More attributes"), phone handling and custom properties.
 */
export function MappingEditor({ draft, columns, errors, onChange, phoneHint, disabled }: MappingEditorProps) {
  const id = useId();
  const moreMapped = MORE_FIELDS.some((f) => draft.columns[f.key] !== "");
  const [moreOpen, setMoreOpen] = useState(moreMapped);
  // A suggestion or a saved mapping that uses them opens "More attributes".
  useEffect(() => {
    if (moreMapped) setMoreOpen(true);
  }, [moreMapped]);
  // So does an error in one of them.
  const open = moreOpen || MORE_FIELDS.some((f) => errors.columns[f.key] !== undefined);

  function setColumn(key: ColumnKey, column: string) {
    onChange({ ...draft, columns: { ...draft.columns, [key]: column } });
  }

  function setRow(rowId: number, patch: Partial<PropertyRow>) {
    onChange({ ...draft, properties: draft.properties.map((r) => (r.id === rowId ? { ...r, ...patch } : r)) });
  }

  function field(info: FieldInfo) {
    const fieldId = `${id}-attr-${info.key}`;
    const error = errors.columns[info.key];
    const note = info.key === "phone_number" ? phoneHint : null;
    const describedBy = [
      info.hint ? `${fieldId}-hint` : null,
      note ? `${fieldId}-note` : null,
      error ? `${fieldId}-error` : null,
    ]
      .filter(Boolean)
      .join(" ");
    return (
      <div className="field mapping-field" key={info.key}>
        <label htmlFor={fieldId}>
          {info.label}
          {info.key === "email" && <span className="required-mark"> (required)</span>}
        </label>
        <select
          id={fieldId}
          value={draft.columns[info.key]}
          onChange={(e) => setColumn(info.key, e.target.value)}
          disabled={disabled}
          required={info.key === "email"}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy || undefined}
          data-testid={`mapping-${info.key}`}
        >
          <ColumnOptions columns={columns} value={draft.columns[info.key]} required={info.key === "email"} />
        </select>
        {info.hint && (
          <p id={`${fieldId}-hint`} className="hint">
            {info.hint}
          </p>
        )}
        {note && (
          <p
            id={`${fieldId}-note`}
            className={draft.columns.phone_number ? "hint" : "hint warn-text"}
            data-testid="mapping-phone-hint"
          >
            {note}
          </p>
        )}
        {error && (
          <p id={`${fieldId}-error`} className="field-error" data-testid={`mapping-${info.key}-error`}>
            {error}
          </p>
        )}
      </div>
    );
  }

  // React 19 maps `open` + `onToggle` on <details> (a click on the summary toggles it).
  return (
    <div className="mapping-editor" data-testid="mapping-editor">
      <div className="mapping-grid">{MAIN_FIELDS.map(field)}</div>

      <div className="mapping-phone">
        <div className="field">
          <label htmlFor={`${id}-default-country`}>Default country for phone numbers</label>
          <input
            id={`${id}-default-country`}
            type="text"
            value={draft.defaultCountry}
            onChange={(e) => onChange({ ...draft, defaultCountry: e.target.value })}
            placeholder="e.g. US"
            maxLength={2}
            autoComplete="off"
            spellCheck={false}
            className="input-short"
            disabled={disabled}
            aria-invalid={errors.defaultCountry ? true : undefined}
            aria-describedby={`${id}-default-country-hint${errors.defaultCountry ? ` ${id}-default-country-error` : ""}`}
            data-testid="mapping-default_country"
          />
          <p id={`${id}-default-country-hint`} className="hint">
            Two-letter code used for numbers written without a country code (+…).
          </p>
          {errors.defaultCountry && (
            <p id={`${id}-default-country-error`} className="field-error" data-testid="mapping-default_country-error">
              {errors.defaultCountry}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor={`${id}-invalid-phone`}>When a phone number is invalid</label>
          <select
            id={`${id}-invalid-phone`}
            value={draft.invalidPhone}
            onChange={(e) => onChange({ ...draft, invalidPhone: e.target.value as InvalidPhone })}
            disabled={disabled}
            data-testid="mapping-invalid_phone"
          >
            <option value="reject">Reject the row (reported with the rejects)</option>
            <option value="omit">Send the profile without a phone number</option>
          </select>
        </div>
      </div>

      <details
        className="advanced mapping-more"
        open={open}
        onToggle={(e) => setMoreOpen(e.currentTarget.open)}
      >
        <summary data-testid="mapping-more">More attributes (address, location, locale…)</summary>
        <div className="mapping-grid">{MORE_FIELDS.map(field)}</div>
      </details>

      <fieldset className="field mapping-properties">
        <legend>Custom properties</legend>
        <p className="hint" id={`${id}-props-hint`}>
          Any other column, under a Klaviyo property name of your choice. Numbers and true/false values are sent as
          such.
        </p>
        {draft.properties.length > 0 && (
          <ul className="property-rows">
            {draft.properties.map((row, index) => {
              const rowId = `${id}-prop-${row.id}`;
              const error = errors.properties[row.id];
              return (
                <li key={row.id} className="property-row" data-testid="mapping-property">
                  <div className="field">
                    <label htmlFor={`${rowId}-name`}>Property name {index + 1}</label>
                    <input
                      id={`${rowId}-name`}
                      type="text"
                      value={row.name}
                      onChange={(e) => setRow(row.id, { name: e.target.value })}
                      placeholder="e.g. plan"
                      autoComplete="off"
                      spellCheck={false}
                      disabled={disabled}
                      aria-invalid={error ? true : undefined}
                      aria-describedby={error ? `${rowId}-error` : undefined}
                      data-testid="mapping-property-name"
                    />
                  </div>
                  <div className="field">
                    <label htmlFor={`${rowId}-column`}>From column</label>
                    <select
                      id={`${rowId}-column`}
                      value={row.column}
                      onChange={(e) => setRow(row.id, { column: e.target.value })}
                      disabled={disabled}
                      aria-invalid={error ? true : undefined}
                      aria-describedby={error ? `${rowId}-error` : undefined}
                      data-testid="mapping-property-column"
                    >
                      <option value="" disabled>
                        Choose a column
                      </option>
                      {row.column && !columns.includes(row.column) && (
                        <option value={row.column}>
                          {columns.length > 0 ? `${row.column} (not in the file)` : row.column}
                        </option>
                      )}
                      {columns.map((c) => (
                        <option key={c} value={c}>
                          {c}
                        </option>
                      ))}
                    </select>
                  </div>
                  <button
                    type="button"
                    className="button-danger-quiet property-remove"
                    onClick={() => onChange({ ...draft, properties: draft.properties.filter((r) => r.id !== row.id) })}
                    disabled={disabled}
                    aria-label={`Remove property ${row.name.trim() || index + 1}`}
                    data-testid="mapping-property-remove"
                  >
                    Remove
                  </button>
                  {error && (
                    <p id={`${rowId}-error`} className="field-error property-error" data-testid="mapping-property-error">
                      {error}
                    </p>
                  )}
                </li>
              );
            })}
          </ul>
        )}
        <div>
          <button
            type="button"
            onClick={() => onChange({ ...draft, properties: [...draft.properties, newPropertyRow()] })}
            disabled={disabled}
            aria-describedby={`${id}-props-hint`}
            data-testid="mapping-add-property"
          >
            Add a property
          </button>
        </div>
      </fieldset>
    </div>
  );
}
