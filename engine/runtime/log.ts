// Where committed events go. The engine appends each event as it commits and
// calls `flush` once per batch (group commit); the log seals events into the
// hash chain. MemoryLog keeps everything in memory; the durable SQLite log
// implements the same interface.
import { chainHash, GENESIS_HASH } from '../replay/history/hashChain.ts'
import { canonicalJson } from './values.ts'
import type { Attempt, EventRecord, Write } from './event.ts'
import type { StoreSnapshot } from './store.ts'
import type { KeptCells } from './transformCell.ts'
import type { SideSink } from '../replay/history/sideRecords.ts'

export interface EventLog {
  /** Seq of the last appended event (0 when empty). */
  readonly head: number
  /** Appends the next event; appending an event whose seq is not above `head` does nothing. */
  append(event: EventRecord): void
  /** Seals and keeps everything appended so far; events are acknowledged after this. */
  flush(): void
  /** The same, written in the background: resolves when durable (a log without a writer thread just flushes). */
  flushAsync?(): Promise<void>
  /** Events with seq in [from, from + limit). */
  events(from?: number, limit?: number): EventRecord[]
  addAttempt(attempt: Attempt): void
  /** What a durable log keeps beside its events, with the next group commit (failures, latencies: history/sideRecords.ts). */
  readonly side?: SideSink
  /** The most recent attempts, oldest first. */
  attempts(limit?: number): Attempt[]
  /** Keeps a code version by its hash, so history replays with the code that ran it (durable logs). */
  putCode?(code: { codeHash: string; path: string; code: string; sources: { id: string; line: number; source: string }[] }): void
  /** Where compiled cells are kept between runs (durable logs): reopening a notebook need not compile it. */
  keptCells?: KeptCells
  /** Offered after each flush; a durable log keeps a snapshot every so many events. */
  offerSnapshot?(seq: number, take: () => StoreSnapshot): void
  /** The seq at which the log next wants a snapshot (a batch ends there). */
  snapshotDue?(): number
}

export { GENESIS_HASH }

/**
 * The canonical encoding of an event (everything but its hashes): fields in
 * a fixed order, values with sorted keys, so equal events encode equally
 * whatever order their objects were built in.
 */
export function encodeEvent(e: EventRecord): string {
  return encodeEventParts(e, Infinity).text
}

/**
 * The canonical encoding, and the [start, end) ranges of values at least
 * `minCut` characters long — what a log may store once, by hash, elsewhere.
 * `leaveOut`: a code hash written as `""` when it is the event's (the form a
 * log stores, its chunk keeping the code hash once; see chunk.ts).
 *
 * Built by concatenation from pieces remembered per name (the branch, the
 * kind and code hash, the method, each state), not by joining many small
 * parts: every event of a counter differs from the last only in its
 * numbers, and each character copied is paid for on the engine's thread —
 * twice as many copies and a third of the garbage of a confined app's
 * commit went to joining parts (measured on the counter sample).
 */
export function encodeEventParts(e: EventRecord, minCut: number, leaveOut?: string): { text: string; cuts: [number, number][] } {
  const cuts = scratchCuts
  cuts.length = 0
  // Fixed-size fields first: the codeHash sits at a known place, before any user data.
  let t = remembered(heads, e.branch, headPiece) + e.seq + kindPiece(e.kind, e.codeHash === leaveOut ? '' : e.codeHash) + e.time + (e.method === null ? NO_METHOD : remembered(methods, e.method, methodPiece))
  t = withValue(t, cuts, e.input, minCut)
  if (e.choices.length === 0) t += NO_CHOICES
  else {
    t += ',"choices":['
    for (let i = 0; i < e.choices.length; i++) t += (i ? ',{"n":' : '{"n":') + e.choices[i]!.n + ',"value":' + e.choices[i]!.value + '}'
    t += '],"reads":['
  }
  for (let i = 0; i < e.reads.length; i++) {
    const r = e.reads[i]!
    const state = r.key === undefined ? remembered(reads, r.state, readPiece) : remembered(states, r.state, statePiece) + ',"key":' + JSON.stringify(r.key) + ',"version":'
    t += (i ? ',' + state : state) + r.version + '}'
  }
  t += '],"writes":['
  for (let i = 0; i < e.writes.length; i++) {
    const w = e.writes[i]!
    const table = writes[w.op] as Map<string, string> | undefined
    // An op Loom never writes (a crafted import being checked) adds only its closing brace, as the encoding always did.
    if (!table) {
      t += '}'
      continue
    }
    const head = remembered(table, w.state, writePieces[w.op])
    if (i) t += ','
    switch (w.op) {
      case 'set':
        t = withValue(t + ('key' in w ? head + ',"key":' + JSON.stringify(w.key) + ',"value":' : head + ',"value":'), cuts, w.value, minCut)
        break
      case 'delete':
        t += head + ',"key":' + JSON.stringify(w.key)
        break
      case 'queue':
        t = withValue(t + head + ',"take":' + w.take + ',"push":', cuts, w.push, minCut)
        break
      case 'bag':
        t = withValue(t + head + ',"take":' + JSON.stringify(w.take) + ',"put":', cuts, w.put, minCut)
        break
      case 'add':
        t += head + ',"value":' + w.value
        break
      case 'declare':
        t = withValue(t + head + ',"kind":"' + w.kind + '","value":', cuts, w.value, minCut)
        break
    }
    t += '}'
  }
  const o = e.outputs
  t = o.tty === undefined && o.logs === undefined && o.http === undefined && o.halt === undefined ? t + '],"outputs":{}}' : withValue(t + '],"outputs":', cuts, o, minCut) + '}'
  return { text: t, cuts: cuts.length ? cuts.splice(0) : NO_CUTS }
}

// Most events have no value long enough to cut: they share one empty list, and long values are collected here.
const NO_CUTS: [number, number][] = Object.freeze([]) as unknown as [number, number][]
const scratchCuts: [number, number][] = []

/** `text` followed by the value's canonical JSON; a long one's range goes to `cuts`. */
function withValue(text: string, cuts: [number, number][], v: unknown, minCut: number): string {
  // Numbers and null are most values (counters, versions): no call into JSON for them.
  const json = typeof v === 'number' && Number.isFinite(v) ? '' + v : v === null ? 'null' : canonicalJson(v)
  if (json.length >= minCut) cuts.push([text.length, text.length + json.length])
  return text + json
}

// The pieces of an encoding that depend only on a name, each made once. Names
// come from the notebook (a few dozen); past PIECES_MAX a table starts over.
const PIECES_MAX = 4096
const heads = new Map<string, string>()
const methods = new Map<string, string>()
const reads = new Map<string, string>()
const states = new Map<string, string>()
const kinds = new Map<string, Map<string, string>>()
const NO_METHOD = ',"method":null,"input":'
const NO_CHOICES = ',"choices":[],"reads":['
const headPiece = (branch: string) => '{"branch":' + JSON.stringify(branch) + ',"seq":'
const methodPiece = (method: string) => ',"method":' + JSON.stringify(method) + ',"input":'
const statePiece = (state: string) => '{"state":' + JSON.stringify(state)
const readPiece = (state: string) => statePiece(state) + ',"version":'
type Op = Write['op']
const OPS: Op[] = ['set', 'delete', 'queue', 'bag', 'add', 'declare']
/** Per op, a write's state and op: `{"state":"count","op":"set"` (no prototype: an op named `constructor` is no op). */
const writes = Object.assign(Object.create(null), Object.fromEntries(OPS.map((op) => [op, new Map<string, string>()]))) as Record<Op, Map<string, string>>
const writePieces = Object.fromEntries(OPS.map((op) => [op, (state: string) => statePiece(state) + ',"op":"' + op + '"'])) as Record<Op, (state: string) => string>

function remembered(table: Map<string, string>, name: string, make: (name: string) => string): string {
  let piece = table.get(name)
  if (piece === undefined) {
    if (table.size >= PIECES_MAX) table.clear()
    table.set(name, (piece = make(name)))
  }
  return piece
}

/** The kind and the code hash, between the seq and the time. */
function kindPiece(kind: string, codeHash: string): string {
  let byCode = kinds.get(kind)
  if (byCode === undefined) {
    if (kinds.size >= PIECES_MAX) kinds.clear()
    kinds.set(kind, (byCode = new Map()))
  }
  let piece = byCode.get(codeHash)
  if (piece === undefined) {
    if (byCode.size >= PIECES_MAX) byCode.clear()
    byCode.set(codeHash, (piece = ',"kind":"' + kind + '","codeHash":"' + codeHash + '","time":'))
  }
  return piece
}

/** The hash of an event: sha256 of its parent's hash and its canonical encoding. */
export function eventHash(event: EventRecord, parentHash: string): string {
  return chainHash(parentHash, encodeEvent(event))
}

export class MemoryLog implements EventLog {
  private readonly list: EventRecord[] = []
  private sealed = 0
  private readonly recent: Attempt[] = []
  constructor(private readonly maxAttempts = 1000) {}

  get head(): number {
    return this.list.length
  }

  append(event: EventRecord): void {
    if (event.seq <= this.list.length) return
    if (event.seq !== this.list.length + 1) throw new Error(`log: expected event ${this.list.length + 1}, got ${event.seq}`)
    this.list.push(event)
  }

  flush(): void {
    let parent = this.sealed ? this.list[this.sealed - 1]!.hash : GENESIS_HASH
    for (; this.sealed < this.list.length; this.sealed++) {
      const e = this.list[this.sealed]!
      e.parentHash = parent
      e.hash = parent = eventHash(e, parent)
    }
  }

  events(from = 1, limit = Infinity): EventRecord[] {
    this.flush()
    return this.list.slice(Math.max(0, from - 1), Math.min(this.list.length, from - 1 + limit))
  }

  addAttempt(attempt: Attempt): void {
    this.recent.push(attempt)
    if (this.recent.length > this.maxAttempts * 2) this.recent.splice(0, this.recent.length - this.maxAttempts)
  }

  attempts(limit = this.maxAttempts): Attempt[] {
    return this.recent.slice(-Math.min(limit, this.maxAttempts))
  }
}
