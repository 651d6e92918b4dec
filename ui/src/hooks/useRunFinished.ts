import { useEffect, useRef } from "react";
import * as api from "../api";

/**
 * Calls `onFinished` whenever a scheduled run ends while the component is shown; stops
 * listening on unmount, also when the listener was still being set up.
 */
export function useRunFinished(onFinished: () => void) {
  const callback = useRef(onFinished);
  callback.current = onFinished;

  useEffect(() => {
    let stop: (() => void) | undefined;
    let active = true;
    void api.onRunFinished(() => callback.current()).then((unlisten) => {
      if (active) stop = unlisten;
      else unlisten();
    });
    return () => {
      active = false;
      stop?.();
    };
  }, []);
}
