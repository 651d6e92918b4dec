import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../../api";
import { connection } from "../../test/fixtures";
import { ConnectionForm } from "./ConnectionForm";

vi.mock("../../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api")>();
  return { ...actual, saveConnection: vi.fn() };
});

const saveConnection = vi.mocked(api.saveConnection);

beforeEach(() => {
  saveConnection.mockReset();
  saveConnection.mockResolvedValue(connection());
});

function renderForm(existing: Parameters<typeof ConnectionForm>[0]["existing"]) {
  const onSaved = vi.fn();
  render(<ConnectionForm existing={existing} operator="alice" onSaved={onSaved} onCancel={vi.fn()} />);
  return { onSaved };
}

describe("new connection", () => {
  it("cannot be saved until it has a name, a key and the user's consent", async () => {
    renderForm(null);
    const save = screen.getByTestId("conn-save");

    await userEvent.type(screen.getByTestId("conn-name"), "Main");
    await userEvent.type(screen.getByTestId("conn-key"), "pk_secret");
    expect(save).toBeDisabled();

    await userEvent.click(screen.getByTestId("conn-consent"));
    expect(save).toBeEnabled();

    await userEvent.click(save);
    expect(saveConnection).toHaveBeenCalledWith({
      id: null,
      name: "Main",
      baseUrl: null,
      usableBy: "admins",
      apiKey: "pk_secret",
      consent: true,
      exportUser: null,
    });
  });

  it("offers the API key as a password field that mentions the keychain", () => {
    renderForm(null);
    const key = screen.getByLabelText("Klaviyo private API key");
    expect(key).toHaveAttribute("type", "password");
    expect(key.getAttribute("placeholder")).toMatch(/stored in your OS keychain/);
  });
});

describe("editing a connection", () => {
  it("never prefills the key and keeps the stored one when left empty", async () => {
    renderForm(connection({ id: "c9", keyStored: true }));

    expect(screen.getByTestId("conn-key")).toHaveValue("");
    expect(screen.getByTestId("conn-key-hint")).toHaveTextContent("A key is stored — type a new one to replace it");
    await userEvent.click(screen.getByTestId("conn-save"));

    expect(saveConnection).toHaveBeenCalledWith(expect.objectContaining({ id: "c9", apiKey: null }));
  });

  it("asks for consent when none is recorded (the demo connection), and shows it once recorded", async () => {
    renderForm(connection({ consent: null, usable: false }));
    expect(screen.getByTestId("conn-consent")).not.toBeChecked();
    expect(screen.getByTestId("conn-save")).toBeDisabled();
    expect(screen.queryByTestId("conn-consent-recorded")).not.toBeInTheDocument();
  });

  it("shows who recorded consent and when", () => {
    renderForm(connection({ consent: { by: "bob", at: "2025-03-04T05:06:07Z" } }));
    expect(screen.getByTestId("conn-consent")).toBeChecked();
    expect(screen.getByTestId("conn-consent-recorded")).toHaveTextContent("Consent recorded by bob");
  });
});

describe("another address for a saved connection", () => {
  it("asks for the key and the consent again, and says why", async () => {
    renderForm(connection({ id: "c9", keyStored: true, baseUrl: "https://a.klaviyo.com" }));
    expect(screen.getByTestId("conn-consent")).toBeChecked();
    await userEvent.click(screen.getByTestId("conn-advanced"));
    await userEvent.clear(screen.getByTestId("conn-base-url"));
    await userEvent.type(screen.getByTestId("conn-base-url"), "https://collector.example.net");

    expect(screen.getByTestId("conn-host-changed")).toHaveTextContent("Another address than https://a.klaviyo.com");
    expect(screen.getByTestId("conn-consent")).not.toBeChecked();
    expect(screen.queryByTestId("conn-consent-recorded")).not.toBeInTheDocument();
    const save = screen.getByTestId("conn-save");
    expect(save).toBeDisabled();

    await userEvent.type(screen.getByTestId("conn-key"), "pk_newkeyfornewhost");
    await userEvent.click(screen.getByTestId("conn-consent"));
    expect(save).toBeEnabled();
    await userEvent.click(save);
    expect(saveConnection).toHaveBeenCalledWith(
      expect.objectContaining({ id: "c9", baseUrl: "https://collector.example.net", apiKey: "pk_newkeyfornewhost" }),
    );
  });

  it("is not another address for a trailing slash, a path or the default port", async () => {
    renderForm(connection({ id: "c9", keyStored: true, baseUrl: "https://a.klaviyo.com" }));
    await userEvent.click(screen.getByTestId("conn-advanced"));
    const base = screen.getByTestId("conn-base-url");
    for (const same of ["https://a.klaviyo.com/", "https://a.klaviyo.com:443/api"]) {
      await userEvent.clear(base);
      await userEvent.type(base, same);
      expect(screen.queryByTestId("conn-host-changed")).not.toBeInTheDocument();
      expect(screen.getByTestId("conn-consent")).toBeChecked();
    }
  });
});

describe("the recorded consent", () => {
  it("names the operator who gave it and the OS account beside it", () => {
    renderForm(connection({ consent: { by: "Marta Kowalska", osUser: "root", at: "2025-03-04T05:06:07Z" } }));
    expect(screen.getByTestId("conn-consent-recorded")).toHaveTextContent(
      "Consent recorded by Marta Kowalska (OS account root) on",
    );
  });
});
