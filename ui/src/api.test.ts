import { beforeEach, describe, expect, it, vi } from "vitest";

// Only our wrapper is under test: the Tauri module is replaced by a fake.
const invoke = vi.fn();
const channels: FakeChannel[] = [];
class FakeChannel {
  onmessage: (message: unknown) => void;
  constructor(onmessage?: (message: unknown) => void) {
    this.onmessage = onmessage ?? (() => {});
    channels.push(this);
  }
}
vi.mock("@tauri-apps/api/core", () => ({
  invoke: (...args: unknown[]) => invoke(...args),
  Channel: FakeChannel,
}));

const api = await import("./api");

beforeEach(() => {
  invoke.mockReset();
  channels.length = 0;
});

describe("error mapping", () => {
  it("rethrows a command's {code, message} as an AppError with both", async () => {
    invoke.mockRejectedValueOnce({ code: "connection.key_rejected", message: "Klaviyo rejected the API key." });

    const error = await api.verifyConnection("c1").catch((e: unknown) => e);

    expect(error).toBeInstanceOf(api.AppError);
    expect(error).toBeInstanceOf(Error);
    expect((error as InstanceType<typeof api.AppError>).code).toBe("connection.key_rejected");
    expect((error as Error).message).toBe("Klaviyo rejected the API key.");
  });

  it("wraps a bare string rejection with the unknown-error code and keeps the text", async () => {
    invoke.mockRejectedValueOnce("command list_exports not found");

    await expect(api.listExports()).rejects.toMatchObject({
      code: api.LOCAL_ERROR_CODES.unknown,
      message: "command list_exports not found",
    });
  });

  it("says the back end is unreachable when there is no Tauri IPC (plain browser)", async () => {
    invoke.mockRejectedValueOnce(new TypeError("Cannot read properties of undefined (reading 'invoke')"));

    await expect(api.appInfo()).rejects.toMatchObject({ code: api.LOCAL_ERROR_CODES.ipcUnavailable });
  });

  it("never leaves a rejection without a message", async () => {
    invoke.mockRejectedValueOnce(undefined);

    const error = (await api.listRuns(null).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(api.AppError);
    expect(error.message.length).toBeGreaterThan(0);
  });

  it("toAppError ignores objects that only look half like a payload", () => {
    const error = api.toAppError({ code: 42, message: "x" });
    expect(error.code).toBe(api.LOCAL_ERROR_CODES.unknown);
  });
});

describe("command names and arguments", () => {
  it("passes inputs under the keys Tauri maps to the Rust parameters", async () => {
    invoke.mockResolvedValue(null);
    const input = {
      id: null,
      name: "Main",
      baseUrl: null,
      usableBy: "admins" as const,
      apiKey: "pk_x",
      consent: true,
      exportUser: null,
    };

    await api.saveConnection(input);
    await api.deleteExport("e1");
    await api.inspectSource("s1");
    await api.addFileSegment("/tmp/a.db", "sqlite", "customers");
    await api.previewSegment("s1", null);
    await api.cancelRun("r1");
    await api.listRuns(null);

    expect(invoke.mock.calls).toEqual([
      ["save_connection", { input }],
      ["delete_export", { id: "e1" }],
      ["inspect_source", { id: "s1" }],
      ["add_file_segment", { path: "/tmp/a.db", kind: "sqlite", table: "customers" }],
      ["preview_segment", { sourceId: "s1", filter: null }],
      ["cancel_run", { runId: "r1" }],
      ["list_runs", { exportId: null }],
    ]);
  });

  it("runExport hands a Channel to the command and forwards its events", async () => {
    const summary = { run: { id: "r1" }, rejects: [], rejectsTotal: 0 };
    invoke.mockImplementationOnce(async (_command: string, args: { onEvent: FakeChannel }) => {
      args.onEvent.onmessage({ runId: "r1", phase: "reading" });
      return summary;
    });
    const events: unknown[] = [];

    const result = await api.runExport("e1", (event) => events.push(event));

    expect(invoke).toHaveBeenCalledWith("run_export", { exportId: "e1", onEvent: channels[0] });
    expect(events).toEqual([{ runId: "r1", phase: "reading" }]);
    expect(result).toBe(summary);
  });

  it("runExport passes the user's choice as a whole RunChoice, and none for a plain run", async () => {
    invoke.mockResolvedValue({ run: { id: "r1" }, rejects: [], rejectsTotal: 0 });

    await api.runExport("e1", () => {}, { restart: true });
    await api.runExport("e1", () => {}, { full: true });
    await api.runExport("e1", () => {}, { confirmRemovals: 12 });
    await api.runExport("e1", () => {});

    expect(invoke.mock.calls.map(([command, args]) => [command, args.choice])).toEqual([
      ["run_export", { restart: true, full: false, confirmRemovals: null }],
      ["run_export", { restart: false, full: true, confirmRemovals: null }],
      ["run_export", { restart: false, full: false, confirmRemovals: 12 }],
      ["run_export", undefined],
    ]);
    expect(Object.keys(invoke.mock.calls[3][1])).toEqual(["exportId", "onEvent"]);
    expect(invoke.mock.calls[0][1]).toEqual({ exportId: "e1", onEvent: channels[0], choice: expect.any(Object) });
  });

  it("runExport rejects with the back end's code when the export is already running", async () => {
    invoke.mockRejectedValueOnce({ code: "run.already_running", message: "\"VIPs\" is already running: started by bob." });

    await expect(api.runExport("e1", () => {})).rejects.toMatchObject({
      code: "run.already_running",
      message: "\"VIPs\" is already running: started by bob.",
    });
  });
});
