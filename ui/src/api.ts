// The one module that talks to Tauri. Components import these functions (and the
// types re-exported below); they never import `@tauri-apps/*` themselves.
//
// Every command error crosses the IPC boundary as `{ code, message }` (ErrorPayload)
// and is rethrown here as an `AppError`, so callers can rely on `.code` and `.message`.

import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { AppInfo } from "./bindings/AppInfo";
import type { Commands } from "./bindings/Commands";
import type { ConnectionInput } from "./bindings/ConnectionInput";
import type { ConnectionView } from "./bindings/ConnectionView";
import type { DemoInfo } from "./bindings/DemoInfo";
import type { ErrorPayload } from "./bindings/ErrorPayload";
import type { ExportInput } from "./bindings/ExportInput";
import type { ExportView } from "./bindings/ExportView";
import type { KlaviyoList } from "./bindings/KlaviyoList";
import type { KlaviyoLists } from "./bindings/KlaviyoLists";
import type { Filter } from "./bindings/Filter";
import type { FilterRuleProblem } from "./bindings/FilterRuleProblem";
import type { Mapping } from "./bindings/Mapping";
import type { MappingPreview } from "./bindings/MappingPreview";
import type { MappingSuggestion } from "./bindings/MappingSuggestion";
import type { PickedFile } from "./bindings/PickedFile";
import type { SegmentInput } from "./bindings/SegmentInput";
import type { SegmentPreview } from "./bindings/SegmentPreview";
import type { SegmentView } from "./bindings/SegmentView";
import type { SourceInput } from "./bindings/SourceInput";
import type { SourceKind } from "./bindings/SourceKind";
import type { SourceView } from "./bindings/SourceView";
import type { RunEvent } from "./bindings/RunEvent";
import type { RunChoice } from "./bindings/RunChoice";
import type { RunSummary } from "./bindings/RunSummary";
import type { RunView } from "./bindings/RunView";
import type { SavedRejects } from "./bindings/SavedRejects";
import type { Settings } from "./bindings/Settings";
import type { SettingsInput } from "./bindings/SettingsInput";

/** An error from a command, or from the IPC layer itself. */
export class AppError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "AppError";
    this.code = code;
  }
}

/** Codes this module produces itself (the Rust side owns all the others). */
export const LOCAL_ERROR_CODES = {
  /** The command rejected with something that is not `{ code, message }`. */
  unknown: "ui.unknown_error",
  /** The page runs outside the Segport window (e.g. `npm run dev` in a browser). */
  ipcUnavailable: "ui.ipc_unavailable",
} as const;

function isErrorPayload(value: unknown): value is ErrorPayload {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

function ipcAvailable(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

/** Turns whatever a command rejected with into an AppError. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isErrorPayload(error)) return new AppError(error.code, error.message);
  if (typeof error === "string" && error.length > 0) {
    return new AppError(LOCAL_ERROR_CODES.unknown, error);
  }
  if (error instanceof Error) {
    if (error instanceof TypeError && !ipcAvailable()) {
      return new AppError(
        LOCAL_ERROR_CODES.ipcUnavailable,
        "Segport's back end is not reachable: this page only works inside the Segport desktop app.",
      );
    }
    return new AppError(LOCAL_ERROR_CODES.unknown, error.message || String(error));
  }
  return new AppError(
    LOCAL_ERROR_CODES.unknown,
    "Something went wrong and Segport got no explanation. Try again; if it keeps happening, restart the app.",
  );
}

/**
 * Calls a command of the generated schema (bindings/Commands.ts, from the Rust table in
 * src-tauri/src/commands/registry.rs): a misspelt command or argument, or a wrong type, does
 * not compile. Rejections become AppErrors.
 */
async function call<K extends keyof Commands>(
  command: K,
  args: Commands[K]["args"],
): Promise<Commands[K]["result"]> {
  try {
    return await invoke<Commands[K]["result"]>(command, args);
  } catch (error) {
    throw toAppError(error);
  }
}

// ---- App ---------------------------------------------------------------------

export function appInfo(): Promise<AppInfo> {
  return call("app_info", {});
}

export function startDemo(): Promise<DemoInfo> {
  return call("start_demo", {});
}

// ---- Settings ------------------------------------------------------------------

/** The operator (name and role), the data folder and the logs folder. */
export function getSettings(): Promise<Settings> {
  return call("get_settings", {});
}

/** Saves the operator's name (blank keeps it) and role; resolves with the settings as stored. */
export function saveSettings(input: SettingsInput): Promise<Settings> {
  return call("save_settings", { input });
}

/** Opens `<data folder>/logs` in the file manager (the path never leaves the Rust side). */
export function openLogsFolder(): Promise<void> {
  return call("open_logs_folder", {});
}

// ---- Connections ---------------------------------------------------------------

export function listConnections(): Promise<ConnectionView[]> {
  return call("list_connections", {});
}

export function saveConnection(input: ConnectionInput): Promise<ConnectionView> {
  return call("save_connection", { input });
}

export function deleteConnection(id: string): Promise<void> {
  return call("delete_connection", { id });
}

/** Checks the stored key against Klaviyo; resolves with the updated connection. */
export function verifyConnection(id: string): Promise<ConnectionView> {
  return call("verify_connection", { id });
}

// ---- Exports -------------------------------------------------------------------

export function listExports(): Promise<ExportView[]> {
  return call("list_exports", {});
}

export function saveExport(input: ExportInput): Promise<ExportView> {
  return call("save_export", { input });
}

export function deleteExport(id: string): Promise<void> {
  return call("delete_export", { id });
}

// ---- Klaviyo lists ---------------------------------------------------------------

/** The lists of the connection's Klaviyo account (for the list picker). */
export function listKlaviyoLists(connectionId: string): Promise<KlaviyoLists> {
  return call("list_klaviyo_lists", { connectionId });
}

/** Creates a list in Klaviyo (not undoable from Segport; Klaviyo allows 150 a day). */
export function createKlaviyoList(connectionId: string, name: string): Promise<KlaviyoList> {
  return call("create_klaviyo_list", { connectionId, name });
}

// ---- Sources -------------------------------------------------------------------

/**
 * Opens the native file dialog (on the Rust side) for a CSV, JSON Lines or SQLite file.
 * Resolves with null when cancelled; a SQLite file comes with its tables.
 */
export function pickSourceFile(): Promise<PickedFile | null> {
  return call("pick_source_file", {});
}

/** Every source, each detected afresh from its file (columns, first rows, missing or not). */
export function listSources(): Promise<SourceView[]> {
  return call("list_sources", {});
}

/** One source, detected afresh from its file. */
export function inspectSource(id: string): Promise<SourceView> {
  return call("inspect_source", { id });
}

export function saveSource(input: SourceInput): Promise<SourceView> {
  return call("save_source", { input });
}

/** Refused while segments use the source (the message names them). */
export function deleteSource(id: string): Promise<void> {
  return call("delete_source", { id });
}

/**
 * The source for a picked file (reused if one already reads it) and its "All rows of …"
 * segment, created if needed: the export form's shortcut from a file to an export.
 */
export function addFileSegment(
  path: string,
  kind: SourceKind,
  table: string | null,
): Promise<SegmentView> {
  return call("add_file_segment", { path, kind, table });
}

// ---- Segments ------------------------------------------------------------------

export function listSegments(): Promise<SegmentView[]> {
  return call("list_segments", {});
}

export function saveSegment(input: SegmentInput): Promise<SegmentView> {
  return call("save_segment", { input });
}

/** Refused while exports send the segment (the message names them). */
export function deleteSegment(id: string): Promise<void> {
  return call("delete_segment", { id });
}

/**
 * How many rows of the source `filter` keeps (null = all), with the first ten of them.
 * Streams the whole file: debounce calls while the user edits.
 */
export function previewSegment(sourceId: string, filter: Filter | null): Promise<SegmentPreview> {
  return call("preview_segment", { sourceId, filter });
}

/**
 * The rules of `filter` whose values do not fit their column's type in the source (a number
 * column compared with "abc", a date written 01/02/2024…), each with a message for the rule
 * builder. Saving the segment refuses the same rules. Reads the file's first rows only.
 */
export function checkSegmentRules(sourceId: string, filter: Filter | null): Promise<FilterRuleProblem[]> {
  return call("check_segment_rules", { sourceId, filter });
}

// ---- Mapping -------------------------------------------------------------------

/**
 * A mapping pre-selected from the segment's column headers (email, phone, names, address), the
 * phone's default country from the file or this computer's locale, and a hint for the phone field.
 */
export function suggestMapping(segmentId: string): Promise<MappingSuggestion> {
  return call("suggest_mapping", { segmentId });
}

/** The segment's first five profiles exactly as an export with `mapping` sends them. */
export function previewMapping(segmentId: string, mapping: Mapping): Promise<MappingPreview> {
  return call("preview_mapping", { segmentId, mapping });
}

// ---- Runs ----------------------------------------------------------------------

/**
 * Runs an export now. `onEvent` receives progress (about ten a second; the first
 * one carries the run id needed by `cancelRun`). Resolves when the run has ended,
 * whatever its status; rejects only when the run could not happen at all (e.g.
 * `run.already_running`: another window or process runs this export).
 *
 * Without `choice` an interrupted run is continued. `choice` asks to start over
 * (`restart`), to send everyone again (`full`), or to confirm up to
 * `confirmRemovals` mirror removals that a run held; the fields left out are off.
 */
export function runExport(
  exportId: string,
  onEvent: (event: RunEvent) => void,
  choice?: Partial<RunChoice>,
): Promise<RunSummary> {
  const channel = new Channel<RunEvent>(onEvent);
  // `choice` is left out (not null) for a plain run: the Rust side reads a missing key as None.
  const args: Commands["run_export"]["args"] = { exportId, onEvent: channel };
  if (choice) args.choice = { restart: false, full: false, confirmRemovals: null, ...choice } satisfies RunChoice;
  return call("run_export", args);
}

/** Asks a running export to stop. Resolves false when no such run is going (it already ended). */
export function cancelRun(runId: string): Promise<boolean> {
  return call("cancel_run", { runId });
}

/** Runs, newest first; all exports when `exportId` is null. */
export function listRuns(exportId: string | null = null): Promise<RunView[]> {
  return call("list_runs", { exportId });
}

/** A run's details: counts, who, trigger, error and its first rejects. */
export function runSummary(runId: string): Promise<RunSummary> {
  return call("run_summary", { runId });
}

/**
 * Asks where to save (native dialog, opened on the Rust side) and writes every reject of the
 * run there as CSV. Resolves with null when the user cancels.
 */
export function saveRejectsCsv(runId: string): Promise<SavedRejects | null> {
  return call("save_rejects_csv", { runId });
}

// ---- App-wide notices ---------------------------------------------------------------

/**
 * Calls `handler` with the export's id whenever a scheduled run ends (the app runs due
 * exports by itself while it is open). Resolves with a function that stops listening.
 */
export async function onRunFinished(handler: (exportId: string) => void): Promise<() => void> {
  if (!ipcAvailable()) return () => {};
  return listen<string>("run-finished", (event) => handler(event.payload));
}

// ---- Types ---------------------------------------------------------------------

export type { AppInfo } from "./bindings/AppInfo";
export type { Consent } from "./bindings/Consent";
export type { ConnectionInput } from "./bindings/ConnectionInput";
export type { ConnectionView } from "./bindings/ConnectionView";
export type { DemoInfo } from "./bindings/DemoInfo";
export type { ErrorPayload } from "./bindings/ErrorPayload";
export type { ExportInput } from "./bindings/ExportInput";
export type { ExportMode } from "./bindings/ExportMode";
export type { ExportView } from "./bindings/ExportView";
export type { Filter } from "./bindings/Filter";
export type { FilterCmp } from "./bindings/FilterCmp";
export type { FilterGroupOp } from "./bindings/FilterGroupOp";
export type { FilterRuleProblem } from "./bindings/FilterRuleProblem";
export type { FilterValue } from "./bindings/FilterValue";
export type { InvalidPhone } from "./bindings/InvalidPhone";
export type { Mapping } from "./bindings/Mapping";
export type { MappingPreview } from "./bindings/MappingPreview";
export type { MappingSuggestion } from "./bindings/MappingSuggestion";
export type { PickedFile } from "./bindings/PickedFile";
export type { ProfilePreview } from "./bindings/ProfilePreview";
export type { Schedule } from "./bindings/Schedule";
export type { SegmentInput } from "./bindings/SegmentInput";
export type { SegmentPreview } from "./bindings/SegmentPreview";
export type { SegmentView } from "./bindings/SegmentView";
export type { SourceColumn } from "./bindings/SourceColumn";
export type { SourceInput } from "./bindings/SourceInput";
export type { SourceKind } from "./bindings/SourceKind";
export type { SourceState } from "./bindings/SourceState";
export type { SourceView } from "./bindings/SourceView";
export type { KlaviyoList } from "./bindings/KlaviyoList";
export type { KlaviyoLists } from "./bindings/KlaviyoLists";
export type { RejectRow } from "./bindings/RejectRow";
export type { Role } from "./bindings/Role";
export type { RemovalGuard } from "./bindings/RemovalGuard";
export type { RunChoice } from "./bindings/RunChoice";
export type { RunCounts } from "./bindings/RunCounts";
export type { RunEvent } from "./bindings/RunEvent";
export type { RunPhase } from "./bindings/RunPhase";
export type { RunStatus } from "./bindings/RunStatus";
export type { RunSummary } from "./bindings/RunSummary";
export type { RunTrigger } from "./bindings/RunTrigger";
export type { RunView } from "./bindings/RunView";
export type { SavedRejects } from "./bindings/SavedRejects";
export type { Settings } from "./bindings/Settings";
export type { SettingsInput } from "./bindings/SettingsInput";
export type { UsableBy } from "./bindings/UsableBy";
export type { VerifiedAccount } from "./bindings/VerifiedAccount";
