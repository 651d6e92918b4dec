import { useEffect, useId, useRef, useState } from "react";
import * as api from "../../api";
import type { Mapping, ProfilePreview } from "../../api";

/** How long the mapping must stay unchanged before the preview is asked for (ms). */
export const PREVIEW_DELAY_MS = 300;

interface MappingPreviewProps {
  /** null while no segment is chosen. */
  segmentId: string | null;
  /** null while the mapping cannot be previewed (no email column yet). */
  mapping: Mapping | null;
  delayMs?: number;
}

interface PreviewState {
  profiles: ProfilePreview[] | null;
  error: string | null;
  loading: boolean;
}

const IDLE: PreviewState = { profiles: null, error: null, loading: false };

/**
 * The segment's first five profiles exactly as the export sends them (or why a row is
 * rejected). Asked for again ~300 ms after the mapping last changed; an answer that arrives
 * after a newer request was made is dropped.
 */
export function MappingPreview({ segmentId, mapping, delayMs = PREVIEW_DELAY_MS }: MappingPreviewProps) {
  const titleId = useId();
  const [state, setState] = useState<PreviewState>(IDLE);
  const latest = useRef(0);
  // The request's identity: a new object with the same content asks nothing new.
  const key = segmentId && mapping ? JSON.stringify([segmentId, mapping]) : null;
  const request = useRef<{ segmentId: string; mapping: Mapping } | null>(null);
  request.current = segmentId && mapping ? { segmentId, mapping } : null;

  useEffect(() => {
    const ticket = ++latest.current;
    const current = request.current;
    if (key === null || current === null) {
      setState(IDLE);
      return;
    }
    setState((s) => ({ ...s, loading: true }));
    const timer = window.setTimeout(() => {
      api
        .previewMapping(current.segmentId, current.mapping)
        .then((preview) => {
          if (ticket === latest.current) setState({ profiles: preview.profiles, error: null, loading: false });
        })
        .catch((e: unknown) => {
          if (ticket === latest.current) setState({ profiles: null, error: api.toAppError(e).message, loading: false });
        });
    }, delayMs);
    return () => {
      window.clearTimeout(timer);
      // An answer to this request is stale from now on.
      latest.current++;
    };
  }, [key, delayMs]);

  const { profiles, error, loading } = state;

  return (
    <section className="mapping-preview" data-testid="mapping-preview" aria-labelledby={titleId} aria-busy={loading}>
      <div className="mapping-preview-head">
        <h3 id={titleId} className="mapping-preview-title">
          Preview: the first profiles as they will be sent
        </h3>
        {loading && (
          <span className="hint" data-testid="mapping-preview-loading">
            Updating…
          </span>
        )}
      </div>
      {segmentId === null ? (
        <p className="hint">Choose a segment to see its first profiles.</p>
      ) : mapping === null ? (
        <p className="hint">Choose the email column to see the first profiles.</p>
      ) : null}
      {error && (
        <p className="result result-error" role="alert" data-testid="mapping-preview-error">
          {error}
        </p>
      )}
      {profiles !== null && key !== null && (
        profiles.length === 0 ? (
          <p className="hint" data-testid="mapping-preview-empty">
            No rows in this segment.
          </p>
        ) : (
          <ol className="profile-previews">
            {profiles.map((p, index) => {
              const rejected = p.reject !== null;
              return (
                <li
                  key={`${p.line}-${index}`}
                  className={rejected ? "profile-preview profile-preview-reject" : "profile-preview"}
                  data-testid="profile-preview"
                  data-line={p.line}
                  data-reject={rejected ? "true" : "false"}
                >
                  <p className="profile-preview-line">
                    Line {p.line}
                    {rejected && <strong className="profile-preview-verdict"> · rejected</strong>}
                  </p>
                  <pre aria-label={rejected ? `Line ${p.line}: why it is rejected` : `Line ${p.line}: attributes sent`}>
                    {rejected ? p.reject : p.profile}
                  </pre>
                  {p.warning && <p className="hint warn-text">{p.warning}</p>}
                </li>
              );
            })}
          </ol>
        )
      )}
    </section>
  );
}
