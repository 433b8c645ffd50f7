// Where committed events go. The engine appends each event as it commits and
// calls `flush` once per batch (group commit); the log seals events into the
// hash chain. MemoryLog keeps everything in memory; the durable SQLite log
// implements the same interface.
import { hash } from 'node:crypto'
import { canonicalJson } from './values.ts'
import type { Attempt, EventRecord } from './event.ts'
import type { StoreSnapshot } from './store.ts'

export interface EventLog {
  /** Seq of the last appended event (0 when empty). */
  readonly head: number
  /** Appends the next event; appending an event whose seq is not above `head` does nothing. */
  append(event: EventRecord): void
  /** Seals and keeps everything appended so far; events are acknowledged after this. */
  flush(): void
  /** Events with seq in [from, from + limit). */
  events(from?: number, limit?: number): EventRecord[]
  addAttempt(attempt: Attempt): void
  /** The most recent attempts, oldest first. */
  attempts(limit?: number): Attempt[]
  /** Keeps a code version by its hash, so history replays with the code that ran it (durable logs). */
  putCode?(code: { codeHash: string; path: string; code: string; sources: { id: string; line: number; source: string }[] }): void
  /** Offered after each flush; a durable log keeps a snapshot every so many events. */
  offerSnapshot?(seq: number, take: () => StoreSnapshot): void
}

export const GENESIS_HASH = '0'.repeat(64)

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
  const cuts: [number, number][] = []
  let out = ''
  const value = (v: unknown) => {
    const json = canonicalJson(v)
    if (json.length >= minCut) cuts.push([out.length, out.length + json.length])
    out += json
  }
  out += `{"branch":${JSON.stringify(e.branch)},"seq":${e.seq},"kind":"${e.kind}","method":${JSON.stringify(e.method)},"input":`
  value(e.input)
  out += ',"choices":['
  for (let i = 0; i < e.choices.length; i++) out += `${i ? ',' : ''}{"n":${e.choices[i]!.n},"value":${e.choices[i]!.value}}`
  out += `],"time":${e.time},"codeHash":"${e.codeHash}","reads":[`
  for (let i = 0; i < e.reads.length; i++) {
    const r = e.reads[i]!
    out += `${i ? ',' : ''}{"state":${JSON.stringify(r.state)}${r.key === undefined ? '' : `,"key":${JSON.stringify(r.key)}`},"version":${r.version}}`
  }
  out += '],"writes":['
  for (let i = 0; i < e.writes.length; i++) {
    const w = e.writes[i]!
    out += `${i ? ',' : ''}{"state":${JSON.stringify(w.state)},"op":"${w.op}"`
    switch (w.op) {
      case 'set':
        out += `${'key' in w ? `,"key":${JSON.stringify(w.key)}` : ''},"value":`
        value(w.value)
        break
      case 'delete':
        out += `,"key":${JSON.stringify(w.key)}`
        break
      case 'queue':
        out += `,"take":${w.take},"push":`
        value(w.push)
        break
      case 'bag':
        out += `,"take":${JSON.stringify(w.take)},"put":`
        value(w.put)
        break
      case 'add':
        out += `,"value":${w.value}`
        break
      case 'declare':
        out += `,"kind":"${w.kind}","value":`
        value(w.value)
        break
    }
    out += '}'
  }
  out += '],"outputs":'
  const o = e.outputs
  if (o.tty === undefined && o.logs === undefined && o.http === undefined && o.halt === undefined) out += '{}'
  else value(o)
  out += '}'
  return { text: out, cuts }
}

/** The hash of an event: sha256 of its parent's hash and its canonical encoding. */
export function eventHash(event: EventRecord, parentHash: string): string {
  return hash('sha256', parentHash + encodeEvent(event), 'hex')
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
