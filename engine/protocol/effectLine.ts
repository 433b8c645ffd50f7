// An effect event in one line, for people: what it read and what came back.
// Shared by `loom log` and the window's event details.

/** What an effect event read and what came back, in one line (its input may be anyone's: a log is untrusted). */
export function describeEffect(input: unknown): string {
  const i = input as { request?: Record<string, unknown>; response?: Record<string, unknown>; ms?: unknown; by?: unknown; fault?: unknown } | null
  const r = i?.request ?? {}
  const asked = r.kind === 'http.get' ? `GET ${String(r.url).slice(0, 80)}` : r.kind === 'fs.read' ? `read ${String(r.root).slice(0, 40)}:${String(r.path).slice(0, 80)}` : 'an effect'
  const a = i?.response ?? {}
  const got = typeof a.error === 'string' ? `failed: ${a.error.slice(0, 80)}` : typeof a.status === 'number' ? `${a.status}, ${String(a.body ?? '').length} characters` : `${String(a.text ?? '').length} characters`
  // An answer no world gave (a person's, or exploration's fault) says so: it took no time to tell.
  if (i?.by === 'hand') return `${asked} → ${got} (answered by hand)`
  if (i?.by === 'exploration') return `${asked} → ${got} (given by exploration${typeof i.fault === 'string' ? `: ${i.fault.slice(0, 20)}` : ''})`
  return `${asked} → ${got}${typeof i?.ms === 'number' ? ` in ${i.ms} ms` : ''}`
}
