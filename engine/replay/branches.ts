// Branches as users handle them: fork at a moment, and move a branch between
// logs as one portable JSON-lines file (Redux DevTools' export/import, but
// verified: every event arrives with its hash and the import checks the chain).
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { basename } from 'node:path'
import { encodeEvent, eventHash, GENESIS_HASH } from '../runtime/log.ts'
import { Store } from '../runtime/store.ts'
import type { EventRecord } from '../runtime/event.ts'
import { seekStore } from './seek.ts'
import { LogFormatError } from './logErrors.ts'
import type { BranchInfo, SqliteLog, StoredCode } from './sqliteLog.ts'
import { writeBranch } from './writeBranch.ts'
import { notAnEvent } from './history/eventReader.ts'
import type { HistoryLog } from './historyLog.ts'

/**
 * Forks `name` from `from` at `seq`: no event is copied; the new branch starts
 * with a snapshot of that moment, which the log computes (HistoryLog.makeBranch:
 * where the log is, not from what a confined engine would say the state is).
 */
export function forkBranch(log: HistoryLog, name: string, from: string, seq: number): BranchInfo {
  return log.makeBranch(name, { branch: from, seq })
}

/** HistoryLog.makeBranch's fork for a log at hand (SqliteLog). */
export function forkWithSnapshot(log: SqliteLog, name: string, from: string, seq: number, unfinished = false): BranchInfo {
  const info = log.fork(name, from, seq, unfinished)
  log.putSnapshot(name, seq, seekStore(log, { branch: from, seq }).serialize())
  return info
}

export const EXPORT_FORMAT = 'loom-branch'
export const EXPORT_VERSION = 1

/** Writes `branch` (its whole history, ancestors' prefix included) as JSON lines. */
export function* exportBranch(log: HistoryLog, branch: string): Generator<string> {
  const info = log.branchInfo(branch)
  if (!info) throw new Error(`there is no branch '${branch}'`)
  yield JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION, branch, events: info.head, head: log.hashAt(branch, info.head) })
  const codes = new Set<string>()
  for (const e of log.iterate(branch, 1, info.head)) {
    if (e.kind === 'code' && !codes.has(e.codeHash)) {
      codes.add(e.codeHash)
      const code = log.getCode(e.codeHash)
      // The notebook by its name alone: an export is sent to others, and the folders it was kept in are nobody's business.
      if (code) yield JSON.stringify({ code: { ...code, path: basename(code.path) } })
    }
    yield `{"hash":"${e.hash}","event":${encodeEvent(e)}}`
  }
}

type Header = { format?: string; version?: number; branch?: string; events?: number; head?: string }
type Line = { code?: StoredCode; event?: EventRecord; hash?: string } & Header

/**
 * Imports an exported branch as a new root branch `name`, checking every
 * event's hash on the way in. Nothing is kept unless the whole file is sound
 * (writeBranch: the branch goes if any line is refused).
 */
export async function importBranch(log: HistoryLog, file: string | { text: string }, name?: string): Promise<BranchInfo> {
  // A text (from the UI) is named by its line numbers alone.
  const lines: AsyncIterable<string> | Iterable<string> = typeof file === 'string' ? createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity }) : file.text.split(/\r?\n/)
  let lineNo = 0
  const bad = (what: string) => new LogFormatError(`${typeof file === 'string' ? `${file}:` : 'line '}${lineNo}: ${what}`)
  // One iterator, read by hand: the header first, then the events inside the branch write.
  const it = (lines as AsyncIterable<string>)[Symbol.asyncIterator]?.() ?? (lines as Iterable<string>)[Symbol.iterator]()
  const next = async (): Promise<Line | null> => {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      lineNo++
      if (!r.value.trim()) continue
      try {
        return JSON.parse(r.value) as Line
      } catch {
        throw bad('not JSON: this is not a Loom branch export')
      }
    }
    return null
  }
  const header: Header | null = await next()
  if (!header) throw bad('empty file: not a Loom branch export')
  if (header.format !== EXPORT_FORMAT) throw bad('not a Loom branch export (loom export DB --branch B writes one)')
  if ((header.version ?? 0) > EXPORT_VERSION) throw bad(`made by a newer Loom (export format ${header.version}); upgrade Loom to import it`)
  const target = name ?? header.branch
  if (!target) throw bad('the export names no branch; give one with --name')
  if (log.branchInfo(target)) throw bad(`branch '${target}' already exists in ${log.path}; import it under another name with --name`)
  await writeBranch(log, target, null, async (branch) => {
    let parent = GENESIS_HASH
    let seq = 0
    const store = new Store()
    for (let item = await next(); item; item = await next()) {
      if (item.code) {
        branch.putCode(item.code)
        continue
      }
      const e = item.event
      if (!e || typeof item.hash !== 'string') throw bad('expected an event line')
      if (e.seq !== seq + 1) throw bad(`expected event ${seq + 1}, found ${e.seq}`)
      // Checked before it is hashed: hashing walks its fields, and one renamed in the file is no event.
      const wrong = notAnEvent(e, e.seq)
      if (wrong) throw bad(`event ${e.seq} is not an event (${wrong}): the file was changed after it was exported`)
      if (eventHash(e, parent) !== item.hash) throw bad(`event ${e.seq} does not match its hash: the file was changed after it was exported`)
      branch.append(e)
      store.apply(e.writes, e.seq)
      parent = item.hash
      seq = e.seq
      // A snapshot every K events, as the app's own branch has; written with the events up to it.
      branch.offerSnapshot(seq, () => store.serialize())
      if (seq % 2000 === 0) branch.flush()
    }
    if (header.events !== undefined && header.events !== seq) throw bad(`the export says ${header.events} events but holds ${seq}: it is truncated`)
    if (header.head && seq && header.head !== parent) throw bad('the last event does not match the export\'s head hash')
  })
  return log.branchInfo(target)!
}
