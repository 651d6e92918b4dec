import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../api";
import { connection, exportView } from "../test/fixtures";
import { ExportForm } from "./ExportForm";

vi.mock("../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../api")>();
  return { ...actual, pickCsv: vi.fn(), inspectCsv: vi.fn(), saveExport: vi.fn() };
});

const pickCsv = vi.mocked(api.pickCsv);
const inspectCsv = vi.mocked(api.inspectCsv);
const saveExport = vi.mocked(api.saveExport);

function renderForm(props: Partial<Parameters<typeof ExportForm>[0]> = {}) {
  const handlers = { onSaved: vi.fn(), onCancel: vi.fn(), onGoToConnections: vi.fn() };
  render(<ExportForm existing={null} connections={[connection()]} {...handlers} {...props} />);
  return handlers;
}

beforeEach(() => {
  pickCsv.mockReset();
  inspectCsv.mockReset();
  saveExport.mockReset();
});

describe("email column", () => {
  it("is pre-selected with the suggested column of a freshly picked CSV", async () => {
    pickCsv.mockResolvedValue({
      path: "/data/customers.csv",
      fileName: "customers.csv",
      headers: ["Name", "Email Address", "City"],
      suggestedEmailColumn: "Email Address",
    });
    renderForm();

    await userEvent.click(screen.getByTestId("pick-csv"));

    const select = await screen.findByTestId<HTMLSelectElement>("export-email-column");
    await waitFor(() => expect(select.value).toBe("Email Address"));
    expect(screen.getByTestId("csv-file-name")).toHaveTextContent("customers.csv");
    expect(Array.from(select.options).map((o) => o.value)).toEqual(["Name", "Email Address", "City"]);
  });

  it("waits for the user when the CSV has no suggestion, and saves what they choose", async () => {
    pickCsv.mockResolvedValue({
      path: "/data/c.csv",
      fileName: "c.csv",
      headers: ["a", "b"],
      suggestedEmailColumn: null,
    });
    saveExport.mockResolvedValue(exportView());
    const { onSaved } = renderForm();

    await userEvent.type(screen.getByTestId("export-name"), "Weekly");
    await userEvent.type(screen.getByTestId("export-list-id"), "AbC123");
    await userEvent.click(screen.getByTestId("pick-csv"));
    const select = screen.getByTestId<HTMLSelectElement>("export-email-column");
    await waitFor(() => expect(select.value).toBe(""));
    expect(screen.getByTestId("export-save")).toBeDisabled();

    await userEvent.selectOptions(select, "b");
    await userEvent.click(screen.getByTestId("export-save"));

    expect(saveExport).toHaveBeenCalledWith({
      id: null,
      name: "Weekly",
      connectionId: "conn-1",
      csvPath: "/data/c.csv",
      listId: "AbC123",
      emailColumn: "b",
    });
    expect(onSaved).toHaveBeenCalled();
  });

  it("keeps an existing export's saved column after re-reading its file", async () => {
    inspectCsv.mockResolvedValue({
      path: "/data/vips.csv",
      fileName: "vips.csv",
      headers: ["email", "E-mail"],
      suggestedEmailColumn: "email",
    });
    renderForm({ existing: exportView({ emailColumn: "E-mail" }) });

    await waitFor(() => expect(inspectCsv).toHaveBeenCalledWith("/data/vips.csv"));
    const select = screen.getByTestId<HTMLSelectElement>("export-email-column");
    await waitFor(() => expect(select.options).toHaveLength(2));
    expect(select.value).toBe("E-mail");
  });

  it("shows why an existing export's CSV cannot be read", async () => {
    inspectCsv.mockRejectedValue(new api.AppError("source.not_found", "The file /data/vips.csv no longer exists."));
    renderForm({ existing: exportView() });

    expect(await screen.findByTestId("csv-error")).toHaveTextContent("The file /data/vips.csv no longer exists.");
  });
});

describe("destination", () => {
  it("is unavailable, with a way to Connections, when no connection is usable", async () => {
    const { onGoToConnections } = renderForm({
      connections: [connection({ usable: false, consent: null })],
    });

    expect(screen.getByTestId("destination-unavailable")).toHaveTextContent(
      "Klaviyo destination unavailable: no usable connection.",
    );
    expect(screen.queryByTestId("export-connection")).not.toBeInTheDocument();
    expect(screen.getByTestId("export-save")).toBeDisabled();

    await userEvent.click(screen.getByTestId("go-to-connections"));
    expect(onGoToConnections).toHaveBeenCalledOnce();
  });

  it("is unavailable when there are no connections at all", () => {
    renderForm({ connections: [] });
    expect(screen.getByTestId("destination-unavailable")).toBeInTheDocument();
  });

  it("offers only the usable connections", () => {
    renderForm({
      connections: [
        connection({ id: "a", name: "Usable", usable: true }),
        connection({ id: "b", name: "No consent", usable: false, consent: null }),
      ],
    });

    expect(screen.queryByTestId("destination-unavailable")).not.toBeInTheDocument();
    const select = screen.getByTestId<HTMLSelectElement>("export-connection");
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual(["Usable"]);
    expect(select.value).toBe("a");
  });
});
