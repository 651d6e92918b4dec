import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { Nav } from "./Nav";

describe("navigation", () => {
  it("offers the tabs in order, marks the current one and navigates", async () => {
    const onNavigate = vi.fn();
    render(<Nav current="sources" onNavigate={onNavigate} />);
    const tabs = screen.getAllByRole("button");
    expect(tabs.map((t) => t.getAttribute("data-testid"))).toEqual([
      "nav-exports",
      "nav-sources",
      "nav-segments",
      "nav-connections",
      "nav-history",
      "nav-settings",
    ]);
    expect(tabs.map((t) => t.textContent)).toEqual(["Exports", "Sources", "Segments", "Connections", "History", "Settings"]);
    expect(screen.getByTestId("nav-sources")).toHaveAttribute("aria-current", "page");
    await userEvent.click(screen.getByTestId("nav-segments"));
    expect(onNavigate).toHaveBeenCalledWith("segments");
  });
});
