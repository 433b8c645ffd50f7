// `loom replay --code` and retroactive logging from the command line: the
// notebook's cells run in a confined process fed the recorded events.
import { readFile } from 'node:fs/promises'
import type { SqliteLog } from '../replay/sqliteLog.ts'
import type { Rerun } from '../replay/rerun.ts'
import type { RetroLogs } from '../replay/retroLog.ts'
import type { RunJob } from '../host/runProcess.ts'
import type { EventRecord } from '../runtime/event.ts'
import { decodeNotebook, parseNotebook } from '../runtime/notebook.ts'
import { compileCellsNatively } from '../runtime/transformCell.ts'
import { encodeEvent } from '../runtime/log.ts'
import { writeBranch } from '../replay/writeBranch.ts'
import { confinedJob, JobFailed } from './run.ts'
import { checkedRetro } from './retroLogs.ts'
import type { Io } from './main.ts'

/**
 * `loom replay --code`: `from`'s recorded transactions re-run with the
 * notebook's code onto a new branch `onto` (engine/replay/rerun.ts, as the
 * debugger does it). The cells run in a confined process (DESIGN §9): this
 * one sends the recorded events in batches, as for a replay, and writes the
 * new branch's events after checking them (logHost.ts).
 */
export async function rerunConfined(log: SqliteLog, from: string, notebook: string, onto: string | null, io: Io, timeLimitMs?: number, logs?: { limit: number }): Promise<Rerun | RetroLogs> {
  const info = log.branchInfo(from)
  if (!info) throw new Error(`there is no branch '${from}'`)
  const text = decodeNotebook(await readFile(notebook), notebook)
  // Compiled here by native esbuild into the log's kept cells, which the confined process reads over the link (as it would start esbuild as WebAssembly).
  const cells = await compileCellsNatively(parseNotebook(text, notebook)).catch(() => [])
  const first = log.event(from, 1)
  const rerun = async (branch: SqliteLog | null) => {
    for (const [key, cell] of branch ? cells : []) branch!.keptCells.put(key, cell)
    const job: RunJob = {
      kind: 'rerun', notebook, text, shownAs: notebook, timeLimitMs, env: {}, args: [], json: false, untilIdle: false, watch: false, serving: false,
      rerun: { from, startTime: first?.time ?? 0, maxDivergences: 100, kept: onto !== null, ...(logs ? { logs } : {}) },
    }
    const feed = async (host: { check: (events: unknown[], bodies: string[]) => Promise<unknown> }) => {
      let events: EventRecord[] = []
      const send = async () => {
        const answer = await host.check(events, events.map(encodeEvent))
        events = []
        if (answer && typeof answer === 'object' && 'gone' in answer) throw new Error('the confined process ended before it answered')
      }
      for (const e of log.iterate(from, 1, info.head)) {
        events.push(e)
        if (events.length === 2000) await send()
      }
      if (events.length) await send()
    }
    const value = await confinedJob(job, io, { log: branch, feed }).catch((err) => {
      throw err instanceof JobFailed && err.kind === 'range' ? new RangeError(err.message) : err
    })
    return logs ? checkedRetro(value) : checkedRerun(value, from, onto)
  }
  // Retroactive logging and a re-run not kept write nothing; otherwise forked at 0 (the branch takes every event anew), written as the confined process commits (writeBranch).
  return onto === null ? rerun(null) : writeBranch(log, onto, { branch: from, seq: 0 }, rerun)
}

/** The confined process's answer, checked for shape before it is printed. */
function checkedRerun(v: unknown, from: string, onto: string | null): Rerun {
  const r = v as Rerun
  const ok = typeof r === 'object' && r !== null && Number.isSafeInteger(r.inputs) && Number.isSafeInteger(r.diverged) && Array.isArray(r.divergences) && (r.first === null || typeof r.first === 'object')
  if (!ok) throw new Error('the confined process gave a malformed answer')
  return { from, onto, inputs: r.inputs, diverged: r.diverged, first: r.first, divergences: r.divergences }
}
