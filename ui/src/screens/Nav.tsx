export type Tab = "exports" | "sources" | "segments" | "connections" | "history" | "settings";

const TABS: { id: Tab; label: string }[] = [
  { id: "exports", label: "Exports" },
  { id: "sources", label: "Sources" },
  { id: "segments", label: "Segments" },
  { id: "connections", label: "Connections" },
  { id: "history", label: "History" },
  { id: "settings", label: "Settings" },
];

export function Nav({ current, onNavigate }: { current: Tab; onNavigate: (tab: Tab) => void }) {
  return (
    <nav className="nav" aria-label="Sections">
      {TABS.map((tab) => (
        <button
          key={tab.id}
          type="button"
          className="nav-tab"
          aria-current={current === tab.id ? "page" : undefined}
          onClick={() => onNavigate(tab.id)}
          data-testid={`nav-${tab.id}`}
        >
          {tab.label}
        </button>
      ))}
    </nav>
  );
}
