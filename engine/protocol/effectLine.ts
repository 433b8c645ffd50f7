// An effect event in one line, for people: what it read and what came back.
// Shared by `loom log` and the window's event details.

/** What an effect event read and what came back, in one line (its input may be anyone's: a log is untrusted). */
export function describeEffect(input: unknown): string {
  const o = input as { id?: unknown; asked?: unknown; outcome?: Record<string, unknown>; ms?: unknown } | null
  // An action's outcome (its id, what it asked, how it ended, after how many tries).
  if (typeof o?.id === 'string') {
    const out = o.outcome ?? {}
    const how = typeof out.error === 'string' ? `failed: ${out.error.slice(0, 80)}` : typeof out.status === 'number' ? `${out.status}, ${String(out.body ?? '').length} characters` : out.ok === true ? 'done' : 'failed'
    const tries = typeof out.tries === 'number' && out.tries > 1 ? `, ${out.tries} tries` : ''
    return `action ${o.id.slice(0, 40)}: ${String(o.asked ?? 'an action').slice(0, 100)} → ${how}${tries}${typeof o.ms === 'number' ? ` in ${o.ms} ms` : ''}`
  }
  const i = input as { request?: Record<string, unknown>; response?: Record<string, unknown>; ms?: unknown } | null
  const r = i?.request ?? {}
  const asked = r.kind === 'http.get' ? `GET ${String(r.url).slice(0, 80)}` : r.kind === 'fs.read' ? `read ${String(r.root).slice(0, 40)}:${String(r.path).slice(0, 80)}` : 'an effect'
  const a = i?.response ?? {}
  const got = typeof a.error === 'string' ? `failed: ${a.error.slice(0, 80)}` : typeof a.status === 'number' ? `${a.status}, ${String(a.body ?? '').length} characters` : `${String(a.text ?? '').length} characters`
  return `${asked} → ${got}${typeof i?.ms === 'number' ? ` in ${i.ms} ms` : ''}`
}
