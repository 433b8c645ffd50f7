// A long history written straight into a log, as bench/ writes its seek
// bench: no engine, just events appended and flushed in big batches. It is
// the counter sample's history, so a host opens it and carries on.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { Store } from '../engine/runtime/store.ts'
import { parseNotebook } from '../engine/runtime/notebook.ts'
import { compileNotebook } from '../engine/runtime/compile.ts'
import type { EventKind, EventRecord } from '../engine/runtime/event.ts'

export const COUNTER = readFileSync('samples/counter.loom.md', 'utf8')

/** The kind of event `seq`: the code at 1, an edit every 1000th, an http request every 10th, steps between. */
export function kindAt(seq: number): EventKind {
  return seq === 1 ? 'code' : seq % 1000 === 0 ? 'edit' : seq % 10 === 0 ? 'http' : 'step'
}

/** Event `seq` printed something: every 100th, 7 past the hundred. */
export const printsAt = (seq: number) => seq % 100 === 7

/** Writes `events` events of the counter notebook at `notebook` into `db` (the code event the host would write, so it resumes without one). */
export async function writeCounterHistory(db: string, notebook: string, events: number): Promise<void> {
  const app = await compileNotebook(parseNotebook(COUNTER, notebook))
  const log = SqliteLog.open(db)
  const store = new Store()
  try {
    const base = 1_700_000_000_000
    for (let seq = 1; seq <= events; seq++) {
      const kind = kindAt(seq)
      const e: EventRecord = {
        branch: 'main', seq, kind, method: kind === 'code' ? null : kind, time: base + seq, codeHash: app.codeHash,
        input: kind === 'code' ? { seed: `loom:${basename(notebook)}`, env: {}, args: [] } : kind === 'http' ? { method: 'GET', path: '/' } : null,
        choices: [], reads: [],
        writes: kind === 'code' ? [{ state: 'count', op: 'declare', kind: 'var', value: 0 }] : [{ state: 'count', op: 'set', value: seq }],
        outputs: printsAt(seq) ? { tty: `${seq}\n` } : {},
        parentHash: '', hash: '',
      }
      log.append(e)
      store.apply(e.writes, seq)
      // A snapshot every K events, as a running engine leaves them.
      log.offerSnapshot(seq, () => store.serialize())
      if (seq % 50_000 === 0) log.flush()
    }
    log.putCode({ codeHash: app.codeHash, path: notebook, code: app.code, sources: app.sources })
  } finally {
    log.close()
  }
}
