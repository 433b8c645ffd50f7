// What a confined engine process may hand the log in one commit, checked in
// the log host (logHost.ts) before anything is written: a broken engine
// process can add events only to its own branch, one after another.
import type { EventKind } from '../runtime/event.ts'
import type { CommitRequest } from './remoteLog.ts'
import { badTimings } from './history/timings.ts'

const KINDS = new Set<string>(['start', 'step', 'http', 'gui', 'edit', 'code', 'halt'] satisfies EventKind[])

/**
 * A commit's contents, checked before the log takes them: events that continue
 * this branch one after another, each encoding beginning with its own branch,
 * seq and kind (the fixed fields come first, see encodeEventParts), cuts
 * inside their text, and well-formed side data. What the encodings hold past
 * that is the app's history as the engine process tells it; readers of the
 * log treat a body that does not parse as a damaged log.
 */
export function checkCommit(r: CommitRequest, branch: string, head: number): void {
  if (!Number.isSafeInteger(r.count) || r.count < 0 || typeof r.texts !== 'string' || !Array.isArray(r.cuts) || !Array.isArray(r.kinds) || typeof r.code !== 'string') throw new Error('commit: malformed')
  if (!Array.isArray(r.attempts) || !Array.isArray(r.snapshots) || !Array.isArray(r.storedCode) || !Array.isArray(r.cells)) throw new Error('commit: malformed')
  if (r.count && r.first !== head + 1) throw new Error(`commit: event ${String(r.first)} does not follow event ${head} of branch '${branch}'`)
  if (r.count && !/^[0-9a-f]{64}$/.test(r.code)) throw new Error('commit: a malformed code hash')
  if (r.kinds.length !== r.count || r.cuts.length !== r.count) throw new Error('commit: counts differ')
  const timings = badTimings(r.timings, r.count)
  if (timings) throw new Error(`commit: ${timings}`)
  // The texts are one per line. Walked in place, piece by piece: no copy of a text and no string
  // built per event (this runs on the launcher's main thread for every event the app commits).
  const texts = r.texts
  const prefix = `{"branch":${JSON.stringify(branch)},"seq":`
  let start = 0
  for (let i = 0; i < r.count; i++) {
    const last = i === r.count - 1
    const end = last ? texts.length : texts.indexOf('\n', start)
    if (end < 0 || (last && texts.indexOf('\n', start) >= 0)) throw new Error('commit: counts differ')
    const kind = r.kinds[i]!
    const seq = String(r.first + i)
    let at = start
    const next = (piece: string) => texts.startsWith(piece, at) && (at += piece.length) <= end
    if (!KINDS.has(kind) || !(next(prefix) && next(seq) && next(',"kind":"') && next(kind) && next('","codeHash":"'))) throw new Error(`commit: event ${r.first + i} is not an event of branch '${branch}' at that place`)
    const cuts = r.cuts[i]
    if (cuts !== null) {
      if (!Array.isArray(cuts)) throw new Error(`commit: event ${r.first + i}: malformed cuts`)
      let cut = 0
      for (const c of cuts) {
        if (!Array.isArray(c) || !Number.isSafeInteger(c[0]) || !Number.isSafeInteger(c[1]) || c[0] < cut || c[1] < c[0] || c[1] > end - start) throw new Error(`commit: event ${r.first + i}: malformed cuts`)
        cut = c[1]
      }
    }
    start = end + 1
  }
  const last = head + r.count
  for (const s of r.snapshots) if (!Array.isArray(s) || !Number.isSafeInteger(s[0]) || s[0] > last || typeof s[1] !== 'string') throw new Error('commit: a malformed snapshot')
  for (const a of r.attempts) {
    const parsed = typeof a === 'string' ? (JSON.parse(a) as unknown) : null
    if (!isObject(parsed) || parsed.branch !== branch) throw new Error('commit: an attempt of another branch')
  }
  for (const c of r.storedCode) if (!isObject(c) || typeof c.codeHash !== 'string' || typeof c.path !== 'string' || typeof c.code !== 'string' || !Array.isArray(c.sources)) throw new Error('commit: malformed code')
  for (const c of r.cells) if (!Array.isArray(c) || typeof c[0] !== 'string' || !isObject(c[1]) || typeof c[1].code !== 'string' || typeof c[1].map !== 'string') throw new Error('commit: a malformed cell')
}

export function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
