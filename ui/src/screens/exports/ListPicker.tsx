import { useId, useMemo, useState } from "react";
import * as api from "../../api";
import type { KlaviyoList } from "../../api";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { hasCode } from "../../errors";

const PAGE = 20;

interface ListPickerProps {
  /** The connection whose account's lists are shown; null while none is chosen. */
  connectionId: string | null;
  /** The list ID currently chosen (typed or picked). */
  selectedId: string;
  onPick: (list: KlaviyoList) => void;
}

/**
 * Browse the account's lists (search by name, paged), or create one. Without a network the
 * typed list ID beside it still works: this panel only says it is offline.
 */
export function ListPicker({ connectionId, selectedId, onPick }: ListPickerProps) {
  const id = useId();
  const [lists, setLists] = useState<KlaviyoList[] | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ offline: boolean; message: string } | null>(null);
  const [query, setQuery] = useState("");
  const [shown, setShown] = useState(PAGE);
  const [confirmCreate, setConfirmCreate] = useState(false);
  const [creating, setCreating] = useState(false);

  function fail(e: unknown) {
    const err = api.toAppError(e);
    setError({ offline: hasCode(err, "klaviyo.unreachable", "klaviyo.timeout"), message: err.message });
  }

  async function load() {
    if (!connectionId) return;
    setBusy(true);
    setError(null);
    try {
      const result = await api.listKlaviyoLists(connectionId);
      setLists(result.lists);
      setTruncated(result.truncated);
      setShown(PAGE);
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
    }
  }

  async function create() {
    if (!connectionId) return;
    setCreating(true);
    setError(null);
    try {
      const list = await api.createKlaviyoList(connectionId, query.trim());
      setLists((current) => [list, ...(current ?? [])]);
      onPick(list);
      setConfirmCreate(false);
    } catch (e) {
      setConfirmCreate(false);
      fail(e);
    } finally {
      setCreating(false);
    }
  }

  const matches = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (lists ?? []).filter((l) => !q || l.name.toLowerCase().includes(q) || l.id.toLowerCase() === q);
  }, [lists, query]);
  const exact = matches.some((l) => l.name.toLowerCase() === query.trim().toLowerCase());

  if (!connectionId) return null;

  if (lists === null) {
    return (
      <div className="list-picker" data-testid="list-picker">
        <button type="button" onClick={() => void load()} disabled={busy} data-testid="browse-lists">
          {busy ? "Loading lists…" : "Browse lists in Klaviyo…"}
        </button>
        {error && <PickerError offline={error.offline} message={error.message} />}
      </div>
    );
  }

  return (
    <div className="list-picker" data-testid="list-picker">
      <div className="field">
        <label htmlFor={`${id}-search`}>Search lists by name</label>
        <input
          id={`${id}-search`}
          type="search"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setShown(PAGE);
          }}
          placeholder="Type part of a list name"
          autoComplete="off"
          data-testid="list-search"
        />
      </div>
      {matches.length === 0 ? (
        <p className="hint" data-testid="lists-empty">
          {lists.length === 0 ? "This account has no lists yet." : "No list matches."}
        </p>
      ) : (
        <ul className="pick-list" role="listbox" aria-label="Klaviyo lists" data-testid="list-options">
          {matches.slice(0, shown).map((l) => (
            <li key={l.id} role="option" aria-selected={l.id === selectedId}>
              <button
                type="button"
                className={l.id === selectedId ? "pick selected" : "pick"}
                onClick={() => onPick(l)}
                data-testid="list-option"
                data-list-id={l.id}
              >
                <span>{l.name}</span> <span className="mono muted">{l.id}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="actions">
        {matches.length > shown && (
          <button type="button" onClick={() => setShown((n) => n + PAGE)} data-testid="lists-more">
            Show {Math.min(PAGE, matches.length - shown)} more
          </button>
        )}
        {query.trim() && !exact && (
          <button type="button" onClick={() => setConfirmCreate(true)} data-testid="create-list">
            Create list “{query.trim()}”…
          </button>
        )}
        <button type="button" onClick={() => void load()} disabled={busy} data-testid="reload-lists">
          {busy ? "Loading…" : "Reload"}
        </button>
      </div>
      {truncated && <p className="hint">Only the first {lists.length} lists are shown: search, or type the list ID.</p>}
      {error && <PickerError offline={error.offline} message={error.message} />}
      {confirmCreate && (
        <ConfirmDialog
          title="Create a Klaviyo list?"
          message={`A new list “${query.trim()}” will be created in the Klaviyo account. Segport cannot delete it again, and Klaviyo allows 150 new lists a day per account.`}
          confirmLabel="Create list"
          busy={creating}
          busyLabel="Creating…"
          danger={false}
          onConfirm={() => void create()}
          onCancel={() => setConfirmCreate(false)}
        />
      )}
    </div>
  );
}

function PickerError({ offline, message }: { offline: boolean; message: string }) {
  return (
    <p className="result result-error" role="alert" data-testid="list-picker-error" data-offline={offline}>
      {offline ? "Offline: Klaviyo cannot be reached. Type the list ID instead — it is checked when the export runs. " : ""}
      {message}
    </p>
  );
}
