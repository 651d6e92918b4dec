import { useId, useState, type FormEvent } from "react";
import * as api from "../../api";
import type { PickedFile, SourceView } from "../../api";
import { KIND_LABEL } from "./SourceRow";
import { FormActions } from "../../components/FormActions";

interface SourceFormProps {
  /** null for a new source. */
  existing: SourceView | null;
  /** The file chosen in the native dialog (a new source always has one). */
  picked: PickedFile | null;
  onSaved: (saved: SourceView) => void;
  onCancel: () => void;
  /** Reports whether a save is going (the dialog around the form ignores Escape meanwhile). */
  onBusyChange?: (busy: boolean) => void;
}

/** Names a picked file (and, for a SQLite file, chooses its table); also renames a source. */
export function SourceForm({ existing, picked: initialPick, onSaved, onCancel, onBusyChange }: SourceFormProps) {
  const id = useId();
  const [picked, setPicked] = useState<PickedFile | null>(initialPick);
  const defaultName = picked?.fileName ?? existing?.name ?? "";
  const [name, setName] = useState(existing?.name ?? initialPick?.fileName ?? "");
  const [nameTouched, setNameTouched] = useState(existing !== null);
  const [table, setTable] = useState<string>(() => initialPick?.tables[0] ?? existing?.table ?? "");
  const [saving, setSaving] = useState(false);
  const [picking, setPicking] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const kind = picked?.kind ?? existing?.kind ?? "csv";
  const path = picked?.path ?? existing?.path ?? "";
  const fileName = picked?.fileName ?? existing?.fileName ?? "";
  const isSqlite = kind === "sqlite";
  // A new pick lists its tables; an existing source keeps its table until another file is chosen.
  const tables = picked ? picked.tables : existing?.table ? [existing.table] : [];

  const missing: string[] = [];
  if (!name.trim()) missing.push("a name");
  if (isSqlite && !table) missing.push(tables.length === 0 ? "a database with a table" : "a table");
  const canSave = missing.length === 0 && !saving && !picking;

  async function chooseAnother() {
    setPicking(true);
    setError(null);
    try {
      const next = await api.pickSourceFile();
      if (next) {
        setPicked(next);
        setTable(next.tables[0] ?? "");
        if (!nameTouched || name.trim() === "" || name === defaultName) setName(next.fileName);
      }
    } catch (e) {
      setError(api.toAppError(e).message);
    } finally {
      setPicking(false);
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!canSave) return;
    setSaving(true);
    onBusyChange?.(true);
    setError(null);
    try {
      const saved = await api.saveSource({
        id: existing?.id ?? null,
        name: name.trim(),
        kind,
        path,
        table: isSqlite ? table : null,
      });
      onSaved(saved);
    } catch (e) {
      setError(api.toAppError(e).message);
    } finally {
      setSaving(false);
      onBusyChange?.(false);
    }
  }

  return (
    <form className="source-form" onSubmit={(e) => void submit(e)} data-testid="source-form" noValidate>
      <div className="field">
        <span className="label" id={`${id}-file-label`}>
          File
        </span>
        <div className="file-pick" role="group" aria-labelledby={`${id}-file-label`}>
          <span className="file-name" data-testid="source-file-name">
            {fileName}
          </span>
          <span className="badge">{KIND_LABEL[kind]}</span>
          <button type="button" onClick={() => void chooseAnother()} disabled={picking || saving} data-testid="source-pick-other">
            {picking ? "Choosing…" : "Choose another file…"}
          </button>
        </div>
        <p className="hint mono" data-testid="source-path">
          {path}
        </p>
      </div>

      <div className="field">
        <label htmlFor={`${id}-name`}>Name</label>
        <input
          id={`${id}-name`}
          type="text"
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            setNameTouched(true);
          }}
          autoComplete="off"
          required
          data-autofocus
          aria-describedby={`${id}-name-hint`}
          data-testid="source-name"
        />
        <p id={`${id}-name-hint`} className="hint">
          How segments and exports refer to this file.
        </p>
      </div>

      {isSqlite && (
        <div className="field">
          <label htmlFor={`${id}-table`}>Table</label>
          {tables.length === 0 ? (
            <p className="hint warn-text" data-testid="source-no-tables">
              This database has no tables. Choose another file.
            </p>
          ) : (
            <select
              id={`${id}-table`}
              value={table}
              onChange={(e) => setTable(e.target.value)}
              disabled={!picked}
              aria-describedby={`${id}-table-hint`}
              data-testid="source-table"
            >
              {tables.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          )}
          <p id={`${id}-table-hint`} className="hint">
            {picked
              ? "The table that holds the customers, one row each."
              : "To use another table, choose the file again (“Choose another file…”)."}
          </p>
        </div>
      )}

      {error && (
        <p className="result result-error" role="alert" data-testid="source-form-error">
          {error}
        </p>
      )}

      <FormActions
        testid="source"
        saveLabel={existing ? "Save source" : "Add source"}
        canSave={canSave}
        saving={saving}
        missing={missing}
        onCancel={onCancel}
      />
    </form>
  );
}
