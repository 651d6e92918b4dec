// One query hook for every screen: what used to be each screen's own `useState` for the list,
// a `reload` callback, a `mounted` / `latest` ref and a `try { … } catch { report(e) }`.
//
// Rules (the screens rely on them):
// - the command runs on mount and again whenever `args` change (compared by value, so an array
//   literal written in the render does not ask again); `args = null` asks nothing;
// - only the newest request's answer is applied: an answer that arrives after a newer request,
//   after `args` changed, after `mutate` or after unmount is dropped ("stale");
// - the last good `data` is kept while a reload runs and when it fails (stale-while-revalidate);
//   `error` is kept until the next answer. Both are cleared when `args` change.

import { useCallback, useEffect, useRef, useState } from "react";
import { toAppError, type AppError } from "../api";

/** What one request came to (what `reload` resolves with). */
export type Outcome<T> = { kind: "ok"; data: T } | { kind: "failed"; error: AppError } | { kind: "stale" };

export interface CommandOptions<T> {
  /** Told of every failure that is not stale and not `quiet` (e.g. the error banner's report). */
  onError?: (error: unknown) => void;
  /** Told of every answer that is applied (e.g. a form filled from the loaded settings). */
  onData?: (data: T) => void;
  /** How a new answer replaces the current data (e.g. keeping unchanged rows' objects). */
  merge?: (current: T | null, next: T) => T;
  /**
   * The data a failure leaves when there is none yet (e.g. `[]`: the list shows as empty, the
   * banner says why); without it the data stays null ("Loading…"). Quiet failures leave it null.
   */
  fallback?: T;
}

export interface ReloadOptions {
  /** A background check: a failure is kept in `error` and returned, not passed to `onError`. */
  quiet?: boolean;
}

type Update<T> = T | null | ((current: T | null) => T | null);

export interface Command<T> {
  data: T | null;
  error: AppError | null;
  /** A request is under way. */
  loading: boolean;
  /** Asks again; resolves once the answer is applied (or dropped as stale). */
  reload: (options?: ReloadOptions) => Promise<Outcome<T>>;
  /** Changes the data here (e.g. a row the user just edited); a pending answer still applies. */
  setData: (update: Update<T>) => void;
  /** Like `setData`, and drops the answers of requests made before (they predate this change). */
  mutate: (update: Update<T>) => void;
}

interface State<T> {
  data: T | null;
  error: AppError | null;
  loading: boolean;
}

function apply<T>(current: T | null, update: Update<T>): T | null {
  return typeof update === "function" ? (update as (c: T | null) => T | null)(current) : update;
}

export function useCommand<A extends readonly unknown[], T>(
  command: (...args: A) => Promise<T>,
  args: A | null,
  options: CommandOptions<T> = {},
): Command<T> {
  const [state, setState] = useState<State<T>>(() => ({ data: null, error: null, loading: args !== null }));
  // The request's identity: a new array with the same content asks nothing new.
  const key = args === null ? null : JSON.stringify(args);
  // The latest function, arguments and options, read when a request starts (so they are not
  // effect dependencies: the screens pass inline callbacks).
  const latest = useRef({ command, args, options });
  latest.current = { command, args, options };
  // Bumped by every request, argument change, `mutate` and unmount: an answer whose ticket is
  // not the current one is stale.
  const ticket = useRef(0);
  const shownKey = useRef(key);

  const run = useCallback(async (quiet: boolean): Promise<Outcome<T>> => {
    const { command: fn, args: currentArgs } = latest.current;
    if (currentArgs === null) return { kind: "stale" };
    const mine = ++ticket.current;
    setState((s) => (s.loading ? s : { ...s, loading: true }));
    try {
      const data = await fn(...currentArgs);
      if (mine !== ticket.current) return { kind: "stale" };
      const { merge, onData } = latest.current.options;
      setState((s) => ({ data: merge ? merge(s.data, data) : data, error: null, loading: false }));
      onData?.(data);
      return { kind: "ok", data };
    } catch (e) {
      if (mine !== ticket.current) return { kind: "stale" };
      const error = toAppError(e);
      const { fallback, onError } = latest.current.options;
      setState((s) => ({ data: quiet ? s.data : (s.data ?? fallback ?? null), error, loading: false }));
      if (!quiet) onError?.(e);
      return { kind: "failed", error };
    }
  }, []);

  useEffect(() => {
    if (shownKey.current !== key) {
      // Other arguments: what was shown belongs to the old ones.
      shownKey.current = key;
      setState({ data: null, error: null, loading: key !== null });
    }
    if (key === null) return;
    void run(false);
    return () => {
      ticket.current += 1;
    };
  }, [key, run]);

  const reload = useCallback((opts?: ReloadOptions) => run(opts?.quiet ?? false), [run]);

  const setData = useCallback((update: Update<T>) => {
    setState((s) => ({ ...s, data: apply(s.data, update) }));
  }, []);

  const mutate = useCallback((update: Update<T>) => {
    ticket.current += 1;
    setState((s) => ({ ...s, data: apply(s.data, update), loading: false }));
  }, []);

  return { data: state.data, error: state.error, loading: state.loading, reload, setData, mutate };
}
