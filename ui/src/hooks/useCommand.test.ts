import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { useCommand } from "./useCommand";

/** A promise and the functions that settle it, for answers that arrive in a chosen order. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("useCommand", () => {
  it("runs the command with its arguments on mount and gives its answer", async () => {
    const command = vi.fn(async (id: string, n: number) => `${id}:${n}`);
    const { result } = renderHook(() => useCommand(command, ["a", 2]));
    expect(result.current.loading).toBe(true);
    expect(result.current.data).toBeNull();
    await waitFor(() => expect(result.current.data).toBe("a:2"));
    expect(result.current.loading).toBe(false);
    expect(result.current.error).toBeNull();
    expect(command).toHaveBeenCalledWith("a", 2);
  });

  it("does not ask again for new arrays with the same content, nor when args are null", async () => {
    const command = vi.fn(async (id: string) => id);
    const { result, rerender } = renderHook(({ args }) => useCommand(command, args), {
      initialProps: { args: ["a"] as [string] | null },
    });
    await waitFor(() => expect(result.current.data).toBe("a"));
    rerender({ args: ["a"] });
    rerender({ args: ["a"] });
    expect(command).toHaveBeenCalledTimes(1);

    rerender({ args: null });
    expect(result.current.data).toBeNull();
    expect(result.current.loading).toBe(false);
    expect(command).toHaveBeenCalledTimes(1);
  });

  it("reports a failure, keeps the last good data, and clears the error on the next answer", async () => {
    const onError = vi.fn();
    const command = vi
      .fn<() => Promise<string[]>>()
      .mockResolvedValueOnce(["one"])
      // As the back end rejects: an error payload.
      .mockRejectedValueOnce({ code: "store.locked", message: "The database is busy." })
      .mockResolvedValueOnce(["one", "two"]);
    const { result } = renderHook(() => useCommand(command, [], { onError }));
    await waitFor(() => expect(result.current.data).toEqual(["one"]));

    let outcome: unknown;
    await act(async () => {
      outcome = await result.current.reload();
    });
    expect(outcome).toMatchObject({ kind: "failed", error: { code: "store.locked" } });
    expect(result.current.error?.message).toBe("The database is busy.");
    expect(result.current.data).toEqual(["one"]);
    expect(onError).toHaveBeenCalledTimes(1);

    await act(async () => {
      await result.current.reload();
    });
    expect(result.current.error).toBeNull();
    expect(result.current.data).toEqual(["one", "two"]);
  });

  it("a quiet reload keeps its failure in `error` without reporting it", async () => {
    const onError = vi.fn();
    const command = vi.fn<() => Promise<number>>().mockResolvedValueOnce(1).mockRejectedValueOnce(new Error("offline"));
    const { result } = renderHook(() => useCommand(command, [], { onError }));
    await waitFor(() => expect(result.current.data).toBe(1));
    await act(async () => {
      await result.current.reload({ quiet: true });
    });
    expect(result.current.error).not.toBeNull();
    expect(onError).not.toHaveBeenCalled();
  });

  it("drops an answer to an older question when the arguments changed (stale answer)", async () => {
    const first = deferred<string>();
    const second = deferred<string>();
    const command = vi.fn((id: string) => (id === "a" ? first.promise : second.promise));
    const { result, rerender } = renderHook(({ id }) => useCommand(command, [id]), { initialProps: { id: "a" } });
    rerender({ id: "b" });
    expect(result.current.loading).toBe(true);

    // "b" answers first, then the late answer for "a" arrives: "b" stays.
    await act(async () => {
      second.resolve("answer b");
      await second.promise;
    });
    expect(result.current.data).toBe("answer b");
    await act(async () => {
      first.resolve("answer a");
      await first.promise;
    });
    expect(result.current.data).toBe("answer b");
    expect(result.current.loading).toBe(false);
  });

  it("clears what it showed when the arguments change", async () => {
    const command = vi.fn(async (id: string) => `answer ${id}`);
    const { result, rerender } = renderHook(({ id }) => useCommand(command, [id]), { initialProps: { id: "a" } });
    await waitFor(() => expect(result.current.data).toBe("answer a"));
    const pending = deferred<string>();
    command.mockReturnValueOnce(pending.promise);
    rerender({ id: "b" });
    expect(result.current.data).toBeNull();
    expect(result.current.loading).toBe(true);
    await act(async () => {
      pending.resolve("answer b");
      await pending.promise;
    });
    expect(result.current.data).toBe("answer b");
  });

  it("applies only the newest of overlapping reloads", async () => {
    const answers = [deferred<number>(), deferred<number>(), deferred<number>()];
    let call = 0;
    const command = vi.fn(() => answers[call++].promise);
    const { result } = renderHook(() => useCommand(command, []));
    let older: Promise<unknown> = Promise.resolve();
    let newer: Promise<unknown> = Promise.resolve();
    act(() => {
      older = result.current.reload();
      newer = result.current.reload();
    });
    await act(async () => {
      answers[2].resolve(3);
      answers[1].resolve(2);
      answers[0].resolve(1);
      await Promise.all([older, newer]);
    });
    await expect(older).resolves.toEqual({ kind: "stale" });
    await expect(newer).resolves.toEqual({ kind: "ok", data: 3 });
    expect(result.current.data).toBe(3);
  });

  it("applies nothing after unmount", async () => {
    const pending = deferred<string>();
    const onData = vi.fn();
    const onError = vi.fn();
    const { unmount } = renderHook(() => useCommand(() => pending.promise, [], { onData, onError }));
    unmount();
    await act(async () => {
      pending.reject(new Error("late"));
      await pending.promise.catch(() => {});
    });
    expect(onError).not.toHaveBeenCalled();
    expect(onData).not.toHaveBeenCalled();
  });

  it("mutate drops the answers of earlier requests; setData does not", async () => {
    const pending = deferred<string[]>();
    const command = vi.fn(() => pending.promise);
    const { result } = renderHook(() => useCommand(command, []));
    act(() => result.current.setData(["typed"]));
    expect(result.current.data).toEqual(["typed"]);
    act(() => result.current.mutate((current) => [...(current ?? []), "saved"]));
    expect(result.current.data).toEqual(["typed", "saved"]);
    expect(result.current.loading).toBe(false);
    await act(async () => {
      pending.resolve(["from before the save"]);
      await pending.promise;
    });
    expect(result.current.data).toEqual(["typed", "saved"]);
  });

  it("merges a new answer with the current data, and tells onData", async () => {
    const onData = vi.fn();
    const command = vi.fn<() => Promise<number[]>>().mockResolvedValueOnce([1]).mockResolvedValueOnce([2]);
    const merge = (current: number[] | null, next: number[]) => [...(current ?? []), ...next];
    const { result } = renderHook(() => useCommand(command, [], { merge, onData }));
    await waitFor(() => expect(result.current.data).toEqual([1]));
    await act(async () => {
      await result.current.reload();
    });
    expect(result.current.data).toEqual([1, 2]);
    expect(onData).toHaveBeenNthCalledWith(2, [2]);
  });
});
