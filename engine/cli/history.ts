// The commands that read and shape a log: log, state, replay, fork, promote,
// branches, export, import. Each prints words for people and, with --json, data.
import { createWriteStream, existsSync } from 'node:fs'
import { SqliteLog, LogFormatError } from '../replay/sqliteLog.ts'
import { seek } from '../replay/seek.ts'
import { verifyBranch, describeDivergence } from '../replay/replay.ts'
import { startReplay } from './run.ts'
import { forkBranch, exportBranch, importBranch } from '../replay/branches.ts'
import { replayWithCode } from '../replay/rerun.ts'
import type { EventRecord } from '../runtime/event.ts'
import type { Parsed } from './args.ts'
import type { Io } from './main.ts'

/** A request the log cannot satisfy (no such branch, event, …): exit 2 with the reason. */
export class HistoryError extends Error {}

export async function history(p: Parsed, io: Io): Promise<number> {
  const path = p.args.db!
  // Reading commands never create a log: a wrong path is an error, not an empty history.
  if (!existsSync(path)) throw new LogFormatError(`${path}: no such log (a notebook's log is NAME.loom.db, written by loom run)`)
  const log = SqliteLog.open(path, { create: false })
  try {
    return await command(p, log, io)
  } catch (err) {
    if (err instanceof LogFormatError) throw err
    if (err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError)) throw new HistoryError(err.message)
    throw err
  } finally {
    log.db.close()
  }
}

async function command(p: Parsed, log: SqliteLog, io: Io): Promise<number> {
  const json = !!p.options.json
  const out = (data: unknown, text: string) => io.out(json ? JSON.stringify(data) + '\n' : text)
  const branch = (p.options.branch as string | undefined) ?? log.live
  const info = () => {
    const b = log.branchInfo(branch)
    if (!b) throw new HistoryError(`there is no branch '${branch}' in ${log.path} (loom branches ${log.path} lists them)`)
    return b
  }
  switch (p.command) {
    case 'log': {
      const head = info().head
      const limit = (p.options.limit as number | undefined) ?? 50
      const from = (p.options.from as number | undefined) ?? Math.max(1, head - limit + 1)
      const events = log.eventsOf(branch, Math.max(1, from), limit)
      out(events, events.map(describeEvent).join('') || `(no events on branch '${branch}' from ${from})\n`)
      return 0
    }
    case 'state': {
      const at = (p.options.at as number | undefined) ?? info().head
      const state = seek(log, { branch, seq: at })
      const data = Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.value]))
      out(data, Object.entries(state).map(([k, v]) => `${k} (${v.kind}) = ${JSON.stringify(v.value)}\n`).join('') || '(no state)\n')
      return 0
    }
    case 'replay': {
      const b = info()
      const code = p.options.code as string | undefined
      if (code) {
        const onto = (p.options.onto as string | undefined) ?? freeName(log, `${branch}-replay`)
        const r = await replayWithCode(log, branch, code, onto)
        const text = r.first
          ? `loom: re-ran ${r.inputs} recorded transactions of '${branch}' with ${code} onto branch '${onto}': ${r.diverged} came out differently; the first is event ${r.first.seq} (${r.first.kind}): ${r.first.what}\n`
          : `loom: re-ran ${r.inputs} recorded transactions of '${branch}' with ${code} onto branch '${onto}': every outcome is the same\n`
        out(r, text)
        return 0
      }
      const verify = !!p.options.verify
      const t0 = performance.now()
      // The cells re-execute in a confined process (DESIGN §9); the hash chain is checked here.
      const confined = startReplay(log, branch, io)
      let r: Awaited<ReturnType<typeof verifyBranch>>
      try {
        r = await verifyBranch(log, branch, { from: p.options.from as number | undefined, to: p.options.to as number | undefined, replayer: confined.replayer })
      } finally {
        await confined.stop()
      }
      const seconds = (performance.now() - t0) / 1000
      const data = { ok: r.ok, branch, events: r.events, head: b.head, failure: r.failure, eventsPerSecond: Math.round(r.events / Math.max(seconds, 1e-3)) }
      if (json) io.out(JSON.stringify(data) + '\n')
      else if (r.ok) io.out(`loom: replayed ${r.events} events of branch '${branch}': every event re-executed exactly as logged, hash chain intact\n`)
      else io.err(`loom: ${verify ? 'verify failed' : 'replay differs'} at ${describeDivergence(log.getCode(firstCodeHash(log, branch))?.path ?? log.path, r.failure!)}\n`)
      return r.ok || !verify ? 0 : 1
    }
    case 'fork': {
      const at = p.options.at as number | undefined
      const name = p.options.name as string | undefined
      if (at === undefined || !name) throw new HistoryError(`loom fork needs --at S and --name N`)
      const from = (p.options.from as string | undefined) ?? log.live
      const b = forkBranch(log, name, from, at)
      out(b, `loom: branch '${name}' forked from '${from}' at event ${at}\n`)
      return 0
    }
    case 'promote': {
      log.promote(p.args.name!)
      out({ live: p.args.name }, `loom: '${p.args.name}' is now the live branch\n`)
      return 0
    }
    case 'branches': {
      const del = p.options.delete as string | undefined
      if (del) {
        log.deleteBranch(del)
        out({ deleted: del }, `loom: deleted branch '${del}'\n`)
        return 0
      }
      const live = log.live
      const list = log.branches().map((b) => ({ ...b, live: b.name === live }))
      out(list, list.map((b) => `${b.live ? '*' : ' '} ${b.name}  ${b.head} events${b.parent ? `, forked from '${b.parent}' at ${b.forkSeq}` : ''}\n`).join(''))
      return 0
    }
    case 'export': {
      info()
      const file = p.options.out as string | undefined
      const sink = file ? createWriteStream(file) : null
      for (const line of exportBranch(log, branch)) {
        if (sink) {
          if (!sink.write(line + '\n')) await new Promise<void>((r) => sink.once('drain', () => r()))
        } else io.out(line + '\n')
      }
      if (sink) {
        await new Promise<void>((resolve, reject) => {
          sink.once('error', reject)
          sink.end(() => resolve())
        })
      }
      return 0
    }
    case 'import': {
      const b = await importBranch(log, p.args.file!, p.options.name as string | undefined)
      out(b, `loom: imported branch '${b.name}' (${b.head} events, every hash checked)\n`)
      return 0
    }
  }
  throw new HistoryError(`unknown command ${p.command}`)
}

function freeName(log: SqliteLog, base: string): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`
    if (!log.branchInfo(name)) return name
  }
}

function firstCodeHash(log: SqliteLog, branch: string): string {
  return log.event(branch, 1)?.codeHash ?? ''
}

/** One line per event: seq, kind, method, what it changed, what it printed. */
function describeEvent(e: EventRecord): string {
  const changed = [...new Set(e.writes.map((w) => w.state))]
  const parts = [
    String(e.seq).padStart(6),
    new Date(e.time).toISOString(),
    (e.method && e.method !== e.kind ? `${e.kind} ${e.method}` : e.kind).padEnd(11),
    changed.length ? `wrote ${changed.join(', ')}` : 'no writes',
  ]
  if (e.choices.length) parts.push(`choices ${e.choices.map((c) => `${c.value}/${c.n}`).join(' ')}`)
  if (e.outputs.tty) parts.push(`tty ${JSON.stringify(e.outputs.tty.length > 40 ? e.outputs.tty.slice(0, 40) + '…' : e.outputs.tty)}`)
  if (e.outputs.logs) parts.push(`${e.outputs.logs.length} log line${e.outputs.logs.length === 1 ? '' : 's'}`)
  return parts.join('  ') + '\n'
}
