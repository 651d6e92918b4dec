import { useEffect, useId, useState, type FormEvent } from "react";
import * as api from "../api";
import type { ConnectionView, CsvInfo, ExportView } from "../api";
import { useReportError } from "../errors";
import { baseName } from "../format";
import { ListPicker } from "./ListPicker";

interface ExportFormProps {
  /** null for a new export. */
  existing: ExportView | null;
  connections: ConnectionView[];
  onSaved: (saved: ExportView) => void;
  onCancel: () => void;
  onGoToConnections: () => void;
}

function initialConnectionId(existing: ExportView | null, usable: ConnectionView[]): string {
  if (existing?.connectionId && usable.some((c) => c.id === existing.connectionId)) return existing.connectionId;
  if (!existing && usable.length === 1) return usable[0].id;
  return "";
}

/** Picks the email column for freshly read headers: the suggestion, else the current choice if still there. */
function chooseEmailColumn(csv: CsvInfo, current: string): string {
  if (csv.suggestedEmailColumn && csv.headers.includes(csv.suggestedEmailColumn)) return csv.suggestedEmailColumn;
  if (current && csv.headers.includes(current)) return current;
  return "";
}

export function ExportForm({ existing, connections, onSaved, onCancel, onGoToConnections }: ExportFormProps) {
  const report = useReportError();
  const id = useId();
  const usable = connections.filter((c) => c.usable);

  const [name, setName] = useState(existing?.name ?? "");
  const [connectionId, setConnectionId] = useState(() => initialConnectionId(existing, usable));
  const [csvPath, setCsvPath] = useState<string | null>(existing?.csvPath ?? null);
  const [csv, setCsv] = useState<CsvInfo | null>(null);
  const [csvError, setCsvError] = useState<string | null>(null);
  const [csvBusy, setCsvBusy] = useState(existing !== null);
  const [emailColumn, setEmailColumn] = useState(existing?.emailColumn ?? "");
  const [listId, setListId] = useState(existing?.listId ?? "");
  const [listName, setListName] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  // Editing: re-read the headers of the file the export already uses.
  const existingPath = existing?.csvPath ?? null;
  const existingEmail = existing?.emailColumn ?? "";
  useEffect(() => {
    if (existingPath === null) return;
    let current = true;
    setCsvBusy(true);
    api
      .inspectCsv(existingPath)
      .then((info) => {
        if (!current) return;
        setCsv(info);
        setCsvError(null);
        setEmailColumn(info.headers.includes(existingEmail) ? existingEmail : chooseEmailColumn(info, ""));
      })
      .catch((e: unknown) => {
        if (current) setCsvError(api.toAppError(e).message);
      })
      .finally(() => {
        if (current) setCsvBusy(false);
      });
    return () => {
      current = false;
    };
  }, [existingPath, existingEmail]);

  async function pick() {
    setCsvBusy(true);
    try {
      const info = await api.pickCsv();
      if (info) {
        setCsv(info);
        setCsvPath(info.path);
        setCsvError(null);
        setEmailColumn((current) => chooseEmailColumn(info, current));
      }
    } catch (e) {
      setCsvError(api.toAppError(e).message);
    } finally {
      setCsvBusy(false);
    }
  }

  const headers = csv?.headers ?? (emailColumn ? [emailColumn] : []);
  const missing: string[] = [];
  if (!name.trim()) missing.push("a name");
  if (!connectionId) missing.push("a connection");
  if (!csvPath) missing.push("a CSV file");
  if (!emailColumn) missing.push("the email column");
  if (!listId.trim()) missing.push("a Klaviyo list ID");
  const canSave = missing.length === 0 && !saving;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!canSave || !csvPath) return;
    setSaving(true);
    try {
      const saved = await api.saveExport({
        id: existing?.id ?? null,
        name: name.trim(),
        connectionId,
        csvPath,
        listId: listId.trim(),
        emailColumn,
      });
      onSaved(saved);
    } catch (e) {
      report(e);
    } finally {
      setSaving(false);
    }
  }

  const staleConnection =
    existing?.connectionId && !usable.some((c) => c.id === existing.connectionId) ? existing.connectionName : null;

  return (
    <form className="form" onSubmit={(e) => void submit(e)} data-testid="export-form" noValidate>
      <div className="field">
        <label htmlFor={`${id}-name`}>Name</label>
        <input
          id={`${id}-name`}
          type="text"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. VIP customers → Newsletter"
          autoComplete="off"
          required
          data-testid="export-name"
        />
      </div>

      <fieldset className="group">
        <legend>Destination</legend>
        {usable.length === 0 ? (
          <div className="notice notice-warn" role="status" data-testid="destination-unavailable">
            <p>
              Klaviyo destination unavailable: no usable connection. Create a connection (and record consent) first.
            </p>
            <button type="button" onClick={onGoToConnections} data-testid="go-to-connections">
              Go to Connections
            </button>
          </div>
        ) : (
          <>
            <div className="field">
              <label htmlFor={`${id}-connection`}>Klaviyo connection</label>
              <select
                id={`${id}-connection`}
                value={connectionId}
                onChange={(e) => setConnectionId(e.target.value)}
                required
                data-testid="export-connection"
              >
                {connectionId === "" && (
                  <option value="" disabled>
                    Choose a connection
                  </option>
                )}
                {usable.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.verified ? `${c.name} (${c.verified.accountName})` : c.name}
                  </option>
                ))}
              </select>
              {staleConnection && (
                <p className="hint warn-text">
                  “{staleConnection}” is no longer usable by you (or lacks consent): choose another connection.
                </p>
              )}
            </div>
          </>
        )}
        <div className="field">
          <label htmlFor={`${id}-list`}>Klaviyo list ID</label>
          <input
            id={`${id}-list`}
            type="text"
            value={listId}
            onChange={(e) => {
              setListId(e.target.value);
              setListName(null);
            }}
            placeholder="e.g. Y6nRLr"
            autoComplete="off"
            spellCheck={false}
            aria-describedby={`${id}-list-hint`}
            data-testid="export-list-id"
          />
          <p id={`${id}-list-hint`} className="hint">
            {listName ? (
              <span data-testid="picked-list-name">List “{listName}”. </span>
            ) : null}
            Pick it below, or type it (in Klaviyo: Lists &amp; Segments → your list → Settings → List ID).
          </p>
        </div>
        <ListPicker
          key={connectionId}
          connectionId={connectionId || null}
          selectedId={listId}
          onPick={(l) => {
            setListId(l.id);
            setListName(l.name);
          }}
        />
      </fieldset>

      <fieldset className="group">
        <legend>Source</legend>
        <div className="field">
          <span className="label" id={`${id}-csv-label`}>
            CSV file
          </span>
          <div className="file-pick">
            <button
              type="button"
              onClick={() => void pick()}
              disabled={csvBusy}
              aria-describedby={`${id}-csv-label`}
              data-testid="pick-csv"
            >
              Choose CSV file…
            </button>
            {csvPath ? (
              <span className="file-name" title={csvPath} data-testid="csv-file-name">
                {csv?.fileName ?? baseName(csvPath)}
              </span>
            ) : (
              <span className="muted">No file chosen</span>
            )}
          </div>
          {csvBusy && <p className="hint">Reading the file…</p>}
          {csvError && (
            <p className="result result-error" role="alert" data-testid="csv-error">
              {csvError} Choose the file again, or another one.
            </p>
          )}
          {csv && (
            <div className="headers" data-testid="csv-headers">
              <span className="hint">{csv.headers.length} columns:</span>
              <ul className="chips">
                {csv.headers.map((h) => (
                  <li key={h} className="chip">
                    {h}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
        <div className="field">
          <label htmlFor={`${id}-email`}>Email column</label>
          <select
            id={`${id}-email`}
            value={emailColumn}
            onChange={(e) => setEmailColumn(e.target.value)}
            disabled={headers.length === 0}
            required
            aria-describedby={`${id}-email-hint`}
            data-testid="export-email-column"
          >
            {emailColumn === "" && (
              <option value="" disabled>
                {headers.length === 0 ? "Choose a CSV file first" : "Choose the email column"}
              </option>
            )}
            {headers.map((h) => (
              <option key={h} value={h}>
                {h}
              </option>
            ))}
          </select>
          <p id={`${id}-email-hint`} className="hint">
            Klaviyo matches profiles by email address; rows without a valid one are reported as rejected.
          </p>
        </div>
      </fieldset>

      <div className="actions">
        <button type="submit" className="button-primary" disabled={!canSave} data-testid="export-save">
          {saving ? "Saving…" : "Save export"}
        </button>
        <button type="button" onClick={onCancel} disabled={saving} data-testid="export-cancel">
          Cancel
        </button>
        <span className="hint">
          {missing.length > 0 ? `Needs ${missing.join(", ")}. ` : ""}Saving does not run the export.
        </span>
      </div>
    </form>
  );
}
