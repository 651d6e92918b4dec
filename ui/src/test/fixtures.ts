import type { ConnectionView, ExportView, RunView } from "../api";

export function connection(overrides: Partial<ConnectionView> = {}): ConnectionView {
  return {
    id: "conn-1",
    name: "Main store",
    baseUrl: "https://a.klaviyo.com",
    usableBy: "admins",
    consent: { by: "alice", at: "2025-01-02T10:00:00Z" },
    exportUser: null,
    keyStored: true,
    verified: null,
    usable: true,
    ...overrides,
  };
}

export function exportView(overrides: Partial<ExportView> = {}): ExportView {
  return {
    id: "exp-1",
    name: "VIPs",
    connectionId: "conn-1",
    connectionName: "Main store",
    csvPath: "/data/vips.csv",
    listId: "Y6nRLr",
    emailColumn: "E-mail",
    createdAt: "2025-01-02T10:00:00Z",
    updatedAt: "2025-01-02T10:00:00Z",
    lastRun: null,
    ...overrides,
  };
}

export function runView(overrides: Partial<RunView> = {}): RunView {
  return {
    id: "run-1",
    exportId: "exp-1",
    exportName: "VIPs",
    trigger: "manual",
    who: "alice",
    status: "succeeded",
    counts: { read: 0, sent: 0, imported: 0, rejected: 0, failedInKlaviyo: 0, matched: 0, unchanged: 0, removed: 0 },
    startedAt: "2025-01-02T10:00:00Z",
    finishedAt: "2025-01-02T10:00:05Z",
    error: null,
    ...overrides,
  };
}
