import { describe, expect, it } from "vitest";
import { AppError } from "./api";
import type { ErrorPayload } from "./bindings/ErrorPayload";
import type { RejectRow } from "./bindings/RejectRow";
import { hasCode, isCode } from "./errors";

describe("error codes", () => {
  it("matches an error against generated codes", () => {
    const err = new AppError("klaviyo.timeout", "Klaviyo did not answer in time.");
    expect(hasCode(err, "klaviyo.unreachable", "klaviyo.timeout")).toBe(true);
    expect(hasCode(err, "run.already_running")).toBe(false);
    expect(hasCode(null, "run.already_running")).toBe(false);
    expect(hasCode(new AppError("ui.ipc_unavailable", "x"), "ui.ipc_unavailable")).toBe(true);
    // @ts-expect-error: a code the back end does not have is a compile error
    expect(hasCode(err, "klaviyo.tiemout")).toBe(false);
  });

  it("narrows a payload and a reject row to their params", () => {
    const payload: ErrorPayload = {
      code: "run.not_due",
      params: { export: "Weekly" },
      message: "\"Weekly\" is not due any more: it was run by another process just now.",
    };
    expect(isCode(payload, "run.not_due") && payload.params.export).toBe("Weekly");
    const row = {
      line: 3,
      identifier: "ada",
      code: "row.duplicate",
      params: { what: "email", value: "ada@example.com", firstLine: 2 },
      reason: "duplicate of line 2: …",
    } as RejectRow;
    expect(isCode(row, "row.duplicate") && row.params.firstLine).toBe(2);
    expect(isCode(row, "email.missing")).toBe(false);
  });
});
