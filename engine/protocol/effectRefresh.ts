// "Refresh" for a recorded read: an `edit` of `sys.effects` that puts, where
// the response was kept, a note saying what was refreshed. A note is no
// response (hostApi's safeRead takes only what an effect event made), so the
// next read of that request asks the world again; being an edit, the refresh
// is a transaction like any other: on the timeline, replayed and verified,
// and it wakes a transaction parked on that response. The note keeps the
// request in words, so the log says what was refreshed without a look-up.
import type { StateEdit } from './messages.ts'
import { EFFECTS_STATE, effectAsked } from './effectLine.ts'

/** The edit that refreshes the read an effect event recorded (its input: `{ request, hash }`), or null for an input that is none. */
export function refreshEdit(effectInput: unknown): StateEdit | null {
  const i = effectInput as { request?: unknown; hash?: unknown } | null
  if (i === null || typeof i !== 'object' || typeof i.hash !== 'string' || !/^[0-9a-f]{64}$/.test(i.hash)) return null
  return { state: EFFECTS_STATE, key: i.hash, set: { refreshed: effectAsked(i.request) } }
}

/** What a value written to `sys.effects` refreshed, in words, or null when it is no refresh note. */
export function refreshedWords(value: unknown): string | null {
  const v = value as { refreshed?: unknown; response?: unknown } | null
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.refreshed === 'string' && v.response === undefined ? v.refreshed.slice(0, 200) : null
}
