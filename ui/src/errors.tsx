import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { toAppError, type AppError, type LOCAL_ERROR_CODES } from "./api";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { RejectCode } from "./bindings/RejectCode";

// ---- Codes -----------------------------------------------------------------------
// The back end sends every error as `{ code, params, message }` and every reject as
// `{ code, params, reason }`; the codes are generated from Rust (ErrorCode, RejectCode), so a
// code compared here that Rust does not have is a compile error. Compare with these helpers,
// never with a bare string.

/** Every error code the back end sends. */
export type ErrorCodeName = ErrorCode["code"];
/** Every reject code the back end sends. */
export type RejectCodeName = RejectCode["code"];
/** The codes an AppError can have: the back end's and the ones `api.ts` produces itself. */
export type AppErrorCodeName = ErrorCodeName | (typeof LOCAL_ERROR_CODES)[keyof typeof LOCAL_ERROR_CODES];

/** The params of one error code (`undefined` for a code without any). */
export type ErrorParams<C extends ErrorCodeName> =
  Extract<ErrorCode, { code: C }> extends { params: infer P } ? P : undefined;

/** Does `error` have one of `codes`? */
export function hasCode(error: { code: string } | null | undefined, ...codes: AppErrorCodeName[]): boolean {
  return error != null && (codes as string[]).includes(error.code);
}

/** Narrows a code with its params (an error payload, or a reject row) to one code. */
export function isCode<T extends { code: string }, C extends T["code"]>(
  value: T | null | undefined,
  code: C,
): value is Extract<T, { code: C }> {
  return value != null && value.code === code;
}

type ErrorReporter = (error: unknown) => void;

interface ErrorState {
  error: AppError | null;
  report: ErrorReporter;
  dismiss: () => void;
}

const ErrorContext = createContext<ErrorState>({
  error: null,
  report: (error) => console.error(error),
  dismiss: () => {},
});

/** Holds the one error the banner shows (the latest wins). */
export function ErrorProvider({ children }: { children: ReactNode }) {
  const [error, setError] = useState<AppError | null>(null);
  const report = useCallback<ErrorReporter>((e) => setError(toAppError(e)), []);
  const dismiss = useCallback(() => setError(null), []);
  const value = useMemo(() => ({ error, report, dismiss }), [error, report, dismiss]);
  return <ErrorContext.Provider value={value}>{children}</ErrorContext.Provider>;
}

/** Reports an error to the app-wide banner. */
export function useReportError(): ErrorReporter {
  return useContext(ErrorContext).report;
}

export function useErrorState(): ErrorState {
  return useContext(ErrorContext);
}
