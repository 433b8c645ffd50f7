// What a confined engine process may hand the log in one commit, checked by
// the log host (logHost.ts, and its writer thread) before anything is written: a broken engine
// process can add events only to its own branch, one after another.
import type { EventKind } from '../runtime/event.ts'
import type { CommitRequest } from './logProtocol.ts'
import { badTimings } from './history/timings.ts'
import { badSide } from './history/sideRecords.ts'

/** What follows an event's seq in its encoding, by kind (the commonest first): one comparison reads the kind and checks the field after it. */
const AFTER_SEQ: [kind: string, after: string][] = (['step', 'http', 'gui', 'edit', 'code', 'start', 'halt', 'effect'] satisfies EventKind[]).map((kind) => [kind, `,"kind":"${kind}","codeHash":"`])

/**
 * A commit's contents, checked before the log takes them, in two parts. Here,
 * on the log host's main thread as the commit arrives: its shape, that its
 * events continue this branch, and its side data. Its events themselves —
 * each encoding beginning with its own branch, seq and kind (the fixed fields
 * come first, see encodeEventParts), cuts inside their text — are checked by
 * checkEvents where the texts are split to be hashed (writeChunk: the log's
 * writer thread), before anything is written; the main thread never reads
 * them. What the encodings hold past that is the app's history as the engine
 * process tells it; readers of the log treat a body that does not parse as a
 * damaged log.
 */
export function checkCommit(r: CommitRequest, branch: string, head: number): void {
  if (!Number.isSafeInteger(r.count) || r.count < 0 || !(typeof r.texts === 'string' || r.texts instanceof Uint8Array) || !Array.isArray(r.cuts) || typeof r.code !== 'string') throw new Error('commit: malformed')
  if (!Array.isArray(r.attempts) || !Array.isArray(r.snapshots) || !Array.isArray(r.storedCode) || !Array.isArray(r.cells)) throw new Error('commit: malformed')
  if (r.count && r.first !== head + 1) throw new Error(`commit: event ${String(r.first)} does not follow event ${head} of branch '${branch}'`)
  if (r.count && !/^[0-9a-f]{64}$/.test(r.code)) throw new Error('commit: a malformed code hash')
  if (r.cuts.length !== r.count) throw new Error('commit: counts differ')
  const timings = badTimings(r.timings, r.count)
  if (timings) throw new Error(`commit: ${timings}`)
  const last = head + r.count
  const side = badSide(r.side, last)
  if (side) throw new Error(`commit: ${side}`)
  for (const s of r.snapshots) if (!Array.isArray(s) || !Number.isSafeInteger(s[0]) || s[0] > last || typeof s[1] !== 'string') throw new Error('commit: a malformed snapshot')
  for (const a of r.attempts) {
    const parsed = typeof a === 'string' ? (JSON.parse(a) as unknown) : null
    if (!isObject(parsed) || parsed.branch !== branch) throw new Error('commit: an attempt of another branch')
  }
  for (const c of r.storedCode) if (!isObject(c) || typeof c.codeHash !== 'string' || typeof c.path !== 'string' || typeof c.code !== 'string' || !Array.isArray(c.sources)) throw new Error('commit: malformed code')
  for (const c of r.cells) if (!Array.isArray(c) || typeof c[0] !== 'string' || !isObject(c[1]) || typeof c[1].code !== 'string' || typeof c[1].map !== 'string') throw new Error('commit: a malformed cell')
}

/**
 * The events of a commit checkCommit passed, one text each (split by the
 * writer, which hashes them next): each is an event of `branch` at its place,
 * of a kind there is, with its cuts inside its text. Returns their kinds, as
 * the texts say (the log marks events by kind). Runs for every
 * event a confined app commits, so it walks each text in place and builds no
 * string.
 */
/** A commit whose events are not what checkEvents wants: refused, and nothing of it written (the log goes on). */
export class CommitRefused extends Error {}

export function checkEvents(texts: string[], c: { first: number; count: number; cuts: unknown[]; branchName: string }): string[] {
  if (texts.length !== c.count) throw new CommitRefused('commit: counts differ')
  const prefix = `{"branch":${JSON.stringify(c.branchName)},"seq":`
  const kinds: string[] = new Array(c.count)
  for (let i = 0; i < c.count; i++) {
    const text = texts[i]!
    const at = seqEnd(text, piece(text, 0, prefix), c.first + i)
    let kind: string | undefined
    for (let k = 0; at >= 0 && kind === undefined && k < AFTER_SEQ.length; k++) if (piece(text, at, AFTER_SEQ[k]![1]) >= 0) kind = AFTER_SEQ[k]![0]
    if (kind === undefined) throw new CommitRefused(`commit: event ${c.first + i} is not an event of branch '${c.branchName}' at that place`)
    kinds[i] = kind
    const cuts = c.cuts[i]
    if (cuts === null) continue
    if (!Array.isArray(cuts)) throw new CommitRefused(`commit: event ${c.first + i}: malformed cuts`)
    let cut = 0
    for (const x of cuts) {
      if (!Array.isArray(x) || !Number.isSafeInteger(x[0]) || !Number.isSafeInteger(x[1]) || x[0] < cut || x[1] < x[0] || x[1] > text.length) throw new CommitRefused(`commit: event ${c.first + i}: malformed cuts`)
      cut = x[1]
    }
  }
  return kinds
}

/** Where `text` goes on after the decimal `seq` at `at` (as JSON writes it: no sign, no leading zero; at most 15 digits, so exact), or -1. */
function seqEnd(text: string, at: number, seq: number): number {
  if (at < 0 || text.charCodeAt(at) === 48) return -1
  let value = 0
  let end = at
  for (; end < text.length && end - at < 15; end++) {
    const digit = text.charCodeAt(end) - 48
    if (digit < 0 || digit > 9) break
    value = value * 10 + digit
  }
  return end > at && value === seq ? end : -1
}

/** Where `text` goes on after `expected` at `at`, or -1 when it does not hold it there (or `at` is -1 already). */
function piece(text: string, at: number, expected: string): number {
  return at >= 0 && text.startsWith(expected, at) ? at + expected.length : -1
}

export function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
