import { useCallback, useEffect, useState } from "react";
import * as api from "./api";
import type { AppInfo, ConnectionView, DemoInfo } from "./api";
import { ConnectionsScreen } from "./screens/connections/ConnectionsScreen";
import { ErrorBanner } from "./components/ErrorBanner";
import { ExportsScreen } from "./screens/exports/ExportsScreen";
import { HistoryScreen } from "./screens/history/HistoryScreen";
import { Nav, type Tab } from "./screens/Nav";
import { SegmentsScreen } from "./screens/segments/SegmentsScreen";
import { SettingsScreen } from "./screens/settings/SettingsScreen";
import { SourcesScreen } from "./screens/sources/SourcesScreen";
import { useErrorState } from "./errors";
import logo from "./assets/logo.svg";

export function App() {
  const { report, dismiss } = useErrorState();
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [infoFailed, setInfoFailed] = useState(false);
  // A warning about the data folder (e.g. an unreadable database kept aside), until dismissed.
  const [noticeDismissed, setNoticeDismissed] = useState(false);
  const [tab, setTab] = useState<Tab>("exports");
  const [connections, setConnections] = useState<ConnectionView[] | null>(null);
  // Set when another screen sends the user to edit a connection (the demo does).
  const [editRequest, setEditRequest] = useState<{ id: string; demo: DemoInfo | null } | null>(null);
  // Bumped on every tab click so a screen starts fresh (a click on "Connections" while a form
  // is open returns to the list).
  const [visit, setVisit] = useState(0);

  const loadInfo = useCallback(async () => {
    try {
      setInfo(await api.appInfo());
      setInfoFailed(false);
    } catch (e) {
      setInfoFailed(true);
      report(e);
    }
  }, [report]);

  const reloadConnections = useCallback(async () => {
    try {
      setConnections(await api.listConnections());
    } catch (e) {
      setConnections((current) => current ?? []);
      report(e);
    }
  }, [report]);

  useEffect(() => {
    void loadInfo();
    void reloadConnections();
  }, [loadInfo, reloadConnections]);

  const navigate = useCallback(
    (next: Tab) => {
      // An error belongs to the screen it happened on.
      dismiss();
      setEditRequest(null);
      setTab(next);
      setVisit((v) => v + 1);
      // What the screens show depends on what exists now (e.g. the demo offer disappears
      // once a connection or an export has been created).
      void loadInfo();
      void reloadConnections();
    },
    [dismiss, loadInfo, reloadConnections],
  );

  const onDemoStarted = useCallback(
    async (demo: DemoInfo) => {
      await Promise.all([loadInfo(), reloadConnections()]);
      setEditRequest({ id: demo.connectionId, demo });
      setTab("connections");
    },
    [loadInfo, reloadConnections],
  );

  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <img src={logo} alt="" width={28} height={28} />
          <h1>Segport</h1>
        </div>
        <Nav current={tab} onNavigate={navigate} />
        {info && (
          <p className="operator" data-testid="operator">
            <span className="operator-name">{info.operator}</span>
            <span className={`badge badge-role-${info.role}`} data-testid="operator-role">
              {info.role === "admin" ? "Admin" : "Contributor"}
            </span>
          </p>
        )}
      </header>
      <ErrorBanner />
      {info?.notice && !noticeDismissed && (
        <div className="banner notice-warn" style={{ borderBottom: "1px solid var(--warn)" }}>
          <p role="alert" data-testid="notice-banner">
            {info.notice}
          </p>
          <button
            type="button"
            className="button-quiet"
            onClick={() => setNoticeDismissed(true)}
            data-testid="notice-dismiss"
          >
            Dismiss
          </button>
        </div>
      )}
      <main className="app-main">
        {infoFailed && !info ? (
          <div className="empty">
            <p>Segport could not read its settings.</p>
            <button type="button" onClick={() => void loadInfo()}>
              Try again
            </button>
          </div>
        ) : tab === "exports" ? (
          <ExportsScreen
            key={visit}
            info={info}
            connections={connections}
            onDemoStarted={onDemoStarted}
            onGoToConnections={() => navigate("connections")}
          />
        ) : tab === "sources" ? (
          <SourcesScreen key={visit} />
        ) : tab === "segments" ? (
          <SegmentsScreen key={visit} onGoToSources={() => navigate("sources")} />
        ) : tab === "connections" ? (
          <ConnectionsScreen
            key={visit}
            info={info}
            connections={connections}
            onChanged={async () => {
              await Promise.all([reloadConnections(), loadInfo()]);
            }}
            editRequest={editRequest}
            onGoToExports={() => navigate("exports")}
          />
        ) : tab === "history" ? (
          <HistoryScreen key={visit} />
        ) : (
          <SettingsScreen
            key={visit}
            onSaved={async () => {
              await Promise.all([loadInfo(), reloadConnections()]);
            }}
          />
        )}
      </main>
      {info && (
        <footer className="app-footer">
          Segport {info.version} · data in <span className="mono">{info.dataDir}</span>
        </footer>
      )}
    </div>
  );
}
