// Where committed events go. The engine appends each event as it commits and
// calls `flush` once per batch (group commit); the log seals events into the
// hash chain. MemoryLog keeps everything in memory; the durable SQLite log
// implements the same interface.
import { chainHash, GENESIS_HASH } from '../replay/history/hashChain.ts'
import { canonicalJson } from './values.ts'
import type { Attempt, EventRecord } from './event.ts'
import type { StoreSnapshot } from './store.ts'
import type { KeptCells } from './compile.ts'
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
 */
export function encodeEventParts(e: EventRecord, minCut: number): { text: string; cuts: [number, number][] } {
  // Parts are joined once at the end (one flat string, cheap to hash); `big` marks values to cut.
  const parts: string[] = []
  const big: number[] = []
  // Fixed-size fields first: the codeHash sits at a known place, before any user data.
  parts.push(`{"branch":${JSON.stringify(e.branch)},"seq":${e.seq},"kind":"${e.kind}","codeHash":"${e.codeHash}","time":${e.time},"method":${JSON.stringify(e.method)},"input":`)
  pushValue(parts, big, e.input, minCut)
  let mid = ',"choices":['
  for (let i = 0; i < e.choices.length; i++) mid += `${i ? ',' : ''}{"n":${e.choices[i]!.n},"value":${e.choices[i]!.value}}`
  mid += '],"reads":['

  for (let i = 0; i < e.reads.length; i++) {
    const r = e.reads[i]!
    mid += `${i ? ',' : ''}{"state":${JSON.stringify(r.state)}${r.key === undefined ? '' : `,"key":${JSON.stringify(r.key)}`},"version":${r.version}}`
  }
  parts.push(mid + '],"writes":[')
  for (let i = 0; i < e.writes.length; i++) {
    const w = e.writes[i]!
    const head = `${i ? ',' : ''}{"state":${JSON.stringify(w.state)},"op":"${w.op}"`
    switch (w.op) {
      case 'set':
        parts.push(`${head}${'key' in w ? `,"key":${JSON.stringify(w.key)}` : ''},"value":`)
        pushValue(parts, big, w.value, minCut)
        break
      case 'delete':
        parts.push(`${head},"key":${JSON.stringify(w.key)}`)
        break
      case 'queue':
        parts.push(`${head},"take":${w.take},"push":`)
        pushValue(parts, big, w.push, minCut)
        break
      case 'bag':
        parts.push(`${head},"take":${JSON.stringify(w.take)},"put":`)
        pushValue(parts, big, w.put, minCut)
        break
      case 'add':
        parts.push(`${head},"value":${w.value}`)
        break
      case 'declare':
        parts.push(`${head},"kind":"${w.kind}","value":`)
        pushValue(parts, big, w.value, minCut)
        break
    }
    parts.push('}')
  }
  parts.push('],"outputs":')
  const o = e.outputs
  if (o.tty === undefined && o.logs === undefined && o.http === undefined && o.halt === undefined) parts.push('{}')
  else pushValue(parts, big, o, minCut)
  parts.push('}')
  const text = parts.join('')
  const cuts: [number, number][] = []
  if (big.length) {
    let at = 0
    for (let i = 0, b = 0; i < parts.length && b < big.length; i++) {
      if (i === big[b]) {
        cuts.push([at, at + parts[i]!.length])
        b++
      }
      at += parts[i]!.length
    }
  }
  return { text, cuts }
}

function pushValue(parts: string[], big: number[], v: unknown, minCut: number): void {
  const json = canonicalJson(v)
  if (json.length >= minCut) big.push(parts.length)
  parts.push(json)
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
