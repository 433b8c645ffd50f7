// The commands that read and shape a log: log, state, replay, fork, promote,
// branches, export, import. Each prints words for people and, with --json, data.
import { createWriteStream, existsSync } from 'node:fs'
import { SqliteLog, LogFormatError, LogDamageError } from '../replay/sqliteLog.ts'
import { takeWriterLock } from '../replay/writerLock.ts'
import { headsPath } from '../replay/dbPath.ts'
import { diffStates, nearestSnapshot, seek, type Moment, type State } from '../replay/seek.ts'
import { verifyBranch, describeDivergence } from '../replay/replay.ts'
import { startReplay } from './run.ts'
import { forkBranch, exportBranch, importBranch } from '../replay/branches.ts'
import type { Rerun } from '../replay/rerun.ts'
import type { EventRecord } from '../runtime/event.ts'
import type { BranchFailure } from '../replay/history/failures.ts'
import type { Parsed } from './args.ts'
import { plural, type Io } from './main.ts'
import { HistoryError } from './historyError.ts'
import { checkChain } from '../replay/damage.ts'
import type { RetroLogs } from '../replay/retroLog.ts'
import { printRetroLogs } from './retroLogs.ts'
import { describeChange, describeEvent, describeFailure, failuresOf, listFailures } from './logLines.ts'
import { rerunConfined } from './rerunConfined.ts'

export { HistoryError }

export async function history(p: Parsed, io: Io): Promise<number> {
  const path = p.args.db!
  // Reading commands never create a log: a wrong path is an error, not an empty history. Import may start one.
  const creating = p.command === 'import' && !existsSync(path)
  if (!existsSync(path) && !creating) throw new LogFormatError(`${path}: no such log (a notebook's log is NAME.loom.db, written by loom run)`)
  // A command that adds or relabels branches is a writer: refused while a loom run or serve writes the log (writerLock.ts).
  const unlock = writesBranches(p) ? takeWriterLock(path) : () => {}
  try {
    return await openAndRun(p, path, creating, io)
  } finally {
    unlock()
  }
}

/** fork, promote, import, branches --rename/--delete/--restore and replay --code --onto change the log's branches. */
function writesBranches(p: Parsed): boolean {
  if (p.command === 'fork' || p.command === 'promote' || p.command === 'import') return true
  if (p.command === 'branch' || p.command === 'branches') return p.options.rename !== undefined || p.options.delete !== undefined || p.options.restore !== undefined
  return p.command === 'replay' && p.options.onto !== undefined
}

async function openAndRun(p: Parsed, path: string, creating: boolean, io: Io): Promise<number> {
  let log: SqliteLog
  try {
    log = SqliteLog.open(path, { create: creating })
  } catch (err) {
    // A log whose every acknowledged event is gone (its WAL lost) cannot be opened; verify still names what is missing.
    if (!(err instanceof LogDamageError && p.command === 'replay' && p.options.verify)) throw err
    if (p.options.json) io.out(JSON.stringify({ ok: false, branch: (p.options.branch as string | undefined) ?? null, events: 0, failure: null, damage: err.damage }) + '\n')
    else for (const d of err.damage) io.err(`loom: verify failed: ${d.message}\n`)
    return 1
  }
  // Reading commands show what can be read, and say once that the log is damaged (verify says it in full).
  const damage = log.damageAtOpen
  if (damage.length && !(p.command === 'replay' && p.options.verify)) {
    io.err(`loom: ${path} is damaged: ${damage[0]!.message}${damage.length > 1 ? ` (and ${damage.length - 1} more)` : ''}; run loom replay ${path} --verify\n`)
  }
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
      if (p.options.failures) return listFailures(log, info().name, p.options.from as number | undefined, p.options.limit as number | undefined, json, io)
      const head = info().head
      const limit = (p.options.limit as number | undefined) ?? 50
      const from = (p.options.from as number | undefined) ?? Math.max(1, head - limit + 1)
      const events: EventRecord[] = []
      let unreadable: LogDamageError | null = null
      try {
        for (const e of log.iterate(branch, Math.max(1, from), Math.max(1, from) + limit - 1)) events.push(e)
      } catch (err) {
        if (!(err instanceof LogDamageError)) throw err
        unreadable = err
      }
      // The events shown are checked against the hash chain: a changed byte is said, not shown as history.
      const changed = events.length ? checkChain(log, branch, events[0]!.seq, events[events.length - 1]!.seq) : null
      // (Said once: opening the log may have found the same damage.)
      if (changed && !log.damageAtOpen.some((d) => d.message === changed.message)) io.err(`loom: ${log.path} is damaged: ${changed.message}; run loom replay ${log.path} --verify\n`)
      // Which branch, on stderr: the listing itself stays the same for whoever parses it.
      if (!json && events.length) io.err(`loom: branch '${branch}'${branch === log.live ? ' (live)' : ''}, events ${events[0]!.seq}–${events[events.length - 1]!.seq} of ${head}\n`)
      const failed = events.length ? failuresOf(log, branch, events[0]!.seq, events[events.length - 1]!.seq, io) : new Map<number, BranchFailure[]>()
      // Kept beside the events, outside their hashes: a request's latency, and what failed after an event.
      const latency = events.length ? new Map(log.latencies(branch, events[0]!.seq, events[events.length - 1]!.seq)) : new Map<number, number>()
      for (const e of events) if (latency.has(e.seq)) e.latency = latency.get(e.seq)!
      const listed = events.map((e) => (failed.has(e.seq) ? { ...e, failures: failed.get(e.seq)!.map(({ branch: _, seq: __, ...f }) => f) } : e))
      out(listed, events.map((e) => describeEvent(e) + (failed.get(e.seq) ?? []).map(describeFailure).join('')).join('') || `(no events on branch '${branch}' from ${from})\n`)
      // What could be read is shown; a listing cut short by damage is bad input (exit 2), with where it stopped.
      if (unreadable) io.err(`loom: ${unreadable.message}\n`)
      return unreadable || changed ? 2 : 0
    }
    case 'state': {
      const at = (p.options.at as number | undefined) ?? info().head
      const state = trustedState(log, { branch, seq: at }, io)
      if (!state) return 2
      const data = Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.value]))
      if (!json) io.err(`loom: branch '${branch}'${branch === log.live ? ' (live)' : ''} ${at === 0 ? 'at its start, before event 1' : `after event ${at}`}\n`)
      out(data, Object.entries(state).map(([k, v]) => `${k} (${v.kind}) = ${JSON.stringify(v.value)}\n`).join('') || noState(log, branch, at))
      return 0
    }
    case 'diff': {
      const [a, b] = [momentOf(log, p.args.from!), momentOf(log, p.args.to!)]
      const [before, after] = [trustedState(log, a, io), trustedState(log, b, io)]
      if (!before || !after) return 2
      const changes = diffStates(before, after)
      if (!json) io.err(`loom: from branch '${a.branch}' after event ${a.seq} to branch '${b.branch}' after event ${b.seq}\n`)
      out(changes, changes.map(describeChange).join('') || '(no change)\n')
      return 0
    }
    case 'replay': {
      // A branch the heads record acknowledged but the log lost entirely: verify names it (exit 1).
      const lost = log.branchInfo(branch) ? [] : log.damageAtOpen.filter((d) => d.branch === branch)
      if (lost.length && p.options.verify) {
        if (json) io.out(JSON.stringify({ ok: false, branch, events: 0, failure: null, damage: lost }) + '\n')
        else for (const d of lost) io.err(`loom: verify failed: ${d.message}\n`)
        return 1
      }
      const b = info()
      const code = p.options.code as string | undefined
      if (p.options.limit !== undefined && !p.options.logs) throw new HistoryError('--limit goes with --logs (how many events that logged to show)')
      if (p.options.logs) {
        if (!code) throw new HistoryError('--logs shows what a notebook\'s current code would have logged: give it with --code NB')
        const r = await rerunConfined(log, branch, code, null, io, p.options['time-limit'] as number | undefined, { limit: (p.options.limit as number | undefined) ?? 1000 })
        return printRetroLogs(r as RetroLogs, code, json, io)
      }
      if (code) {
        // Kept as a branch only when asked for by name: a question ("would the new code do the same?") leaves nothing behind.
        const keep = p.options.onto as string | undefined
        // Not kept (no --onto): re-run in memory, nothing written — safe beside a loom serve that writes the log.
        const onto = keep ?? null
        const r = await rerunConfined(log, branch, code, onto, io, p.options['time-limit'] as number | undefined) as Rerun
        const where = keep ? ` onto branch '${onto}'` : ''
        const text = r.first
          ? `loom: re-ran ${r.inputs} recorded transactions of '${branch}' with ${code}${where}: ${r.diverged} came out differently; the first is event ${r.first.seq} (${r.first.kind}${keep && r.first.now && r.first.now !== r.first.seq ? `; event ${r.first.now} of '${onto}'` : ''}): ${r.first.what}\n`
          : `loom: re-ran ${r.inputs} recorded transactions of '${branch}' with ${code}${where}: every outcome is the same\n`
        out({ ...r, branch: keep ?? null }, keep ? text : `${text}loom: (not kept; --onto NAME keeps the re-run as a branch to scrub)\n`)
        return 0
      }
      const verify = !!p.options.verify
      const [from, to] = [p.options.from as number | undefined, p.options.to as number | undefined]
      if (from !== undefined && to !== undefined && from > to) throw new HistoryError(`--from ${from} --to ${to} is an empty range: --from is the first event to replay, --to the last`)
      const t0 = performance.now()
      // The cells re-execute in a confined process (DESIGN §9); the hash chain is checked here.
      const timeLimitMs = p.options['time-limit'] as number | undefined
      const confined = startReplay(log, branch, io, timeLimitMs)
      let r: Awaited<ReturnType<typeof verifyBranch>>
      try {
        r = await verifyBranch(log, branch, { from: p.options.from as number | undefined, to: p.options.to as number | undefined, timeLimitMs, replayer: confined.replayer })
      } finally {
        await confined.stop()
      }
      const seconds = (performance.now() - t0) / 1000
      const heads = log.headsAtOpen === 'missing' ? `${log.path} has no record of acknowledged events (${headsPath(log.path)}; an older Loom wrote the log, or the record was removed): a lost WAL cannot be detected` : null
      const acked = log.acknowledgedAtOpen(branch)
      const data = { ok: r.ok, branch, events: r.events, head: b.head, failure: r.failure, damage: r.damage, heads: log.headsAtOpen, acknowledged: acked, eventsPerSecond: Math.round(r.events / Math.max(seconds, 1e-3)) }
      if (json) io.out(JSON.stringify(data) + '\n')
      else {
        if (heads && b.head > 0) io.err(`loom: note: ${heads}\n`)
        if (r.ok) io.out(`loom: replayed ${plural(r.events, 'event')} of branch '${branch}': every event re-executed exactly as logged, hash chain intact${acked === null ? '' : `, every acknowledged event present (up to ${acked}, record in ${headsPath(log.path)})`}\n`)
        if (r.failure) io.err(`loom: ${verify ? 'verify failed' : 'replay differs'} at ${describeDivergence(log.getCode(firstCodeHash(log, branch))?.path ?? log.path, r.failure)}\n`)
        // Damage found at open the scan above does not repeat (acknowledged events missing, a damaged record).
        for (const d of r.damage) if (!(r.failure && d.seq === r.failure.seq)) io.err(`loom: ${verify ? 'verify failed' : 'damaged'}: ${d.message}\n`)
        // Damage elsewhere in the log is not this branch's, but is said (verify each branch with --branch).
        const elsewhere = log.damageAtOpen.filter((d) => !r.damage.includes(d))
        for (const d of elsewhere) io.err(`loom: note: another branch is damaged: ${d.message}\n`)
      }
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
    case 'branch':
    case 'branches':
      return branches(p, log, out)
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
      // Into a log that had no history: the imported branch is the one a run continues.
      const live = log.branchInfo(log.live)?.head === 0
      if (live) log.promote(b.name)
      out({ ...b, live }, `loom: imported branch '${b.name}' (${plural(b.head, 'event')}, every hash checked)${live ? '; it is the live branch' : ''}\n`)
      return 0
    }
  }
  throw new HistoryError(`unknown command ${p.command}`)
}

/**
 * `loom branches DB`: the list, or a person's rename (a label: the stored name
 * is in every event's hash), delete (an archive: acknowledged events are never
 * erased) or restore. Names as people see them: a label where there is one.
 */
function branches(p: Parsed, log: SqliteLog, out: (data: unknown, text: string) => void): number {
  const [from, to] = (p.options.rename as [string, string] | undefined) ?? []
  const del = p.options.delete as string | undefined
  const restore = p.options.restore as string | undefined
  if ([from, del, restore].filter((x) => x !== undefined).length > 1) throw new HistoryError('loom branches takes one of --rename, --delete and --restore at a time')
  if (from !== undefined && to !== undefined) {
    const b = log.renameBranch(from, to)
    out({ name: b.name, label: b.label ?? b.name }, `loom: branch '${from}' is now called '${to}'${b.name !== to ? ` (its events keep the name '${b.name}' their hashes include)` : ''}\n`)
    return 0
  }
  if (del !== undefined) {
    const b = log.archiveBranch(del)
    const own = b.head - b.forkSeq
    out({ deleted: del, name: b.name, archived: true, events: own },
      `loom: deleted branch '${del}': archived, not erased — ${own ? `the log keeps its ${plural(own, 'event')} and replay --verify still checks ${own === 1 ? 'it' : 'them'}` : 'it has no events of its own'}; loom branches ${log.path} --restore ${del} brings it back\n`)
    return 0
  }
  if (restore !== undefined) {
    const b = log.restoreBranch(restore)
    out({ restored: restore, name: b.name }, `loom: restored branch '${restore}'\n`)
    return 0
  }
  const live = log.live
  const all = log.branches()
  const called = (name: string) => all.find((b) => b.name === name)?.label ?? name
  const list = all.filter((b) => !b.archived || b.name === live).map((b) => ({ ...b, live: b.name === live }))
  const archived = all.filter((b) => b.archived && b.name !== live)
  out(list, list.map((b) => `${b.live ? '*' : ' '} ${called(b.name)}  ${plural(b.head, 'event')}${b.parent ? `, forked from '${called(b.parent)}' at ${b.forkSeq}` : ''}${b.label ? ` (stored as '${b.name}')` : ''}\n`).join('')
    + (archived.length ? `  (archived: ${archived.map((b) => called(b.name)).join(', ')}; --restore NAME brings one back)\n` : ''))
  return 0
}

function firstCodeHash(log: SqliteLog, branch: string): string {
  try {
    return log.event(branch, 1)?.codeHash ?? ''
  } catch {
    return '' // the first event cannot be read: the failure says so
  }
}

/**
 * The state after event `at.seq` of `at.branch`, rebuilt from the log; the
 * events it was rebuilt from (after the nearest snapshot) are checked against
 * the hash chain first. Null, said on stderr, when they do not match.
 */
function trustedState(log: SqliteLog, at: Moment, io: Io): State | null {
  const state = seek(log, at)
  const since = at.seq > 0 ? (nearestSnapshot(log, at)?.seq ?? 0) + 1 : 1
  const changed = since <= at.seq ? checkChain(log, at.branch, since, at.seq) : null
  if (!changed) return state
  io.err(`loom: ${log.path} is damaged: ${changed.message}: the state after event ${at.seq} of branch '${at.branch}' cannot be trusted; run loom replay ${log.path} --verify\n`)
  return null
}

/** `SEQ` (on the live branch) or `BRANCH@SEQ`, as `loom diff` takes a moment. */
function momentOf(log: SqliteLog, text: string): Moment {
  const m = /^(?:(.+)@)?(\d+)$/.exec(text)
  if (!m) throw new HistoryError(`'${text}' is not a moment: give an event number (12, on the live branch) or BRANCH@SEQ (what-if@3)`)
  const info = log.branchInfo(m[1] ?? log.live)
  if (!info) throw new HistoryError(`there is no branch '${m[1]}' in ${log.path} (loom branches ${log.path} lists them)`)
  return { branch: info.name, seq: Number(m[2]) }
}

/**
 * Why a moment has no state. Event 0 is the log's start: nothing has run yet,
 * not even the code event that declares the states (with their initial
 * values), so the answer points at event 1.
 */
function noState(log: SqliteLog, branch: string, at: number): string {
  if (at !== 0) return '(no state)\n'
  const first = log.branchInfo(branch)!.head >= 1 ? log.event(branch, 1) : null
  if (!first) return `(no state: branch '${branch}' has no events yet)\n`
  const what = first.kind === 'code' ? 'the code event that declares the states, with their initial values' : `a ${first.kind} event`
  return `(no state: event 0 is the start of the log, before anything ran; event 1 is ${what} — loom state ${log.path} --at 1 shows the state after it)\n`
}
