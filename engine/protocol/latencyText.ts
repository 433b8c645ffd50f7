// How long something took, as people read it: the timeline's labels, the
// event details and `loom log` say durations the same way.

/** A latency as people read it: `0.4 ms`, `3 ms`, `1.2 s`. */
export function latencyText(ms: number): string {
  return ms < 1 ? `${ms.toFixed(1)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}
