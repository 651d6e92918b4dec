/**
 * The action row of a form: the submit button (disabled until the form can be saved, "Saving…"
 * while it is), Cancel, and what the form still needs. `testid` prefixes the data-testids:
 * `<testid>-save`, `<testid>-cancel`, `<testid>-missing`.
 */
export function FormActions({
  testid,
  saveLabel,
  canSave,
  saving,
  missing,
  onCancel,
}: {
  testid: string;
  saveLabel: string;
  canSave: boolean;
  saving: boolean;
  missing: string[];
  onCancel: () => void;
}) {
  return (
    <div className="actions">
      <button type="submit" className="button-primary" disabled={!canSave} data-testid={`${testid}-save`}>
        {saving ? "Saving…" : saveLabel}
      </button>
      <button type="button" onClick={onCancel} disabled={saving} data-testid={`${testid}-cancel`}>
        Cancel
      </button>
      {missing.length > 0 && (
        <span className="hint" data-testid={`${testid}-missing`}>
          Needs {missing.join(", ")}.
        </span>
      )}
    </div>
  );
}
