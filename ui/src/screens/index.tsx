// The app's screens: one row per tab, in the order the navigation shows them. Adding a screen is
// a folder under screens/ and a row here (its id in `Tab`).

import type { ReactNode } from "react";
import type { AppInfo, ConnectionView, DemoInfo } from "../api";
import type { ListsAll } from "../unions";
import { ConnectionsScreen } from "./connections/ConnectionsScreen";
import { ExportsScreen } from "./exports/ExportsScreen";
import { HistoryScreen } from "./history/HistoryScreen";
import { SegmentsScreen } from "./segments/SegmentsScreen";
import { SettingsScreen } from "./settings/SettingsScreen";
import { SourcesScreen } from "./sources/SourcesScreen";

export type Tab = "exports" | "sources" | "segments" | "connections" | "history" | "settings";

/** What the app shell gives every screen. */
export interface ScreenContext {
  info: AppInfo | null;
  connections: ConnectionView[] | null;
  /** Set when another screen sends the user to edit a connection (the demo does). */
  editRequest: { id: string; demo: DemoInfo | null } | null;
  navigate: (tab: Tab) => void;
  onDemoStarted: (demo: DemoInfo) => Promise<void>;
  reloadInfo: () => Promise<unknown>;
  reloadConnections: () => Promise<unknown>;
}

export interface ScreenEntry {
  id: Tab;
  /** The navigation button's text. */
  label: string;
  screen: (context: ScreenContext) => ReactNode;
}

export const SCREENS = [
  {
    id: "exports",
    label: "Exports",
    screen: ({ info, connections, onDemoStarted, navigate }) => (
      <ExportsScreen
        info={info}
        connections={connections}
        onDemoStarted={onDemoStarted}
        onGoToConnections={() => navigate("connections")}
      />
    ),
  },
  { id: "sources", label: "Sources", screen: () => <SourcesScreen /> },
  {
    id: "segments",
    label: "Segments",
    screen: ({ navigate }) => <SegmentsScreen onGoToSources={() => navigate("sources")} />,
  },
  {
    id: "connections",
    label: "Connections",
    screen: ({ info, connections, editRequest, navigate, reloadInfo, reloadConnections }) => (
      <ConnectionsScreen
        info={info}
        connections={connections}
        onChanged={async () => {
          await Promise.all([reloadConnections(), reloadInfo()]);
        }}
        editRequest={editRequest}
        onGoToExports={() => navigate("exports")}
      />
    ),
  },
  { id: "history", label: "History", screen: () => <HistoryScreen /> },
  {
    id: "settings",
    label: "Settings",
    screen: ({ reloadInfo, reloadConnections }) => (
      <SettingsScreen
        onSaved={async () => {
          await Promise.all([reloadInfo(), reloadConnections()]);
        }}
      />
    ),
  },
] as const satisfies readonly ScreenEntry[];

// Every tab has its screen.
true satisfies ListsAll<Tab, (typeof SCREENS)[number]["id"]>;
