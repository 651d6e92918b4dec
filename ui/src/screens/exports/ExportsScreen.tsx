import { useState } from "react";
import * as api from "../../api";
import type { AppInfo, ConnectionView, DemoInfo, ExportView } from "../../api";
import { useReportError } from "../../errors";
import { useCommand } from "../../hooks/useCommand";
import { profiles } from "../../removals";
import { useExportRun } from "../../hooks/useExportRun";
import { useRunFinished } from "../../hooks/useRunFinished";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ExportForm } from "./ExportForm";
import { ExportRow } from "./ExportRow";
import { RunView } from "./RunView";
import { WelcomeCard } from "./WelcomeCard";

interface ExportsScreenProps {
  info: AppInfo | null;
  connections: ConnectionView[] | null;
  onDemoStarted: (demo: DemoInfo) => Promise<void>;
  onGoToConnections: () => void;
}

/** What the screen asks before running: Start over, or the removals a mirror run held. */
type Confirming = { kind: "restart"; item: ExportView } | { kind: "removals"; item: ExportView; held: number };

export const RESTART_CONFIRM =
  "The stopped run will be closed and a fresh run sends the segment again; profiles Klaviyo already accepted are not lost.";

/** Why an export cannot run right now, or null when it can. */
function runBlocker(item: ExportView, connections: ConnectionView[] | null): string | null {
  if (!item.connectionId) return "Choose a connection for this export first (Edit).";
  const connection = connections?.find((c) => c.id === item.connectionId);
  if (connections && !connection) {
    // A contributor is not shown admins-only connections, but the export still names its one.
    return item.connectionName
      ? `Connection “${item.connectionName}” is for admins only: ask an admin to share it with contributors.`
      : "Its connection was removed: edit the export and choose another.";
  }
  if (connection && !connection.usable) {
    return connection.consent === null
      ? `Connection “${connection.name}” is not usable yet: record consent for it in Connections.`
      : `Connection “${connection.name}” is for admins only: ask an admin to share it with contributors.`;
  }
  return null;
}

export function ExportsScreen({ info, connections, onDemoStarted, onGoToConnections }: ExportsScreenProps) {
  const report = useReportError();
  const [editing, setEditing] = useState<{ item: ExportView | null } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [removing, setRemoving] = useState<ExportView | null>(null);
  const [removeBusy, setRemoveBusy] = useState(false);
  const [removeError, setRemoveError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<Confirming | null>(null);
  const { run, start, cancel, close } = useExportRun();

  const list = useCommand(api.listExports, [], { onError: report, fallback: [] });
  const exports = list.data;
  const reload = list.reload;

  // A scheduled run that ends while this screen is open updates its row.
  useRunFinished(() => void reload());

  function onSaved() {
    setEditing(null);
    setNotice("Saved. Saving does not run the export.");
    void reload();
  }

  async function confirmRemove() {
    if (!removing) return;
    setRemoveBusy(true);
    setRemoveError(null);
    try {
      await api.deleteExport(removing.id);
      setNotice(`Removed “${removing.name}”.`);
      setRemoving(null);
      await reload();
    } catch (e) {
      // E.g. a contributor removing an export of an admins-only connection: say why here.
      setRemoveError(`“${removing.name}” was not removed: ${api.toAppError(e).message}`);
      setRemoving(null);
    } finally {
      setRemoveBusy(false);
    }
  }

  function confirmRun() {
    if (!confirming) return;
    const { item } = confirming;
    const choice = confirming.kind === "restart" ? { restart: true } : { confirmRemovals: confirming.held };
    setConfirming(null);
    setNotice(null);
    start(item, choice);
  }

  function closeRun() {
    close();
    void reload();
  }

  if (editing) {
    return (
      <section className="screen" aria-labelledby="exports-title">
        <h2 id="exports-title" className="screen-title">
          {editing.item ? `Edit export “${editing.item.name}”` : "New export"}
        </h2>
        <ExportForm
          existing={editing.item}
          connections={connections ?? []}
          onSaved={onSaved}
          onCancel={() => setEditing(null)}
          onGoToConnections={onGoToConnections}
        />
      </section>
    );
  }

  const hasUsableConnection = connections?.some((c) => c.usable) ?? false;
  // The demo is offered only while nothing exists (the back end's view is refreshed on
  // navigation; what this screen knows is fresher).
  const offerDemo =
    (info?.demoAvailable ?? false) && (exports?.length ?? 0) === 0 && (connections?.length ?? 0) === 0;

  return (
    <section className="screen" aria-labelledby="exports-title">
      {offerDemo && <WelcomeCard onDemoStarted={onDemoStarted} />}
      <div className="screen-head">
        <h2 id="exports-title" className="screen-title">
          Exports
        </h2>
        <button
          type="button"
          className="button-primary"
          onClick={() => {
            setNotice(null);
            setRemoveError(null);
            setEditing({ item: null });
          }}
          data-testid="new-export"
        >
          New export
        </button>
      </div>
      <p className="lede">
        An export sends the people in a segment to a Klaviyo list: when you click Run, or on its schedule while Segport
        is open.
      </p>
      {notice && (
        <p className="notice notice-success" role="status" data-testid="export-saved">
          {notice}
        </p>
      )}
      {removeError && (
        <div className="notice notice-error" role="alert" data-testid="export-remove-error">
          <p>{removeError}</p>
          <button type="button" onClick={() => setRemoveError(null)}>
            Dismiss
          </button>
        </div>
      )}
      {exports === null ? (
        <p className="muted">Loading exports…</p>
      ) : exports.length === 0 ? (
        <div className="empty" data-testid="exports-empty">
          <p>No exports yet.</p>
          {hasUsableConnection ? (
            <p className="muted">
              Create one with “New export”: choose a segment (or a file), its email column and a Klaviyo list.
            </p>
          ) : (
            <>
              <p className="muted">
                First add a Klaviyo connection (and record consent), then create an export here
                {offerDemo ? " — or try the demo above" : ""}.
              </p>
              <button type="button" onClick={onGoToConnections}>
                Go to Connections
              </button>
            </>
          )}
        </div>
      ) : (
        <ul className="cards" data-testid="export-list">
          {exports.map((item) => (
            <ExportRow
              key={item.id}
              item={item}
              runDisabledReason={runBlocker(item, connections)}
              onEdit={() => {
                setNotice(null);
                setRemoveError(null);
                setEditing({ item });
              }}
              onRun={() => {
                setNotice(null);
                start(item);
              }}
              onRestart={() => setConfirming({ kind: "restart", item })}
              onFull={() => {
                setNotice(null);
                start(item, { full: true });
              }}
              onReviewRemovals={() =>
                setConfirming({ kind: "removals", item, held: item.lastRun?.counts.held ?? 0 })
              }
              onRemove={() => {
                setRemoveError(null);
                setRemoving(item);
              }}
            />
          ))}
        </ul>
      )}
      {removing && (
        <ConfirmDialog
          title="Remove export?"
          message={`Remove “${removing.name}”? Its settings are deleted; its run history stays. Nothing is removed from Klaviyo.`}
          confirmLabel="Remove export"
          busy={removeBusy}
          busyLabel="Removing…"
          onConfirm={() => void confirmRemove()}
          onCancel={() => setRemoving(null)}
        />
      )}
      {run && (
        <RunView
          run={run}
          onCancel={() => void cancel()}
          onClose={closeRun}
          onReviewRemovals={() =>
            run.summary &&
            setConfirming({ kind: "removals", item: run.exportItem, held: run.summary.run.counts.held })
          }
        />
      )}
      {confirming?.kind === "restart" && (
        <ConfirmDialog
          title={`Start “${confirming.item.name}” over?`}
          message={RESTART_CONFIRM}
          confirmLabel="Start over"
          danger={false}
          onConfirm={confirmRun}
          onCancel={() => setConfirming(null)}
        />
      )}
      {confirming?.kind === "removals" && (
        <ConfirmDialog
          title="Remove the held profiles?"
          message={`Remove ${profiles(confirming.held)} from the list ${confirming.item.listId}? ${
            confirming.held === 1 ? "It" : "They"
          } left the segment “${confirming.item.segmentName}”. The profiles stay in Klaviyo; only their place in this list ends.`}
          confirmLabel={`Remove ${profiles(confirming.held)}`}
          onConfirm={confirmRun}
          onCancel={() => setConfirming(null)}
        />
      )}
    </section>
  );
}
