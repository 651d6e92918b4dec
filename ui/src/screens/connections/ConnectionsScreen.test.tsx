import { render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { AppInfo, Role } from "../../api";
import { ErrorProvider } from "../../errors";
import { connection } from "../../test/fixtures";
import { ConnectionsScreen } from "./ConnectionsScreen";

function info(role: Role): AppInfo {
  return { operator: "alice", role, dataDir: "/d", version: "0.1.0", demoAvailable: false };
}

function renderScreen(role: Role) {
  render(
    <ErrorProvider>
      <ConnectionsScreen
        info={info(role)}
        connections={[connection({ usableBy: "contributors" })]}
        onChanged={vi.fn().mockResolvedValue(undefined)}
        editRequest={null}
        onGoToExports={vi.fn()}
      />
    </ErrorProvider>,
  );
}

describe("contributor guardrail", () => {
  it("a contributor cannot add, edit or remove connections, and is told why", () => {
    renderScreen("contributor");
    const add = screen.getByRole("button", { name: "New connection" });
    expect(add).toBeDisabled();
    expect(add).toHaveAccessibleDescription(/only admins add, change or remove connections/i);
    expect(screen.getByTestId("contributor-note")).toHaveTextContent("not a security boundary");

    const row = screen.getByTestId("connection-row");
    expect(within(row).queryByTestId("conn-edit")).toBeNull();
    expect(within(row).queryByTestId("conn-remove")).toBeNull();
    expect(within(row).getByTestId("conn-admin-only")).toHaveTextContent("Only admins");
    // Using a shared connection stays possible.
    expect(within(row).getByRole("button", { name: "Connect Main store" })).toBeEnabled();
  });

  it("an admin gets New, Edit and Remove and no guardrail note", () => {
    renderScreen("admin");
    expect(screen.getByRole("button", { name: "New connection" })).toBeEnabled();
    expect(screen.queryByTestId("contributor-note")).toBeNull();
    const row = screen.getByTestId("connection-row");
    expect(within(row).getByRole("button", { name: "Edit Main store" })).toBeEnabled();
    expect(within(row).getByRole("button", { name: "Remove Main store" })).toBeEnabled();
  });
});
