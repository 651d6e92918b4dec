import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../../api";
import { connection, exportView, fileSegment, fileSource } from "../../test/fixtures";
import { ExportForm } from "./ExportForm";

vi.mock("../../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api")>();
  return {
    ...actual,
    listSegments: vi.fn(),
    inspectSource: vi.fn(),
    suggestMapping: vi.fn(),
    previewMapping: vi.fn(),
    pickSourceFile: vi.fn(),
    addFileSegment: vi.fn(),
    saveExport: vi.fn(),
    runExport: vi.fn(),
  };
});

const listSegments = vi.mocked(api.listSegments);
const inspectSource = vi.mocked(api.inspectSource);
const suggestMapping = vi.mocked(api.suggestMapping);
const previewMapping = vi.mocked(api.previewMapping);
const pickSourceFile = vi.mocked(api.pickSourceFile);
const addFileSegment = vi.mocked(api.addFileSegment);
const saveExport = vi.mocked(api.saveExport);
const runExport = vi.mocked(api.runExport);

const orders = fileSegment({ id: "seg-orders", name: "Big orders", sourceId: "src-orders", sourceName: "orders.db" });
const ordersSource = fileSource({
  id: "src-orders",
  name: "orders.db",
  kind: "sqlite",
  path: "/data/orders.db",
  fileName: "orders.db",
  table: "orders",
  columns: [
    { name: "mail", inferred: "email" },
    { name: "total", inferred: "number" },
  ],
});

function renderForm(props: Partial<Parameters<typeof ExportForm>[0]> = {}) {
  const handlers = { onSaved: vi.fn(), onCancel: vi.fn(), onGoToConnections: vi.fn() };
  render(<ExportForm existing={null} connections={[connection()]} {...handlers} {...props} />);
  return handlers;
}

function select(testId: string): HTMLSelectElement {
  return screen.getByTestId<HTMLSelectElement>(testId);
}

/** Chooses a segment once the list has loaded, and waits for its source's columns. */
async function chooseSegment(name = "All rows of vips.csv") {
  await screen.findByRole("option", { name });
  await userEvent.selectOptions(select("export-segment"), name);
  await screen.findByTestId("segment-columns");
}

beforeEach(() => {
  for (const mock of [listSegments, inspectSource, suggestMapping, previewMapping, pickSourceFile, addFileSegment, saveExport, runExport]) {
    mock.mockReset();
  }
  listSegments.mockResolvedValue([fileSegment(), orders]);
  inspectSource.mockImplementation(async (id) => (id === "src-orders" ? ordersSource : fileSource()));
  suggestMapping.mockImplementation(async (id) => ({
    mapping:
      id === "seg-orders" ? { email: "mail" } : { email: "E-mail", first_name: "First", last_name: "Last", phone_number: "Phone" },
    phoneHint: null,
  }));
  previewMapping.mockResolvedValue({ profiles: [] });
});

describe("segment", () => {
  it("lists the segments and shows the chosen segment's file and columns", async () => {
    renderForm();

    await chooseSegment("Big orders");

    expect(inspectSource).toHaveBeenCalledWith("src-orders");
    expect(screen.getByTestId("segment-file-name")).toHaveTextContent("orders.db");
    const columns = within(screen.getByTestId("segment-columns")).getAllByRole("listitem");
    expect(columns.map((li) => li.textContent)).toEqual(["mail", "total"]);
  });

  it("“New from a file…” adds the file's segment, selects it and pre-selects its mapping", async () => {
    pickSourceFile.mockResolvedValue({ path: "/data/new.csv", fileName: "new.csv", kind: "csv", tables: [] });
    const added = fileSegment({ id: "seg-new", name: "All rows of new.csv", sourceId: "src-vips" });
    addFileSegment.mockResolvedValue(added);
    renderForm();
    await screen.findByRole("option", { name: "Big orders" });

    await userEvent.click(screen.getByTestId("export-pick-file"));

    expect(addFileSegment).toHaveBeenCalledWith("/data/new.csv", "csv", null);
    await waitFor(() => expect(select("export-segment").value).toBe("seg-new"));
    expect(suggestMapping).toHaveBeenCalledWith("seg-new");
    await waitFor(() => expect(select("mapping-email").value).toBe("E-mail"));
  });

  it("asks which table of a SQLite file to use", async () => {
    pickSourceFile.mockResolvedValue({ path: "/data/orders.db", fileName: "orders.db", kind: "sqlite", tables: ["customers", "orders"] });
    addFileSegment.mockResolvedValue(orders);
    renderForm();

    await userEvent.click(screen.getByTestId("export-pick-file"));
    await userEvent.selectOptions(await screen.findByTestId("export-pick-table"), "orders");
    expect(addFileSegment).not.toHaveBeenCalled();
    await userEvent.click(screen.getByTestId("export-pick-table-ok"));

    expect(addFileSegment).toHaveBeenCalledWith("/data/orders.db", "sqlite", "orders");
    await waitFor(() => expect(select("export-segment").value).toBe("seg-orders"));
    expect(screen.queryByTestId("export-pick-table")).not.toBeInTheDocument();
  });

  it("changes nothing when the file dialog is cancelled", async () => {
    pickSourceFile.mockResolvedValue(null);
    renderForm();
    await userEvent.click(screen.getByTestId("export-pick-file"));
    expect(addFileSegment).not.toHaveBeenCalled();
    expect(select("export-segment").value).toBe("");
  });
});

describe("mapping pre-selection", () => {
  it("comes from suggestMapping when a segment is chosen for a new export", async () => {
    renderForm();

    await chooseSegment();

    expect(suggestMapping).toHaveBeenCalledWith("seg-vips");
    await waitFor(() => expect(select("mapping-email").value).toBe("E-mail"));
    expect(select("mapping-first_name").value).toBe("First");
    expect(select("mapping-last_name").value).toBe("Last");
    expect(select("mapping-phone_number").value).toBe("Phone");
    expect(select("mapping-city").value).toBe("");

    // Another segment: its own suggestion replaces the first one.
    await chooseSegment("Big orders");
    await waitFor(() => expect(select("mapping-email").value).toBe("mail"));
    expect(select("mapping-first_name").value).toBe("");
  });

  it("proposes the file's default country for national phone numbers, saying why beside the phone field", async () => {
    const why = "Numbers without a country code (like “601 234 567”) are read as numbers of PL, the most common country in the column “country”.";
    suggestMapping.mockResolvedValue({
      mapping: { email: "E-mail", phone_number: "Phone", default_country: "PL" },
      phoneHint: why,
    });
    renderForm();

    await chooseSegment();

    await waitFor(() => expect(select("mapping-phone_number").value).toBe("Phone"));
    expect(screen.getByTestId<HTMLInputElement>("mapping-default_country").value).toBe("PL");
    const hint = screen.getByTestId("mapping-phone-hint");
    expect(hint).toHaveTextContent(why);
    expect(select("mapping-phone_number")).toHaveAccessibleDescription(expect.stringContaining("most common country"));
    // Another country chosen: the explanation no longer applies.
    await userEvent.clear(screen.getByTestId("mapping-default_country"));
    await userEvent.type(screen.getByTestId("mapping-default_country"), "DE");
    expect(screen.queryByTestId("mapping-phone-hint")).toBeNull();
  });

  it("leaves the phone unmapped with a hint when no default country reads the numbers", async () => {
    const why = "Phone not mapped: “Phone” has numbers without a country code (like “601 234 567”) — choose the default country, then the phone column.";
    suggestMapping.mockResolvedValue({ mapping: { email: "E-mail" }, phoneHint: why });
    renderForm();

    await chooseSegment();

    await waitFor(() => expect(select("mapping-email").value).toBe("E-mail"));
    expect(select("mapping-phone_number").value).toBe("");
    expect(screen.getByTestId<HTMLInputElement>("mapping-default_country").value).toBe("");
    expect(screen.getByTestId("mapping-phone-hint")).toHaveTextContent("choose the default country");
    // Still shown once the column is chosen, until a default country is.
    await userEvent.selectOptions(select("mapping-phone_number"), "Phone");
    expect(screen.getByTestId("mapping-phone-hint")).toBeInTheDocument();
    await userEvent.type(screen.getByTestId("mapping-default_country"), "PL");
    expect(screen.queryByTestId("mapping-phone-hint")).toBeNull();
  });

  it("does not overwrite a saved export's mapping", async () => {
    renderForm({
      existing: exportView({
        mapping: { email: "E-mail", first_name: "Last", city: "City", invalid_phone: "omit", properties: { plan: "Plan" } },
      }),
    });

    await screen.findByTestId("segment-columns");
    expect(select("export-segment").value).toBe("seg-vips");
    expect(select("mapping-email").value).toBe("E-mail");
    expect(select("mapping-first_name").value).toBe("Last");
    expect(select("mapping-city").value).toBe("City");
    expect(select("mapping-invalid_phone").value).toBe("omit");
    expect(screen.getByTestId<HTMLInputElement>("mapping-property-name").value).toBe("plan");
    expect(suggestMapping).not.toHaveBeenCalled();
  });

  it("previews the current mapping after each change", async () => {
    renderForm({ existing: exportView() });
    await screen.findByTestId("segment-columns");
    await waitFor(() => expect(previewMapping).toHaveBeenCalledWith("seg-vips", expect.objectContaining({ email: "E-mail" })));

    await userEvent.selectOptions(select("mapping-last_name"), "Last");

    await waitFor(() =>
      expect(previewMapping).toHaveBeenLastCalledWith("seg-vips", {
        email: "E-mail",
        first_name: "First",
        last_name: "Last",
        invalid_phone: "reject",
      }),
    );
  });
});

describe("custom properties", () => {
  it("rows become mapping.properties; a removed row is gone", async () => {
    saveExport.mockResolvedValue(exportView());
    renderForm({ existing: exportView({ mapping: { email: "E-mail" } }) });
    await screen.findByTestId("segment-columns");

    await userEvent.click(screen.getByTestId("mapping-add-property"));
    await userEvent.click(screen.getByTestId("mapping-add-property"));
    await userEvent.click(screen.getByTestId("mapping-add-property"));
    const rows = screen.getAllByTestId("mapping-property");
    const fill = async (row: HTMLElement, name: string, column: string) => {
      await userEvent.type(within(row).getByTestId("mapping-property-name"), name);
      await userEvent.selectOptions(within(row).getByTestId("mapping-property-column"), column);
    };
    await fill(rows[0], "plan", "Plan");
    await fill(rows[1], "town", "City");
    await fill(rows[2], "Loyalty tier", "First");
    await userEvent.click(within(rows[1]).getByTestId("mapping-property-remove"));
    expect(screen.getAllByTestId("mapping-property")).toHaveLength(2);

    await userEvent.click(screen.getByTestId("export-save"));

    expect(saveExport).toHaveBeenCalledOnce();
    expect(saveExport.mock.calls[0][0].mapping.properties).toEqual({ plan: "Plan", "Loyalty tier": "First" });
  });

  it("refuses duplicate and empty names, next to the row", async () => {
    renderForm({ existing: exportView({ mapping: { email: "E-mail" } }) });
    await screen.findByTestId("segment-columns");

    await userEvent.click(screen.getByTestId("mapping-add-property"));
    await userEvent.click(screen.getByTestId("mapping-add-property"));
    const [first, second] = screen.getAllByTestId("mapping-property");
    await userEvent.type(within(first).getByTestId("mapping-property-name"), "plan");
    await userEvent.selectOptions(within(first).getByTestId("mapping-property-column"), "Plan");
    await userEvent.type(within(second).getByTestId("mapping-property-name"), "plan");
    await userEvent.selectOptions(within(second).getByTestId("mapping-property-column"), "City");

    expect(within(second).getByTestId("mapping-property-error")).toHaveTextContent("names must be unique");
    expect(within(first).queryByTestId("mapping-property-error")).not.toBeInTheDocument();

    await userEvent.clear(within(second).getByTestId("mapping-property-name"));
    await userEvent.click(screen.getByTestId("export-save"));
    expect(within(second).getByTestId("mapping-property-error")).toHaveTextContent("Give the property a name.");
    expect(saveExport).not.toHaveBeenCalled();
  });
});

describe("mode and schedule", () => {
  it("explains each mode in one sentence", () => {
    renderForm();
    const upsert = screen.getByRole("radio", { name: /Upsert/ });
    const mirror = screen.getByRole("radio", { name: /Mirror/ });
    expect(upsert).toBe(screen.getByTestId("export-mode-upsert"));
    expect(upsert).toBeChecked();
    expect(upsert).toHaveAccessibleDescription("Adds and updates profiles in the list; never removes anyone.");
    expect(mirror).toHaveAccessibleDescription(
      "Also removes from the list the profiles that left the segment since the last run.",
    );
    expect(screen.getByRole("group", { name: "Mode" })).toContainElement(mirror);
  });

  it.each([
    ["manual", async () => {}, { kind: "manual" }],
    [
      "every",
      async () => {
        await userEvent.clear(screen.getByTestId("schedule-hours"));
        await userEvent.type(screen.getByTestId("schedule-hours"), "6");
      },
      { kind: "every", hours: 6 },
    ],
    [
      "daily",
      async () => {
        await userEvent.clear(screen.getByTestId("schedule-at"));
        await userEvent.type(screen.getByTestId("schedule-at"), "09:30");
      },
      { kind: "daily", at: "09:30:00" },
    ],
  ] as const)("schedule “%s” is saved as its Schedule value", async (kind, fill, expected) => {
    saveExport.mockResolvedValue(exportView());
    renderForm({ existing: exportView() });
    await screen.findByTestId("segment-columns");

    await userEvent.selectOptions(select("schedule-kind"), kind);
    await fill();
    await userEvent.click(screen.getByTestId("export-save"));

    expect(saveExport.mock.calls[0][0].schedule).toEqual(expected);
  });

  it("says when the hours are out of range, and does not save", async () => {
    renderForm({ existing: exportView() });
    await screen.findByTestId("segment-columns");

    await userEvent.selectOptions(select("schedule-kind"), "every");
    await userEvent.clear(screen.getByTestId("schedule-hours"));
    await userEvent.type(screen.getByTestId("schedule-hours"), "721");

    expect(screen.getByTestId("schedule-error")).toHaveTextContent("from 1 to 720");
    expect(screen.getByTestId("schedule-hours")).toHaveAccessibleDescription(/from 1 to 720/);
    await userEvent.click(screen.getByTestId("export-save"));
    expect(saveExport).not.toHaveBeenCalled();
  });
});

describe("removal guard (Mirror mode)", () => {
  it("appears in Mirror mode only, with the defaults and a one-line explanation", async () => {
    renderForm();
    expect(screen.queryByTestId("removal-guard")).not.toBeInTheDocument();

    await userEvent.click(screen.getByTestId("export-mode-mirror"));

    const guard = screen.getByTestId("removal-guard");
    expect(guard).toHaveTextContent(/Hold removals above\s*%\s*or\s*profiles/);
    expect(screen.getByRole("group", { name: "Hold removals above" })).toBe(guard);
    const percent = screen.getByRole("spinbutton", { name: "Hold removals above this percentage of the list" });
    const count = screen.getByRole("spinbutton", { name: "Hold removals above this number of profiles" });
    expect(percent).toBe(screen.getByTestId("guard-percent"));
    expect(percent).toHaveValue(10);
    expect(count).toHaveValue(1000);
    expect(percent).toHaveAccessibleDescription(/removes nobody and waits for your confirmation/);
    expect(screen.getByRole("group", { name: "Mode" })).toContainElement(guard);

    await userEvent.click(screen.getByTestId("export-mode-upsert"));
    expect(screen.queryByTestId("removal-guard")).not.toBeInTheDocument();
  });

  it("shows an existing export's guard and saves the numbers typed", async () => {
    saveExport.mockResolvedValue(exportView());
    renderForm({ existing: exportView({ mode: "mirror", removalGuard: { maxPercent: 5, maxCount: 200 } }) });
    await screen.findByTestId("segment-columns");
    expect(screen.getByTestId("guard-percent")).toHaveValue(5);
    expect(screen.getByTestId("guard-count")).toHaveValue(200);

    await userEvent.clear(screen.getByTestId("guard-percent"));
    await userEvent.type(screen.getByTestId("guard-percent"), "25");
    await userEvent.clear(screen.getByTestId("guard-count"));
    await userEvent.type(screen.getByTestId("guard-count"), "0");
    await userEvent.click(screen.getByTestId("export-save"));

    expect(saveExport).toHaveBeenCalledOnce();
    expect(saveExport.mock.calls[0][0].removalGuard).toEqual({ maxPercent: 25, maxCount: 0 });
  });

  it("says beside the fields when a number is out of range, and does not save", async () => {
    renderForm({ existing: exportView({ mode: "mirror" }) });
    await screen.findByTestId("segment-columns");

    await userEvent.clear(screen.getByTestId("guard-percent"));
    await userEvent.type(screen.getByTestId("guard-percent"), "101");
    await userEvent.clear(screen.getByTestId("guard-count"));
    await userEvent.type(screen.getByTestId("guard-count"), "-1");

    const guard = screen.getByTestId("removal-guard");
    expect(within(guard).getByTestId("guard-percent-error")).toHaveTextContent("from 0 to 100");
    expect(within(guard).getByTestId("guard-count-error")).toHaveTextContent("0 or more");
    expect(screen.getByTestId("guard-percent")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByTestId("guard-percent")).toHaveAccessibleDescription(/from 0 to 100/);
    expect(screen.getByTestId("guard-count")).toHaveAccessibleDescription(/0 or more/);

    await userEvent.click(screen.getByTestId("export-save"));
    expect(saveExport).not.toHaveBeenCalled();
    expect(screen.getByTestId("guard-percent")).toHaveFocus();

    await userEvent.clear(screen.getByTestId("guard-percent"));
    await userEvent.type(screen.getByTestId("guard-percent"), "100");
    expect(screen.queryByTestId("guard-percent-error")).not.toBeInTheDocument();
  });

  it("does not block an Upsert export, which keeps the guard it had", async () => {
    saveExport.mockResolvedValue(exportView());
    renderForm({ existing: exportView({ mode: "mirror", removalGuard: { maxPercent: 5, maxCount: 200 } }) });
    await screen.findByTestId("segment-columns");
    await userEvent.clear(screen.getByTestId("guard-percent"));
    await userEvent.click(screen.getByTestId("export-mode-upsert"));

    await userEvent.click(screen.getByTestId("export-save"));

    expect(saveExport.mock.calls[0][0]).toMatchObject({ mode: "upsert", removalGuard: { maxPercent: 5, maxCount: 200 } });
  });
});

describe("saving", () => {
  it("sends the exact ExportInput and never runs the export", async () => {
    const saved = exportView({ id: "exp-new", name: "Weekly" });
    saveExport.mockResolvedValue(saved);
    const { onSaved } = renderForm();

    await userEvent.type(screen.getByTestId("export-name"), "  Weekly ");
    await chooseSegment();
    await waitFor(() => expect(select("mapping-email").value).toBe("E-mail"));
    await userEvent.selectOptions(select("mapping-phone_number"), "");
    await userEvent.selectOptions(select("mapping-city"), "City");
    await userEvent.type(screen.getByTestId("mapping-default_country"), "pl");
    await userEvent.selectOptions(select("mapping-invalid_phone"), "omit");
    await userEvent.type(screen.getByTestId("export-list-id"), "AbC123");
    await userEvent.click(screen.getByTestId("export-mode-mirror"));
    await userEvent.click(screen.getByTestId("export-save"));

    expect(saveExport).toHaveBeenCalledWith({
      id: null,
      name: "Weekly",
      segmentId: "seg-vips",
      connectionId: "conn-1",
      listId: "AbC123",
      mapping: {
        email: "E-mail",
        first_name: "First",
        last_name: "Last",
        city: "City",
        default_country: "PL",
        invalid_phone: "omit",
      },
      mode: "mirror",
      schedule: { kind: "manual" },
      removalGuard: { maxPercent: 10, maxCount: 1000 },
    });
    await waitFor(() => expect(onSaved).toHaveBeenCalledWith(saved));
    expect(runExport).not.toHaveBeenCalled();
  });

  it("keeps an existing export's id and settings", async () => {
    saveExport.mockResolvedValue(exportView());
    renderForm({ existing: exportView({ mode: "mirror", schedule: { kind: "daily", at: "07:15:00" } }) });
    await screen.findByTestId("segment-columns");

    await userEvent.click(screen.getByTestId("export-save"));

    expect(saveExport).toHaveBeenCalledWith({
      id: "exp-1",
      name: "VIPs",
      segmentId: "seg-vips",
      connectionId: "conn-1",
      listId: "Y6nRLr",
      mapping: { email: "E-mail", first_name: "First", invalid_phone: "reject" },
      mode: "mirror",
      schedule: { kind: "daily", at: "07:15:00" },
      removalGuard: { maxPercent: 10, maxCount: 1000 },
    });
  });

  it("shows what is missing next to each field, and focuses the first one", async () => {
    renderForm();
    await screen.findByRole("option", { name: "Big orders" });

    await userEvent.click(screen.getByTestId("export-save"));

    expect(saveExport).not.toHaveBeenCalled();
    expect(screen.getByTestId("export-name-error")).toHaveTextContent("Give the export a name.");
    expect(screen.getByTestId("export-segment-error")).toHaveTextContent("Choose a segment");
    expect(screen.getByTestId("export-list-id-error")).toHaveTextContent("Pick a Klaviyo list");
    expect(screen.getByTestId("mapping-email-error")).toHaveTextContent("email addresses");
    expect(screen.getByTestId("export-name")).toHaveFocus();
    expect(screen.getByTestId("export-name")).toHaveAccessibleDescription("Give the export a name.");
  });

  it("shows a back-end refusal in the form's error area", async () => {
    saveExport.mockRejectedValue(new api.AppError("validation", "Klaviyo list ID: “x” is not a list ID."));
    const { onSaved } = renderForm({ existing: exportView() });
    await screen.findByTestId("segment-columns");

    await userEvent.click(screen.getByTestId("export-save"));

    expect(await screen.findByTestId("export-form-error")).toHaveTextContent("Klaviyo list ID: “x” is not a list ID.");
    expect(onSaved).not.toHaveBeenCalled();
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
        connection({ id: "a", name: "Usable", usable: true, verified: { accountId: "A1", accountName: "Shop", at: "2025-01-02T10:00:00Z" } }),
        connection({ id: "b", name: "No consent", usable: false, consent: null }),
      ],
    });

    expect(screen.queryByTestId("destination-unavailable")).not.toBeInTheDocument();
    const options = Array.from(select("export-connection").options);
    expect(options.map((o) => o.textContent)).toEqual(["Usable (Shop)"]);
    expect(select("export-connection").value).toBe("a");
  });
});

describe("labels", () => {
  it("gives every control of the form an accessible name", async () => {
    renderForm({ existing: exportView({ mapping: { email: "E-mail", properties: { plan: "Plan" } } }) });
    await screen.findByTestId("segment-columns");
    await userEvent.selectOptions(select("schedule-kind"), "every");

    const form = screen.getByTestId("export-form");
    const controls = Array.from(form.querySelectorAll<HTMLElement>("input, select, button, textarea"));
    expect(controls.length).toBeGreaterThan(30);
    for (const control of controls) {
      expect(control, control.outerHTML.slice(0, 120)).toHaveAccessibleName();
    }
  });
});
