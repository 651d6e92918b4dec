import { act, fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../../api";
import { ErrorProvider } from "../../errors";
import { sourceView } from "../../test/fixtures";
import { SOURCES_POLL_MS, SourcesScreen } from "./SourcesScreen";

vi.mock("../../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api")>();
  return {
    ...actual,
    listSources: vi.fn(),
    inspectSource: vi.fn(),
    saveSource: vi.fn(),
    deleteSource: vi.fn(),
    pickSourceFile: vi.fn(),
  };
});

const listSources = vi.mocked(api.listSources);
const inspectSource = vi.mocked(api.inspectSource);
const saveSource = vi.mocked(api.saveSource);
const deleteSource = vi.mocked(api.deleteSource);
const pickSourceFile = vi.mocked(api.pickSourceFile);

function renderScreen() {
  return render(
    <ErrorProvider>
      <SourcesScreen />
    </ErrorProvider>,
  );
}

const columnNames = (row: HTMLElement) =>
  within(within(row).getByTestId("source-columns"))
    .getAllByRole("listitem")
    .map((li) => li.textContent);

beforeEach(() => {
  listSources.mockReset();
  inspectSource.mockReset();
  saveSource.mockReset();
  deleteSource.mockReset();
  pickSourceFile.mockReset();
  listSources.mockResolvedValue([sourceView()]);
});

afterEach(() => {
  vi.useRealTimers();
});

describe("sources list", () => {
  it("shows a source's kind, path, columns with their types, first rows, size and segments", async () => {
    listSources.mockResolvedValue([sourceView({ segments: ["Polish buyers"] })]);
    renderScreen();
    const row = await screen.findByTestId("source-row");
    expect(row).toHaveAttribute("data-name", "customers.csv");
    expect(row).toHaveAttribute("data-state", "ok");
    expect(within(row).getByTestId("source-kind")).toHaveTextContent("CSV");
    expect(within(row).getByTestId("source-path")).toHaveTextContent("/data/customers.csv");
    expect(within(row).getByTestId("source-file-info")).toHaveTextContent("2.0 KB");
    expect(within(row).getByTestId("source-segments")).toHaveTextContent("Polish buyers");
    expect(columnNames(row)).toEqual(["email", "country", "orders"]);
    expect(within(within(row).getByTestId("source-columns")).getByText("orders")).toHaveAttribute("data-type", "whole number");
    const sample = within(row).getByTestId("source-sample");
    expect(within(sample).getAllByRole("columnheader").map((th) => th.textContent)).toEqual([
      "email",
      "country",
      "orders",
    ]);
    expect(within(sample).getAllByRole("row")).toHaveLength(3);
  });

  it("shows a missing file clearly, with the back end's message and what to do", async () => {
    listSources.mockResolvedValue([
      sourceView({ id: "ok" }),
      sourceView({
        id: "gone",
        name: "old.csv",
        state: "missing",
        message: "The file /data/old.csv does not exist.",
        columns: [],
        sample: [],
        size: null,
        modifiedAt: null,
      }),
      sourceView({ id: "bad", name: "broken.db", kind: "sqlite", table: "people", state: "unreadable", message: "file is not a database", columns: [], sample: [] }),
    ]);
    renderScreen();
    const rows = await screen.findAllByTestId("source-row");
    const missing = rows[1];
    expect(missing).toHaveAttribute("data-state", "missing");
    expect(within(missing).getByTestId("source-state")).toHaveTextContent(
      "File missing: The file /data/old.csv does not exist.",
    );
    expect(within(missing).getByTestId("source-state")).toHaveTextContent("Put the file back at this path");
    expect(within(missing).queryByTestId("source-sample")).toBeNull();
    expect(within(missing).queryByTestId("source-columns")).toBeNull();
    expect(within(rows[2]).getByTestId("source-state")).toHaveTextContent("Can’t read the file: file is not a database");
    expect(within(rows[2]).getByTestId("source-state")).toHaveTextContent("SQLite");
    // Nothing else breaks: the readable source is still shown in full.
    expect(within(rows[0]).getByTestId("source-sample")).toBeInTheDocument();
  });

  it("says so when there is no source", async () => {
    listSources.mockResolvedValue([]);
    renderScreen();
    expect(await screen.findByTestId("sources-empty")).toHaveTextContent("No sources yet.");
  });

  it("polling re-detects a changed column list, in place, and stops when unmounted", async () => {
    vi.useFakeTimers();
    listSources
      .mockResolvedValueOnce([sourceView()])
      .mockResolvedValueOnce([sourceView()])
      .mockResolvedValue([
        sourceView({
          columns: [
            { name: "email", inferred: "email" },
            { name: "country", inferred: "text" },
            { name: "orders", inferred: "integer" },
            { name: "city", inferred: "text" },
          ],
          sample: [["ann@example.com", "PL", "3", "Kraków"]],
        }),
      ]);
    const view = renderScreen();
    await act(async () => {});
    const row = screen.getByTestId("source-row");
    const table = within(row).getByTestId("source-sample");
    expect(columnNames(row)).toEqual(["email", "country", "orders"]);

    // Unchanged answer: the very same table element stays.
    await act(async () => {
      vi.advanceTimersByTime(SOURCES_POLL_MS);
    });
    expect(listSources).toHaveBeenCalledTimes(2);
    expect(within(row).getByTestId("source-sample")).toBe(table);

    await act(async () => {
      vi.advanceTimersByTime(SOURCES_POLL_MS);
    });
    expect(listSources).toHaveBeenCalledTimes(3);
    expect(screen.getByTestId("source-row")).toBe(row);
    expect(columnNames(row)).toEqual(["email", "country", "orders", "city"]);
    expect(within(row).getByText("Kraków")).toBeInTheDocument();

    view.unmount();
    await act(async () => {
      vi.advanceTimersByTime(SOURCES_POLL_MS * 3);
    });
    expect(listSources).toHaveBeenCalledTimes(3);
  });

  it("does not poll while the window is hidden, and re-checks when it comes back", async () => {
    vi.useFakeTimers();
    const visibility = vi.spyOn(document, "visibilityState", "get").mockReturnValue("hidden");
    renderScreen();
    await act(async () => {});
    expect(listSources).toHaveBeenCalledTimes(1);
    await act(async () => {
      vi.advanceTimersByTime(SOURCES_POLL_MS * 3);
    });
    expect(listSources).toHaveBeenCalledTimes(1);
    visibility.mockReturnValue("visible");
    await act(async () => {
      document.dispatchEvent(new Event("visibilitychange"));
    });
    expect(listSources).toHaveBeenCalledTimes(2);
  });

  it("Re-detect inspects the source again and shows the result", async () => {
    inspectSource.mockResolvedValue(
      sourceView({ state: "missing", message: "The file /data/customers.csv does not exist.", columns: [], sample: [] }),
    );
    renderScreen();
    const row = await screen.findByTestId("source-row");
    await userEvent.click(within(row).getByTestId("source-refresh"));
    expect(inspectSource).toHaveBeenCalledWith("src-1");
    expect(await within(row).findByText(/does not exist/)).toBeInTheDocument();
    expect(row).toHaveAttribute("data-state", "missing");
  });
});

describe("removing a source", () => {
  it("asks for confirmation, then removes it", async () => {
    deleteSource.mockResolvedValue(undefined);
    renderScreen();
    const row = await screen.findByTestId("source-row");
    await userEvent.click(within(row).getByTestId("source-delete"));
    expect(deleteSource).not.toHaveBeenCalled();
    const dialog = screen.getByTestId("confirm-dialog");
    expect(dialog).toHaveTextContent("Remove “customers.csv”?");
    expect(within(dialog).getByTestId("confirm-cancel")).toHaveFocus();

    listSources.mockResolvedValue([]);
    await userEvent.click(within(dialog).getByTestId("confirm-ok"));
    expect(deleteSource).toHaveBeenCalledWith("src-1");
    expect(await screen.findByTestId("source-saved")).toHaveTextContent("Removed “customers.csv”.");
    expect(await screen.findByTestId("sources-empty")).toBeInTheDocument();
  });

  it("Cancel (or Escape) keeps it", async () => {
    renderScreen();
    await userEvent.click(await screen.findByTestId("source-delete"));
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByTestId("confirm-dialog")).toBeNull();
    expect(deleteSource).not.toHaveBeenCalled();
  });

  it("shows a refusal with its message on the source", async () => {
    deleteSource.mockRejectedValue(
      new api.AppError("config.invalid", 'Source: "customers.csv" is used by the segment(s) "Polish buyers". Remove them first.'),
    );
    renderScreen();
    const row = await screen.findByTestId("source-row");
    await userEvent.click(within(row).getByTestId("source-delete"));
    await userEvent.click(screen.getByTestId("confirm-ok"));
    expect(await within(row).findByTestId("source-row-error")).toHaveTextContent(
      'is used by the segment(s) "Polish buyers". Remove them first.',
    );
    expect(screen.queryByTestId("confirm-dialog")).toBeNull();
    expect(screen.getByTestId("source-row")).toBeInTheDocument();
  });
});

describe("adding a source", () => {
  it("picks a SQLite file, pre-fills the name, chooses a table and saves", async () => {
    pickSourceFile.mockResolvedValue({
      path: "/data/shop.db",
      fileName: "shop.db",
      kind: "sqlite",
      tables: ["orders", "people"],
    });
    const saved = sourceView({ id: "src-9", name: "shop.db", kind: "sqlite", table: "people", path: "/data/shop.db" });
    saveSource.mockResolvedValue(saved);
    renderScreen();
    await screen.findByTestId("source-row");

    await userEvent.click(screen.getByTestId("new-source"));
    const form = await screen.findByTestId("source-form");
    const name = within(form).getByTestId("source-name");
    expect(name).toHaveValue("shop.db");
    expect(name).toHaveFocus();
    expect(within(form).getByTestId("source-table")).toHaveValue("orders");
    await userEvent.selectOptions(within(form).getByTestId("source-table"), "people");
    listSources.mockResolvedValue([sourceView(), saved]);
    await userEvent.click(within(form).getByTestId("source-save"));

    expect(saveSource).toHaveBeenCalledWith({
      id: null,
      name: "shop.db",
      kind: "sqlite",
      path: "/data/shop.db",
      table: "people",
    });
    expect(await screen.findByTestId("source-saved")).toHaveTextContent("Added “shop.db”.");
    expect(screen.queryByTestId("source-form")).toBeNull();
    expect(screen.getAllByTestId("source-row").map((r) => r.getAttribute("data-name"))).toEqual([
      "customers.csv",
      "shop.db",
    ]);
  });

  it("a CSV has no table choice; a cancelled dialog opens nothing; Escape closes the form", async () => {
    pickSourceFile.mockResolvedValueOnce(null);
    renderScreen();
    await userEvent.click(await screen.findByTestId("new-source"));
    expect(screen.queryByTestId("source-form")).toBeNull();

    pickSourceFile.mockResolvedValueOnce({ path: "/d/leads.csv", fileName: "leads.csv", kind: "csv", tables: [] });
    await userEvent.click(screen.getByTestId("new-source"));
    const form = await screen.findByTestId("source-form");
    expect(within(form).queryByTestId("source-table")).toBeNull();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByTestId("source-form")).toBeNull();
    expect(saveSource).not.toHaveBeenCalled();
  });

  it("shows why saving failed, in the form", async () => {
    pickSourceFile.mockResolvedValue({ path: "/d/leads.csv", fileName: "leads.csv", kind: "csv", tables: [] });
    saveSource.mockRejectedValue(new api.AppError("source.unreadable", "leads.csv: invalid UTF-8 on line 3"));
    renderScreen();
    await userEvent.click(await screen.findByTestId("new-source"));
    const name = await screen.findByTestId("source-name");
    fireEvent.change(name, { target: { value: "" } });
    expect(screen.getByTestId("source-save")).toBeDisabled();
    fireEvent.change(name, { target: { value: "Leads" } });
    await userEvent.click(screen.getByTestId("source-save"));
    expect(await screen.findByTestId("source-form-error")).toHaveTextContent("invalid UTF-8 on line 3");
    expect(screen.getByTestId("source-name")).toHaveValue("Leads");
  });
});
