import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from "react";
import * as api from "../../api";
import type { Filter, FilterRuleProblem, SegmentPreview, SegmentView, SourceView } from "../../api";
import {
  describeFilter,
  fromFilter,
  incompleteRules,
  rulesWithProblems,
  toFilter,
  type GroupRow,
} from "./filterModel";
import { formatCount } from "../../format";
import { RuleBuilder } from "./RuleBuilder";
import { FormActions } from "../../components/FormActions";

/** How long the preview waits after the last edit before it counts (it reads the whole file). */
export const PREVIEW_DEBOUNCE_MS = 300;
/** How long the check of rule values waits after the last edit (it reads the first rows only). */
export const RULE_CHECK_DEBOUNCE_MS = 150;

/**
 * The rules of `filter` whose values do not fit their column's type in the source, as the back
 * end judges them (the grammar the Sources screen and saving use): asked
 * `RULE_CHECK_DEBOUNCE_MS` after the last change; an older answer is ignored, a failed check
 * shows nothing (saving checks again).
 */
export function useRuleProblems(sourceId: string, filter: Filter | null): FilterRuleProblem[] {
  const [problems, setProblems] = useState<FilterRuleProblem[]>([]);
  const latest = useRef(0);
  const key = JSON.stringify(filter);
  const filterRef = useRef(filter);
  filterRef.current = filter;

  useEffect(() => {
    const request = ++latest.current;
    if (!sourceId || filterRef.current === null) {
      setProblems([]);
      return;
    }
    const timer = window.setTimeout(() => {
      api.checkSegmentRules(sourceId, filterRef.current).then(
        (found) => {
          if (request === latest.current) setProblems(found);
        },
        () => {
          if (request === latest.current) setProblems([]);
        },
      );
    }, RULE_CHECK_DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
    // `key` stands for `filter` (a new object on every render).
  }, [sourceId, key]);

  useEffect(
    () => () => {
      latest.current += 1;
    },
    [],
  );

  return problems;
}

interface PreviewState {
  /** A count is under way (or about to start). */
  loading: boolean;
  preview: SegmentPreview | null;
  error: string | null;
}

/**
 * The live count and sample rows of `sourceId` under `filter`: asked `PREVIEW_DEBOUNCE_MS` after
 * the last change; an answer to an older question is ignored.
 */
export function useSegmentPreview(sourceId: string, filter: Filter | null): PreviewState {
  const [state, setState] = useState<PreviewState>({ loading: false, preview: null, error: null });
  const latest = useRef(0);
  const key = JSON.stringify(filter);
  const filterRef = useRef(filter);
  filterRef.current = filter;

  useEffect(() => {
    const request = ++latest.current;
    if (!sourceId) {
      setState({ loading: false, preview: null, error: null });
      return;
    }
    setState((s) => (s.loading ? s : { ...s, loading: true }));
    const timer = window.setTimeout(() => {
      api.previewSegment(sourceId, filterRef.current).then(
        (preview) => {
          if (request === latest.current) setState({ loading: false, preview, error: null });
        },
        (e: unknown) => {
          if (request === latest.current) setState({ loading: false, preview: null, error: api.toAppError(e).message });
        },
      );
    }, PREVIEW_DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
    // `key` stands for `filter` (a new object on every render).
  }, [sourceId, key]);

  // Nothing that arrives after the form is gone is applied.
  useEffect(
    () => () => {
      latest.current += 1;
    },
    [],
  );

  return state;
}

function countText(preview: SegmentPreview): string {
  const rows = preview.total === 1 ? "row matches" : "rows match";
  return `${formatCount(preview.matching)} of ${formatCount(preview.total)} ${rows}`;
}

function PreviewPanel({ state, sourceId }: { state: PreviewState; sourceId: string }) {
  const { loading, preview, error } = state;
  return (
    <section className="segment-preview" aria-labelledby="segment-preview-title" aria-busy={loading}>
      <div className="segment-preview-head">
        <h3 id="segment-preview-title" className="segment-preview-title">
          Preview
        </h3>
        {loading && (
          <span className="hint" role="status" data-testid="segment-preview-loading">
            Counting…
          </span>
        )}
      </div>
      {!sourceId ? (
        <p className="muted">Choose a source to see which rows the segment keeps.</p>
      ) : error ? (
        <p className="notice notice-error" role="alert" data-testid="segment-error">
          {error}
        </p>
      ) : preview ? (
        <>
          <p className={loading ? "segment-count stale" : "segment-count"}>
            <strong
              data-testid="segment-count"
              data-matching={preview.matching}
              data-total={preview.total}
              aria-live="polite"
            >
              {countText(preview)}
            </strong>
            {preview.badRows > 0 && (
              <span className="warn-text" data-testid="segment-bad-rows">
                {" "}
                · {formatCount(preview.badRows)} unreadable {preview.badRows === 1 ? "row" : "rows"} (they never match;
                an export lists them with their line)
              </span>
            )}
          </p>
          <div className="table-scroll sample-scroll" tabIndex={0} aria-label="First matching rows">
            <table data-testid="segment-sample">
              <caption className="visually-hidden">First matching rows</caption>
              <thead>
                <tr>
                  {preview.columns.map((c, index) => (
                    <th key={`${index}-${c}`} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {preview.sample.map((row, r) => (
                  <tr key={r}>
                    {preview.columns.map((_, index) => (
                      <td key={index}>{row[index] ?? ""}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
            {preview.sample.length === 0 && (
              <p className="hint sample-empty" data-testid="segment-no-match">
                No row matches these rules.
              </p>
            )}
          </div>
        </>
      ) : (
        <p className="muted">Counting the rows…</p>
      )}
    </section>
  );
}

interface SegmentFormProps {
  /** null for a new segment. */
  existing: SegmentView | null;
  sources: SourceView[];
  onSaved: (saved: SegmentView) => void;
  onCancel: () => void;
}

export function SegmentForm({ existing, sources, onSaved, onCancel }: SegmentFormProps) {
  const id = useId();
  const [name, setName] = useState(existing?.name ?? "");
  const [sourceId, setSourceId] = useState(existing?.sourceId ?? sources[0]?.id ?? "");
  const [root, setRoot] = useState<GroupRow>(() => fromFilter(existing?.filter ?? null));
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);

  const source = sources.find((s) => s.id === sourceId) ?? null;
  const filter = useMemo(() => toFilter(root), [root]);
  const incomplete = useMemo(() => incompleteRules(root).length, [root]);
  const preview = useSegmentPreview(sourceId, filter);
  const problems = useRuleProblems(sourceId, filter);
  const misfits = useMemo(() => rulesWithProblems(root, problems).length, [root, problems]);

  const missing: string[] = [];
  if (!name.trim()) missing.push("a name");
  if (!sourceId) missing.push("a source");
  if (incomplete > 0) {
    missing.push(
      incomplete === 1 ? "the unfinished rule completed or removed" : `${incomplete} unfinished rules completed or removed`,
    );
  }
  if (misfits > 0) {
    missing.push(
      misfits === 1
        ? "the value that does not fit its column corrected"
        : `${misfits} values that do not fit their columns corrected`,
    );
  }
  const canSave = missing.length === 0 && !saving;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!canSave) return;
    setSaving(true);
    setSaveError(null);
    try {
      const saved = await api.saveSegment({ id: existing?.id ?? null, name: name.trim(), sourceId, filter });
      onSaved(saved);
    } catch (e) {
      setSaveError(api.toAppError(e).message);
    } finally {
      setSaving(false);
    }
  }

  return (
    <form className="form segment-form" onSubmit={(e) => void submit(e)} data-testid="segment-form" noValidate>
      <div className="segment-form-fields">
        <div className="field">
          <label htmlFor={`${id}-name`}>Name</label>
          <input
            id={`${id}-name`}
            type="text"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="e.g. Polish VIP customers"
            autoComplete="off"
            required
            data-testid="segment-name"
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-source`}>Source</label>
          <select
            id={`${id}-source`}
            value={sourceId}
            onChange={(e) => setSourceId(e.target.value)}
            aria-describedby={`${id}-source-hint`}
            data-testid="segment-source"
          >
            {!sourceId && <option value="">Choose a source…</option>}
            {sourceId && !source && <option value={sourceId}>{existing?.sourceName || "Removed source"}</option>}
            {sources.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
          <p id={`${id}-source-hint`} className="hint" data-testid="segment-source-info">
            {source ? (
              source.state === "ok" ? (
                <>
                  <span className="mono">{source.fileName}</span> · {source.columns.length}{" "}
                  {source.columns.length === 1 ? "column" : "columns"}
                </>
              ) : (
                <span className="warn-text">
                  {source.state === "missing" ? "File missing" : "Can’t read the file"}
                  {source.message ? `: ${source.message}` : ""} — fix it in the Sources tab.
                </span>
              )
            ) : (
              "The file whose rows the segment keeps."
            )}
          </p>
        </div>
      </div>

      <fieldset className="field segment-rules">
        <legend>Rules</legend>
        <RuleBuilder
          root={root}
          onChange={setRoot}
          columns={source?.columns ?? []}
          problems={problems}
          disabled={!sourceId}
        />
        <p className="hint">
          Text is compared without regard to case. A value written as a number (10, 2.5 — a dot before the decimals),
          a date (2024-03-01, 31.01.2024) or yes/no compares as one; cells that aren’t then don’t match.
        </p>
        <p className="hint" data-testid="segment-sentence">
          {describeFilter(filter)}
        </p>
      </fieldset>

      <PreviewPanel state={preview} sourceId={sourceId} />

      {saveError && (
        <p className="result result-error" role="alert" data-testid="segment-save-error">
          {saveError}
        </p>
      )}

      <FormActions
        testid="segment"
        saveLabel="Save segment"
        canSave={canSave}
        saving={saving}
        missing={missing}
        onCancel={onCancel}
      />
    </form>
  );
}
