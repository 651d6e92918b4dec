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
    segmentId: "seg-vips",
    segmentName: "All rows of vips.csv",
    sourceName: "vips.csv",
    sourcePath: "/data/vips.csv",
    connectionId: "conn-1",
    connectionName: "Main store",
    listId: "Y6nRLr",
    mapping: { email: "E-mail", first_name: "First", invalid_phone: "reject" },
    emailColumn: "E-mail",
    mode: "upsert",
    removalGuard: { maxPercent: 10, maxCount: 1000 },
    schedule: { kind: "manual" },
    nextRunAt: null,
    createdAt: "2025-01-02T10:00:00Z",
    updatedAt: "2025-01-02T10:00:00Z",
    lastRun: null,
    resumable: false,
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
    counts: { read: 0, sent: 0, imported: 0, rejected: 0, failedInKlaviyo: 0, matched: 0, unchanged: 0, removed: 0, held: 0 },
    startedAt: "2025-01-02T10:00:00Z",
    finishedAt: "2025-01-02T10:00:05Z",
    error: null,
    ...overrides,
  };
}

// ---- Sources and segments ----------------------------------------------------------

import type { SegmentPreview, SegmentView, SourceView } from "../api";

export function sourceView(overrides: Partial<SourceView> = {}): SourceView {
  return {
    id: "src-1",
    name: "customers.csv",
    kind: "csv",
    path: "/data/customers.csv",
    fileName: "customers.csv",
    table: null,
    state: "ok",
    message: null,
    columns: [
      { name: "email", inferred: "email" },
      { name: "country", inferred: "text" },
      { name: "orders", inferred: "integer" },
    ],
    sample: [
      ["ann@example.com", "PL", "3"],
      ["bob@example.com", "DE", "12"],
    ],
    size: 2048,
    modifiedAt: "2025-01-02T10:00:00Z",
    segments: [],
    ...overrides,
  };
}

export function segmentView(overrides: Partial<SegmentView> = {}): SegmentView {
  return {
    id: "seg-1",
    name: "Polish buyers",
    sourceId: "src-1",
    sourceName: "customers.csv",
    filter: {
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "country", cmp: "eq", value: "PL" }],
    },
    filterText: 'all(country = "PL")',
    exports: [],
    ...overrides,
  };
}

export function segmentPreview(overrides: Partial<SegmentPreview> = {}): SegmentPreview {
  return {
    columns: ["email", "country", "orders"],
    total: 2,
    matching: 1,
    badRows: 0,
    sample: [["ann@example.com", "PL", "3"]],
    ...overrides,
  };
}

// ---- Export form: a segment of a file, its source and the mapping preview -------------

// (Own aliases: this block does not depend on the imports of the blocks above.)
import type { ProfilePreview, SegmentView as FormSegment, SourceView as FormSource } from "../api";

/** The "All rows of vips.csv" segment that `exportView()` sends. */
export function fileSegment(overrides: Partial<FormSegment> = {}): FormSegment {
  return {
    id: "seg-vips",
    name: "All rows of vips.csv",
    sourceId: "src-vips",
    sourceName: "vips.csv",
    filter: null,
    filterText: null,
    exports: [],
    ...overrides,
  };
}

/** The source of `fileSegment()`, as detected from its file. */
export function fileSource(overrides: Partial<FormSource> = {}): FormSource {
  return {
    id: "src-vips",
    name: "vips.csv",
    kind: "csv",
    path: "/data/vips.csv",
    fileName: "vips.csv",
    table: null,
    state: "ok",
    message: null,
    columns: ["E-mail", "First", "Last", "Phone", "City", "Plan"].map((name) => ({ name, inferred: "text" })),
    sample: [],
    size: 1024,
    modifiedAt: "2025-01-02T10:00:00Z",
    segments: ["All rows of vips.csv"],
    ...overrides,
  };
}

export function profilePreview(overrides: Partial<ProfilePreview> = {}): ProfilePreview {
  return {
    line: 2,
    profile: '{\n  "email": "ann@example.com"\n}',
    reject: null,
    warning: null,
    ...overrides,
  };
}
