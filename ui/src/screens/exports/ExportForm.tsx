import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import * as api from "../../api";
import type {
  ConnectionView,
  ExportInput,
  ExportMode,
  ExportView,
  MappingSuggestion,
  SegmentView,
  SourceView,
} from "../../api";
import {
  applySuggestion,
  draftFromMapping,
  emptyDraft,
  hasMappingErrors,
  mappingFromDraft,
  phoneHint,
  validateMapping,
  type MappingDraft,
} from "./mapping";
import {
  DEFAULT_AT,
  DEFAULT_HOURS,
  draftFromSchedule,
  scheduleFromDraft,
  validateSchedule,
  type ScheduleDraft,
} from "./schedule";
import { DEFAULT_GUARD, draftFromGuard, guardFromDraft, validateGuard, type GuardDraft } from "../../removals";
import { ListPicker } from "./ListPicker";
import { MappingEditor } from "./MappingEditor";
import { MappingPreview } from "./MappingPreview";
import { ModeChoice } from "./ModeChoice";
import { ScheduleEditor } from "./ScheduleEditor";
import { SegmentChooser } from "./SegmentChooser";

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

/** List IDs are letters and digits (the back end refuses anything else). */
const LIST_ID = /^[A-Za-z0-9]+$/;

/**
 * Creates or edits an export: segment, Klaviyo connection and list, mapping (with a live
 * preview of the first profiles), mode and schedule. Saving never runs the export.
 */
export function ExportForm({ existing, connections, onSaved, onCancel, onGoToConnections }: ExportFormProps) {
  const id = useId();
  const form = useRef<HTMLFormElement>(null);
  const usable = connections.filter((c) => c.usable);

  const [name, setName] = useState(existing?.name ?? "");
  const [segments, setSegments] = useState<SegmentView[] | null>(null);
  const [segmentId, setSegmentId] = useState(existing?.segmentId ?? "");
  const [source, setSource] = useState<SourceView | null>(null);
  const [sourceLoading, setSourceLoading] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [connectionId, setConnectionId] = useState(() => initialConnectionId(existing, usable));
  const [listId, setListId] = useState(existing?.listId ?? "");
  const [listName, setListName] = useState<string | null>(null);
  // An existing export keeps its saved mapping; a new one waits for a segment (and its suggestion).
  const [draft, setDraft] = useState<MappingDraft>(() => (existing ? draftFromMapping(existing.mapping) : emptyDraft()));
  const [suggestion, setSuggestion] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  // The last suggestion applied, for the phone field's hint.
  const [suggested, setSuggested] = useState<MappingSuggestion | null>(null);
  const [mode, setMode] = useState<ExportMode>(existing?.mode ?? "upsert");
  const [guard, setGuard] = useState<GuardDraft>(() => draftFromGuard(existing?.removalGuard));
  const [schedule, setSchedule] = useState<ScheduleDraft>(() =>
    existing ? draftFromSchedule(existing.schedule) : { kind: "manual", hours: DEFAULT_HOURS, at: DEFAULT_AT },
  );
  const [submitted, setSubmitted] = useState(false);
  const [focusInvalid, setFocusInvalid] = useState(0);
  const [saving, setSaving] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  // The latest suggestion asked for; earlier answers are dropped.
  const suggestTicket = useRef(0);

  useEffect(() => {
    let current = true;
    api
      .listSegments()
      .then((list) => {
        if (current) setSegments((known) => mergeSegments(list, known ?? []));
      })
      .catch((e: unknown) => {
        if (!current) return;
        setSegments((known) => known ?? []);
        setLoadError(`Could not read the segments: ${api.toAppError(e).message}`);
      });
    return () => {
      current = false;
    };
  }, []);

  // The chosen segment's source, detected afresh from its file (name, columns, missing or not).
  const sourceId = segments?.find((s) => s.id === segmentId)?.sourceId ?? null;
  useEffect(() => {
    setSource(null);
    setSourceLoading(sourceId !== null);
    if (sourceId === null) return;
    let current = true;
    api
      .inspectSource(sourceId)
      .then((view) => {
        if (current) setSource(view);
      })
      .catch((e: unknown) => {
        if (current) setLoadError(`Could not read the segment's source: ${api.toAppError(e).message}`);
      })
      .finally(() => {
        if (current) setSourceLoading(false);
      });
    return () => {
      current = false;
    };
  }, [sourceId]);

  /** A segment chosen by the user: pre-select the mapping from its column headers. */
  function chooseSegment(next: string) {
    setSegmentId(next);
    setLoadError(null);
    setFormError(null);
    const ticket = ++suggestTicket.current;
    setSuggested(null);
    if (!next) return;
    setSuggestion({ busy: true, error: null });
    api
      .suggestMapping(next)
      .then((found) => {
        if (ticket !== suggestTicket.current) return;
        setDraft((d) => applySuggestion(d, found));
        setSuggested(found);
        setSuggestion({ busy: false, error: null });
      })
      .catch((e: unknown) => {
        if (ticket !== suggestTicket.current) return;
        setSuggestion({ busy: false, error: api.toAppError(e).message });
      });
  }

  function onSegmentAdded(segment: SegmentView) {
    setSegments((known) => mergeSegments(known ?? [], [segment]));
    chooseSegment(segment.id);
  }

  // ---- validation -----------------------------------------------------------------

  const columns = source && source.state === "ok" ? source.columns.map((c) => c.name) : null;
  const mappingErrors = validateMapping(draft, columns, submitted);
  const scheduleError = validateSchedule(schedule);
  // Mirror mode's removal guard: checked (and shown) only in Mirror mode, where it applies.
  const guardErrors = mode === "mirror" ? validateGuard(guard) : { percent: null, count: null };
  const trimmedList = listId.trim();
  const errors = {
    name: name.trim() ? null : "Give the export a name.",
    segment: segmentId ? null : "Choose a segment, or make one from a file with “New from a file…”.",
    connection: usable.length === 0 || connectionId ? null : "Choose the Klaviyo connection to send with.",
    list: !trimmedList
      ? "Pick a Klaviyo list, or type its ID."
      : LIST_ID.test(trimmedList)
        ? null
        : `“${trimmedList}” is not a list ID: list IDs are letters and digits, like XyZ123.`,
  };
  const strictMapping = submitted ? mappingErrors : validateMapping(draft, columns, true);
  const missing: string[] = [];
  if (errors.name) missing.push("a name");
  if (errors.segment) missing.push("a segment");
  if (usable.length === 0 || errors.connection) missing.push("a connection");
  if (!trimmedList) missing.push("a Klaviyo list");
  if (!draft.columns.email) missing.push("the email column");
  const valid =
    usable.length > 0 &&
    !errors.name &&
    !errors.segment &&
    !errors.connection &&
    !errors.list &&
    !hasMappingErrors(strictMapping) &&
    scheduleError === null &&
    !guardErrors.percent &&
    !guardErrors.count;
  // Required fields complain after a first attempt to save; wrong values at once.
  const shown = {
    name: submitted ? errors.name : null,
    segment: submitted ? errors.segment : null,
    connection: submitted ? errors.connection : null,
    list: submitted || trimmedList ? errors.list : null,
  };

  useEffect(() => {
    if (focusInvalid === 0) return;
    form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [focusInvalid]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (saving) return;
    setSubmitted(true);
    setFormError(null);
    const scheduleValue = scheduleFromDraft(schedule);
    if (!valid || scheduleValue === null) {
      setFocusInvalid((n) => n + 1);
      return;
    }
    const input: ExportInput = {
      id: existing?.id ?? null,
      name: name.trim(),
      segmentId,
      connectionId,
      listId: trimmedList,
      mapping: mappingFromDraft(draft),
      mode,
      schedule: scheduleValue,
      // In Upsert mode the guard is kept as it was (a half-typed number there is not saved).
      removalGuard: guardFromDraft(guard) ?? existing?.removalGuard ?? DEFAULT_GUARD,
    };
    setSaving(true);
    try {
      const saved = await api.saveExport(input);
      onSaved(saved);
    } catch (e) {
      setFormError(api.toAppError(e).message);
    } finally {
      setSaving(false);
    }
  }

  const staleConnection =
    existing?.connectionId && !usable.some((c) => c.id === existing.connectionId) ? existing.connectionName : null;
  const previewMapping = segmentId && draft.columns.email ? mappingFromDraft(draft) : null;

  return (
    <form ref={form} className="form export-form" onSubmit={(e) => void submit(e)} data-testid="export-form" noValidate>
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
          aria-invalid={shown.name ? true : undefined}
          aria-describedby={shown.name ? `${id}-name-error` : undefined}
          data-testid="export-name"
        />
        {shown.name && (
          <p id={`${id}-name-error`} className="field-error" data-testid="export-name-error">
            {shown.name}
          </p>
        )}
      </div>

      <SegmentChooser
        segments={segments}
        fallback={existing ? { id: existing.segmentId, name: existing.segmentName } : null}
        value={segmentId}
        onChange={chooseSegment}
        onAdded={onSegmentAdded}
        source={source}
        sourceLoading={sourceLoading}
        loadError={loadError}
        error={shown.segment}
        disabled={saving}
      />

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
          <div className="field">
            <label htmlFor={`${id}-connection`}>Klaviyo connection</label>
            <select
              id={`${id}-connection`}
              value={connectionId}
              onChange={(e) => setConnectionId(e.target.value)}
              required
              aria-invalid={shown.connection ? true : undefined}
              aria-describedby={shown.connection ? `${id}-connection-error` : undefined}
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
            {shown.connection && (
              <p id={`${id}-connection-error`} className="field-error" data-testid="export-connection-error">
                {shown.connection}
              </p>
            )}
          </div>
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
            aria-invalid={shown.list ? true : undefined}
            aria-describedby={`${id}-list-hint${shown.list ? ` ${id}-list-error` : ""}`}
            data-testid="export-list-id"
          />
          <p id={`${id}-list-hint`} className="hint">
            {listName ? <span data-testid="picked-list-name">List “{listName}”. </span> : null}
            Pick it below, or type it (in Klaviyo: Lists &amp; Segments → your list → Settings → List ID).
          </p>
          {shown.list && (
            <p id={`${id}-list-error`} className="field-error" data-testid="export-list-id-error">
              {shown.list}
            </p>
          )}
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
        <legend>Mapping</legend>
        <p className="hint">
          Which column becomes which Klaviyo profile attribute. Empty values are never sent, so they never erase what
          Klaviyo already has.
        </p>
        {suggestion.busy && (
          <p className="hint" data-testid="mapping-suggesting">
            Pre-selecting columns from the file’s headers…
          </p>
        )}
        {suggestion.error && (
          <p className="result result-error" data-testid="mapping-suggest-error">
            Could not pre-select the columns: {suggestion.error}
          </p>
        )}
        <MappingEditor
          draft={draft}
          columns={columns ?? []}
          errors={mappingErrors}
          onChange={(next) => {
            setDraft(next);
            setFormError(null);
          }}
          phoneHint={phoneHint(draft, suggested)}
          disabled={saving}
        />
        <MappingPreview segmentId={segmentId || null} mapping={previewMapping} />
      </fieldset>

      <ModeChoice
        value={mode}
        onChange={setMode}
        disabled={saving}
        guard={guard}
        onGuardChange={(next) => {
          setGuard(next);
          setFormError(null);
        }}
        guardErrors={guardErrors}
      />

      <ScheduleEditor draft={schedule} onChange={setSchedule} error={scheduleError} disabled={saving} />

      {formError && (
        <div className="notice notice-error" role="alert" data-testid="export-form-error">
          <p>
            <strong>Not saved.</strong> {formError}
          </p>
        </div>
      )}

      <div className="actions">
        <button type="submit" className="button-primary" disabled={saving || usable.length === 0} data-testid="export-save">
          {saving ? "Saving…" : "Save export"}
        </button>
        <button type="button" onClick={onCancel} disabled={saving} data-testid="export-cancel">
          Cancel
        </button>
        <span className="hint" role={submitted && !valid ? "alert" : undefined} data-testid="export-form-hint">
          {missing.length > 0
            ? `Needs ${missing.join(", ")}. `
            : submitted && !valid
              ? "Fix the fields marked above. "
              : ""}
          Saving does not run the export.
        </span>
      </div>
    </form>
  );
}

/** `known` with `extra` added (or replacing the same ids), sorted by name. */
function mergeSegments(known: SegmentView[], extra: SegmentView[]): SegmentView[] {
  const byId = new Map(known.map((s) => [s.id, s]));
  for (const s of extra) byId.set(s.id, s);
  return Array.from(byId.values()).sort((a, b) => a.name.localeCompare(b.name));
}
