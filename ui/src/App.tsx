import { Fragment, useCallback, useState } from "react";
import * as api from "./api";
import type { DemoInfo } from "./api";
import { ErrorBanner } from "./components/ErrorBanner";
import { useErrorState } from "./errors";
import { useCommand } from "./hooks/useCommand";
import { SCREENS, type ScreenContext, type Tab } from "./screens";
import { Nav } from "./screens/Nav";
import logo from "./assets/logo.svg";

export function App() {
  const { report, dismiss } = useErrorState();
  const appInfo = useCommand(api.appInfo, [], { onError: report });
  const info = appInfo.data;
  const infoFailed = appInfo.error !== null;
  const loadInfo = appInfo.reload;
  // A warning about the data folder (e.g. an unreadable database kept aside), until dismissed.
  const [noticeDismissed, setNoticeDismissed] = useState(false);
  const [tab, setTab] = useState<Tab>("exports");
  const connectionList = useCommand(api.listConnections, [], { onError: report, fallback: [] });
  const connections = connectionList.data;
  const reloadConnections = connectionList.reload;
  // Set when another screen sends the user to edit a connection (the demo does).
  const [editRequest, setEditRequest] = useState<{ id: string; demo: DemoInfo | null } | null>(null);
  // Bumped on every tab click so a screen starts fresh (a click on "Connections" while a form
  // is open returns to the list).
  const [visit, setVisit] = useState(0);

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

  const context: ScreenContext = {
    info,
    connections,
    editRequest,
    navigate,
    onDemoStarted,
    reloadInfo: loadInfo,
    reloadConnections,
  };

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
        ) : (
          <Fragment key={visit}>{SCREENS.find((entry) => entry.id === tab)?.screen(context)}</Fragment>
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
