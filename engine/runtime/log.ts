// Where committed events go. The engine appends each event as it commits and
// calls `flush` once per batch (group commit); the log seals events into the
// hash chain. MemoryLog keeps everything in memory; the durable SQLite log
// implements the same interface.
import { hash } from 'node:crypto'
import { canonicalJson } from './values.ts'
import type { Attempt, EventRecord, Outputs, Write } from './event.ts'

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
}

export const GENESIS_HASH = '0'.repeat(64)

/**
 * The canonical encoding of an event (everything but its hashes): fields in
 * a fixed order, values with sorted keys, so equal events encode equally
 * whatever order their objects were built in.
 */
export function encodeEvent(e: EventRecord): string {
  let reads = '['
  for (let i = 0; i < e.reads.length; i++) {
    const r = e.reads[i]!
    reads += `${i ? ',' : ''}{"state":${JSON.stringify(r.state)}${r.key === undefined ? '' : `,"key":${JSON.stringify(r.key)}`},"version":${r.version}}`
  }
  let choices = '['
  for (let i = 0; i < e.choices.length; i++) choices += `${i ? ',' : ''}{"n":${e.choices[i]!.n},"value":${e.choices[i]!.value}}`
  return (
    `{"branch":${JSON.stringify(e.branch)},"seq":${e.seq},"kind":"${e.kind}","method":${JSON.stringify(e.method)}` +
    `,"input":${canonicalJson(e.input)},"choices":${choices}],"time":${e.time},"codeHash":"${e.codeHash}"` +
    `,"reads":${reads}],"writes":${encodeWrites(e.writes)},"outputs":${encodeOutputs(e.outputs)}}`
  )
}

function encodeWrites(writes: readonly Write[]): string {
  let out = '['
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i]!
    out += `${i ? ',' : ''}{"state":${JSON.stringify(w.state)},"op":"${w.op}"`
    switch (w.op) {
      case 'set':
        out += `${'key' in w ? `,"key":${JSON.stringify(w.key)}` : ''},"value":${canonicalJson(w.value)}}`
        break
      case 'delete':
        out += `,"key":${JSON.stringify(w.key)}}`
        break
      case 'queue':
        out += `,"take":${w.take},"push":${canonicalJson(w.push)}}`
        break
      case 'bag':
        out += `,"take":${JSON.stringify(w.take)},"put":${canonicalJson(w.put)}}`
        break
      case 'add':
        out += `,"value":${w.value}}`
        break
      case 'declare':
        out += `,"kind":"${w.kind}","value":${canonicalJson(w.value)}}`
        break
    }
  }
  return out + ']'
}

function encodeOutputs(o: Outputs): string {
  if (o.tty === undefined && o.logs === undefined && o.http === undefined && o.halt === undefined) return '{}'
  return canonicalJson(o)
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
