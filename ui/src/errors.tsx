import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { toAppError, type AppError } from "./api";

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
