// Throughput of a run, measured from its progress events over time (no server-side rate).
//
// Honest by construction: a rate over the last few seconds and the elapsed time. No ETA: the
// total is not known for a streamed source, so a remaining-time guess would be invented.

/** One observation: when (ms) and how many profiles had been sent by then. */
export interface Sample {
  t: number;
  sent: number;
}

/** Keep samples at most `keepMs` old (relative to the newest); drop repeats of the same instant. */
export function addSample(samples: Sample[], sample: Sample, keepMs = 120_000): Sample[] {
  return addTimed(samples, sample, keepMs);
}

/** Append `sample` to a time series (a newer value for the same instant replaces the last one)
 * and keep only the last `keepMs` of it. */
export function addTimed<T extends { t: number }>(samples: T[], sample: T, keepMs: number): T[] {
  const last = samples[samples.length - 1];
  const base = last && last.t === sample.t ? samples.slice(0, -1) : samples;
  const next = [...base, sample];
  const cutoff = sample.t - keepMs;
  const first = next.findIndex((s) => s.t >= cutoff);
  return first > 0 ? next.slice(first) : next;
}

/** Profiles per second over the last `windowMs`; null until two samples a moment apart exist. */
export function currentRate(samples: Sample[], windowMs = 5_000): number | null {
  if (samples.length < 2) return null;
  const last = samples[samples.length - 1];
  let start = samples[0];
  for (const s of samples) {
    if (s.t >= last.t - windowMs) {
      start = s;
      break;
    }
  }
  // The window's start should be before its end: take the sample just before if needed.
  if (start === last) start = samples[samples.length - 2];
  const dt = (last.t - start.t) / 1000;
  if (dt <= 0) return null;
  return Math.max(0, (last.sent - start.sent) / dt);
}

/**
 * Profiles per second in consecutive buckets of `bucketMs`, oldest first, at most `maxBuckets`
 * (for the sparkline). A bucket without samples repeats no value: it counts what was sent in it.
 */
export function rateSeries(samples: Sample[], bucketMs = 1_000, maxBuckets = 60): number[] {
  if (samples.length < 2) return [];
  const start = samples[0].t;
  const end = samples[samples.length - 1].t;
  const buckets = Math.max(1, Math.ceil((end - start) / bucketMs));
  const sentAt = (t: number): number => {
    // Linear interpolation of the sent count at time t.
    let prev = samples[0];
    for (const s of samples) {
      if (s.t >= t) {
        if (s.t === prev.t) return s.sent;
        return prev.sent + ((s.sent - prev.sent) * (t - prev.t)) / (s.t - prev.t);
      }
      prev = s;
    }
    return prev.sent;
  };
  const out: number[] = [];
  for (let i = Math.max(0, buckets - maxBuckets); i < buckets; i++) {
    const a = start + i * bucketMs;
    const b = Math.min(end, a + bucketMs);
    if (b <= a) continue;
    out.push(Math.max(0, ((sentAt(b) - sentAt(a)) * 1000) / (b - a)));
  }
  return out;
}

/** An SVG polyline `points` attribute for values scaled into width × height (y grows down). */
export function sparklinePoints(values: number[], width: number, height: number): string {
  if (values.length === 0) return "";
  const max = Math.max(...values, 1);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - (v / max) * (height - 2) - 1).toFixed(1)}`)
    .join(" ");
}

/** "850 profiles/s", "12,400 profiles/s", "0.4 profiles/s". */
export function formatRate(perSecond: number): string {
  const rounded = perSecond >= 10 ? Math.round(perSecond) : Math.round(perSecond * 10) / 10;
  return `${rounded.toLocaleString()} profiles/s`;
}
