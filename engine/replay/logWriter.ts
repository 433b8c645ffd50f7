// The log's writer thread: takes sealed group commits from the engine's
// thread, writes each in one SQLite transaction (with its fsync), and says
// so — so the engine runs the next batch while the last one becomes durable.
// Between the commit and the answer it records the branch's new head in the
// heads file (headsFile.ts): nothing is acknowledged that the record lacks.
import { workerData, type MessagePort } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { writeChunk, ConflictError, type Chunk } from './chunk.ts'
import { HeadsWriter } from './headsFile.ts'
import { CommitRefused } from './commitCheck.ts'

export interface WriterData {
  path: string
  /** The heads record beside the log. */
  heads: string
  fsync: boolean
  port: MessagePort
  /** [0]: chunks finished (written or failed); lets a waiting engine block until the queue is empty. */
  signal: Int32Array
}

/** `refused`: a confined engine's commit failed its check (checkEvents); nothing was written and the log goes on. */
export type Ack = { ok: true; hashes: string; parent: string; last: string } | { ok: false; error: string; conflict: boolean; refused?: true }

const { path, heads, fsync, port, signal } = workerData as WriterData
const db = new Database(path)
db.pragma('journal_mode = WAL')
db.pragma(`synchronous = ${fsync ? 'FULL' : 'NORMAL'}`)
db.pragma('busy_timeout = 5000')
const last = new Map<number, { seq: number; hash: string }>()
const record = new HeadsWriter(heads, fsync)

port.on('message', (chunk: Chunk | 'close') => {
  if (chunk === 'close') {
    // Closing checkpoints the WAL into the file; the engine waits for it.
    db.close()
    record.close()
    port.close()
    Atomics.add(signal, 0, 1)
    Atomics.notify(signal, 0)
    return
  }
  let ack: Ack
  try {
    const previous = last.get(chunk.branch)
    const parent = chunk.parent ?? (previous && previous.seq === chunk.first - 1 ? previous.hash : null)
    if (parent === null) throw new Error(`log writer: no parent hash for event ${chunk.first}`)
    const written = writeChunk(db, chunk, parent)
    if (chunk.count) record.write({ id: chunk.branch, name: chunk.branchName, created: chunk.created, seq: chunk.first + chunk.count - 1, hash: written.last })
    last.set(chunk.branch, { seq: chunk.first + chunk.count - 1, hash: written.last })
    ack = { ok: true, hashes: written.hashes, parent: written.parent, last: written.last }
  } catch (err) {
    if (err instanceof CommitRefused) ack = { ok: false, error: err.message, conflict: false, refused: true }
    else {
      last.delete(chunk.branch)
      ack = { ok: false, error: (err as Error).message, conflict: err instanceof ConflictError }
    }
  }
  port.postMessage(ack)
  Atomics.add(signal, 0, 1)
  Atomics.notify(signal, 0)
})
