import { SCREENS, type Tab } from ".";

export type { Tab } from ".";

export function Nav({ current, onNavigate }: { current: Tab; onNavigate: (tab: Tab) => void }) {
  return (
    <nav className="nav" aria-label="Sections">
      {SCREENS.map((tab) => (
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
