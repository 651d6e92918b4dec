import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../../api";
import { ErrorProvider } from "../../errors";
import { ErrorBanner } from "../../components/ErrorBanner";
import { SettingsScreen } from "./SettingsScreen";

vi.mock("../../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api")>();
  return { ...actual, getSettings: vi.fn(), saveSettings: vi.fn(), openLogsFolder: vi.fn() };
});

const getSettings = vi.mocked(api.getSettings);
const saveSettings = vi.mocked(api.saveSettings);
const openLogsFolder = vi.mocked(api.openLogsFolder);

const SETTINGS = { operator: "alice", role: "admin" as const, dataDir: "/home/alice/.segport", logsDir: "/home/alice/.segport/logs" };

function renderScreen(onSaved = vi.fn().mockResolvedValue(undefined)) {
  render(
    <ErrorProvider>
      <ErrorBanner />
      <SettingsScreen onSaved={onSaved} />
    </ErrorProvider>,
  );
  return onSaved;
}

beforeEach(() => {
  getSettings.mockReset().mockResolvedValue(SETTINGS);
  saveSettings.mockReset();
  openLogsFolder.mockReset();
});

describe("settings form", () => {
  it("shows the operator, the data folder and the logs folder", async () => {
    renderScreen();
    expect(await screen.findByLabelText("Your name")).toHaveValue("alice");
    expect(screen.getByLabelText(/^Admin/)).toBeChecked();
    expect(screen.getByTestId("settings-data-dir")).toHaveTextContent("/home/alice/.segport");
    expect(screen.getByTestId("settings-logs-dir")).toHaveTextContent("/home/alice/.segport/logs");
    expect(screen.getByText(/follows your system/)).toBeInTheDocument();
    // Nothing changed yet: nothing to save.
    expect(screen.getByRole("button", { name: "Save" })).toBeDisabled();
  });

  it("saves the trimmed name and the role, then tells the app", async () => {
    const user = userEvent.setup();
    saveSettings.mockResolvedValue({ ...SETTINGS, operator: "Bob", role: "contributor" });
    const onSaved = renderScreen();
    const name = await screen.findByLabelText("Your name");
    await user.clear(name);
    await user.type(name, "  Bob ");
    await user.click(screen.getByLabelText(/^Contributor/));
    await user.click(screen.getByRole("button", { name: "Save" }));

    expect(saveSettings).toHaveBeenCalledWith({ operator: "Bob", role: "contributor" });
    expect(await screen.findByTestId("settings-saved")).toHaveTextContent("You are Bob, a contributor.");
    expect(onSaved).toHaveBeenCalledTimes(1);
  });

  it("reports a failed save in the error banner and keeps the form", async () => {
    const user = userEvent.setup();
    saveSettings.mockRejectedValue(new api.AppError("store.error", "The database is busy. Try again."));
    const onSaved = renderScreen();
    await user.click(await screen.findByLabelText(/^Contributor/));
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByTestId("error-banner")).toHaveTextContent("The database is busy. Try again.");
    expect(onSaved).not.toHaveBeenCalled();
    expect(screen.getByLabelText(/^Contributor/)).toBeChecked();
  });

  it("opens the logs folder through the back end and says when it cannot", async () => {
    const user = userEvent.setup();
    openLogsFolder.mockRejectedValue(new api.AppError("app.open_failed", "Open /home/alice/.segport/logs yourself."));
    renderScreen();
    await user.click(await screen.findByRole("button", { name: "Open logs folder" }));
    expect(openLogsFolder).toHaveBeenCalledWith();
    expect(await screen.findByTestId("settings-logs-error")).toHaveTextContent("Open /home/alice/.segport/logs yourself.");
  });
});
