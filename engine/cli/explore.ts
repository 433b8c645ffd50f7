// `loom explore NB`: every state the app can reach, every test checked in
// each, and for each failure the shortest way there — printed in the user's
// words, or saved as a branch of the log to debug like real history. The
// cells run in a confined process (DESIGN §9, engine/host/runProcess.ts):
// this one keeps the log, reads the moment to explore from, and writes a
// saved trace's events after checking them.
import { readFile } from 'node:fs/promises'
import { writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { formatLocation } from '../runtime/compile.ts'
import { compileCellsNatively } from '../runtime/transformCell.ts'
import { decodeNotebook, parseNotebook } from '../runtime/notebook.ts'
import type { Json } from '../runtime/values.ts'
import { prepareMoment, type PreparedMoment } from '../replay/prepareMoment.ts'
import type { ExploreResult, Violation } from '../replay/explore.ts'
import type { Coverage } from '../replay/coverage.ts'
import { describeChoices, describeMove, traceFailure, type TraceStep } from '../replay/trace.ts'
import type { ChoiceTree } from '../replay/choiceTree.ts'
import { writeBranch } from '../replay/writeBranch.ts'
import { SqliteLog, type BranchInfo } from '../replay/sqliteLog.ts'
import { takeWriterLock } from '../replay/writerLock.ts'
import { defaultDbPath } from '../replay/session.ts'
import { HistoryError } from './history.ts'
import { confinedJob, JobFailed } from './run.ts'
import { parseFaults } from '../replay/effectOutcomes.ts'
import { GRAPH_STATES, readExploreGraph, readGraphPath } from '../protocol/exploreGraph.ts'
import { graphDot } from './graphDot.ts'
import { engineMemoryMb } from '../host/engineLaunch.ts'
import type { RunJob } from '../host/runProcess.ts'
import type { Parsed } from './args.ts'
import type { Io } from './main.ts'

export async function exploreCommand(p: Parsed, io: Io): Promise<number> {
  const path = p.args.notebook!
  const text = decodeNotebook(await readFile(path), path)
  const source = p.options.from as string | undefined
  if (!source && (p.options.branch !== undefined || p.options.at !== undefined)) throw new HistoryError('--branch and --at choose a moment of a log: give the log with --from DB')
  // --save-branch writes the log: refused at once, naming the holder, while a loom run or serve writes it (writerLock.ts).
  const unlock = p.options['save-branch'] !== undefined ? takeWriterLock(source ?? (p.options.db as string | undefined) ?? defaultDbPath(path)) : () => {}
  let log: SqliteLog | null = null
  try {
    log = source ? SqliteLog.open(source, { create: false }) : null
    const timeLimitMs = p.options['time-limit'] as number | undefined
    // The log stays here: the confined process gets the moment, read (DESIGN §9).
    let from: PreparedMoment | null = null
    if (log) {
      const branch = (p.options.branch as string | undefined) ?? log.live
      const info = log.branchInfo(branch)
      if (!info) throw new HistoryError(`${source} has no branch '${branch}'`)
      from = prepareMoment(log, { branch, seq: (p.options.at as number | undefined) ?? info.head })
    }
    // Compiled here by native esbuild (as loom serve does for its engine): the confined process and its threads would start it as WebAssembly.
    const cells = await compileCellsNatively(parseNotebook(text, path)).catch(() => [])
    const workers = threadsFor((p.options.workers as number | undefined) ?? 1, io)
    const bounds = { depth: p.options.depth as number | undefined, maxStates: p.options['max-states'] as number | undefined, requests: p.options.requests as number | undefined }
    for (const [flag, n] of [['--depth', bounds.depth], ['--max-states', bounds.maxStates]] as const) {
      if (n !== undefined && !(n >= 1 && Number.isSafeInteger(n))) throw new HistoryError(`${flag} ${n}: give a whole number of at least 1`)
    }
    if (bounds.requests !== undefined && !Number.isSafeInteger(bounds.requests)) throw new HistoryError(`--requests ${bounds.requests}: give how many requests clients() may send along one trace, a whole number (default 3)`)
    const faults = p.options.faults === undefined ? undefined : parseFaults(p.options.faults as string)
    if (typeof faults === 'string') throw new HistoryError(faults)
    const simulate = simulation(p, workers)
    const coverage = !!p.options.coverage
    if (coverage && (workers > 1 || p.options.tree)) throw new HistoryError(`--coverage counts the lines exploration runs on one thread: leave out ${workers > 1 ? '--workers' : '--tree'}`)
    const graphFile = p.options.graph as string | undefined
    if (graphFile !== undefined && (workers > 1 || p.options.tree || simulate)) throw new HistoryError(`--graph draws the whole state graph, found on one thread: leave out ${workers > 1 ? '--workers' : p.options.tree ? '--tree' : '--simulate'}`)
    // The cells run in a confined process, its shards on threads there (they share its confinement).
    const job: RunJob = {
      ...JOB, kind: 'explore', notebook: path, text, shownAs: path, timeLimitMs, env: p.env,
      explore: { from, tree: !!p.options.tree, ...bounds, ...frontierBytes(), ...(faults ? { faults } : {}), workers, cells, deadlock: !p.options['no-deadlock'], simulate, coverage, draw: graphFile !== undefined, progress: process.stderr.isTTY ? 'tty' : 'lines' },
    }
    const answer = checkedAnswer(await confinedJob(job, io, { threads: workers > 1, stoppable: !p.options.tree, scratch: true }).catch((err) => rethrow(err, path)), !!p.options.tree)
    if ('tree' in answer) return tree(answer.tree, p, io)
    const { result } = answer
    const violations = result.violations.map((v, i) => ({ ...v, steps: answer.steps[i]! }))
    let saved: { branch: string; db: string; events: [number, number]; violation: number } | null = null
    const name = p.options['save-branch'] as string | undefined
    // Which violation to save, as numbered in the report or by its test's name (the first found is often a deadlock, not the test in question).
    const pick = name && violations.length ? pickViolation(p.options.violation as string | undefined, violations) : 1
    if (name && violations.length) {
      const target = log ?? SqliteLog.open((p.options.db as string | undefined) ?? defaultDbPath(path))
      try {
        const before = from?.seq ?? 0
        const info = await saveConfined(target, name, { ...job, kind: 'trace', explore: undefined, trace: { from, moves: violations[pick - 1]!.trace, cells, failure: traceFailure(violations[pick - 1]!) } }, io).catch((err: Error) => {
          throw new HistoryError(`cannot save the trace as branch '${name}': ${err.message}`)
        })
        saved = { branch: name, db: target.path, events: [before + 1, info.head], violation: pick }
      } finally {
        if (target !== log) target.close()
      }
    }
    if (graphFile !== undefined) io.err(writeGraph(graphFile, result) + '\n')
    if (p.options.json) {
      const json = {
        states: result.states, transitions: result.transitions, depth: result.depth, exhausted: result.exhausted, stoppedBy: result.stoppedBy, ...(result.walks ? { walks: result.walks } : {}),
        ...(result.coverage ? { coverage: result.coverage } : {}),
        deadlocks: result.deadlocks, outside: result.outside ?? 0, elapsedMs: Math.round(result.elapsedMs), unexplored: result.unexplored,
        ...(Number.isSafeInteger(result.spilled) ? { spilled: result.spilled } : {}),
        violations: violations.map((v) => ({ kind: v.kind, test: v.test, message: v.message, location: v.location, trace: v.steps, failing: v.failing, ...(v.loop !== undefined ? { loop: v.loop } : {}) })),
        savedBranch: saved,
      }
      io.out(JSON.stringify(json) + '\n')
    } else {
      io.out(summary(path, from, result) + '\n')
      for (const u of result.unexplored) io.out(`  did not explore: ${u}\n`)
      if (result.coverage) io.out(coverageWords(path, result.coverage))
      violations.forEach((v, i) => io.out('\n' + (violations.length > 1 ? `[${i + 1}] ` : '') + describeViolation(path, v, v.steps, from?.last?.time ?? 0) + '\n'))
      if (saved) {
        io.out(`\nsaved violation ${saved.violation} of ${violations.length} as branch '${saved.branch}' of ${saved.db} (events ${saved.events[0]}..${saved.events[1]})${violations.length > 1 ? '; --violation N saves another' : ''}:\n`)
        io.out(`  loom log ${saved.db} --branch ${saved.branch}\n  loom replay ${saved.db} --branch ${saved.branch} --verify\n`)
      } else if (name) io.out(`\nnothing to save as '${name}': no violation was found\n`)
    }
    return exitCode(result)
  } finally {
    log?.close()
    unlock()
  }
}

/**
 * 1: a violation was found. 3: none was, but exploration did not cover
 * everything the app could meet (a bound stopped it, or it takes inputs
 * exploration did not give it), so "no violation" is not a proof. 0: every
 * reachable state was checked and none fails.
 */
export function exitCode(r: ExploreResult): number {
  if (r.violations.length) return 1
  return r.exhausted && !r.unexplored.length ? 0 : 3
}

/**
 * LOOM_FRONTIER_BYTES: how big a level may grow in memory before the rest goes to a file in the
 * confined process's own folder (default 1 GB: frontier.ts) — to try spilling on a small model.
 */
function frontierBytes(): { frontierBytes?: number } {
  const n = Number(process.env.LOOM_FRONTIER_BYTES)
  return process.env.LOOM_FRONTIER_BYTES && Number.isSafeInteger(n) && n > 0 ? { frontierBytes: n } : {}
}

/** `--simulate [--seed N] [--walks N]`: random walks instead of every state (one thread). */
/**
 * --workers W, at most one thread per core: a thread per state shard beyond that only slows the search,
 * and each has a heap of its own (--workers 999 would start 999 engines and fill the machine's memory).
 */
function threadsFor(asked: number, io: Io): number {
  if (asked < 1) throw new HistoryError(`--workers ${asked}: give the number of threads to explore on, 1 or more`)
  const cores = availableParallelism()
  if (asked <= cores) return asked
  io.err(`loom: --workers ${asked}: this machine runs ${cores} thread${cores === 1 ? '' : 's'} at once; exploring on ${cores}\n`)
  return cores
}

function simulation(p: Parsed, workers: number): { seed: number; walks: number } | undefined {
  const seed = p.options.seed as number | undefined
  const walks = p.options.walks as number | undefined
  if (!p.options.simulate) {
    if (seed !== undefined || walks !== undefined) throw new HistoryError('--seed and --walks go with --simulate (random walks instead of every state)')
    return undefined
  }
  if (workers > 1 || p.options.tree) throw new HistoryError(`--simulate walks on one thread and explores no tree: leave out ${workers > 1 ? '--workers' : '--tree'}`)
  if (walks !== undefined && !(walks >= 1 && Number.isSafeInteger(walks))) throw new HistoryError(`--walks ${walks}: give a whole number of at least 1`)
  if (seed !== undefined && seed > 0xffffffff) throw new HistoryError(`--seed takes a whole number below 2^32, got ${seed}`)
  return { seed: seed ?? 1, walks: walks ?? 1000 }
}

/** What every job of this command leaves at its default. */
const JOB = { env: {}, args: [], json: false, untilIdle: false, watch: false, serving: false } satisfies Partial<RunJob>

/**
 * The confined process's answer, checked for shape before it is used: what it
 * says is the search's outcome as that process tells it (a trace saved from
 * it is run again confined, and its events checked by the log host).
 */
function checkedAnswer(v: unknown, tree: boolean): { tree: ChoiceTree } | { result: ExploreResult; steps: TraceStep[][] } {
  const bad = () => new Error('the exploring process gave a malformed answer')
  if (typeof v !== 'object' || v === null) throw bad()
  const a = v as { tree?: ChoiceTree; result?: ExploreResult; steps?: TraceStep[][] }
  if (tree) {
    if (typeof a.tree !== 'object' || a.tree === null || !Array.isArray(a.tree.outcomes)) throw bad()
    return { tree: a.tree }
  }
  const r = a.result
  const counts = r && [r.states, r.transitions, r.depth, r.deadlocks, r.elapsedMs].every((n) => typeof n === 'number' && n >= 0)
  if (!r || !counts || !Array.isArray(r.violations) || !Array.isArray(a.steps) || a.steps.length !== r.violations.length) throw bad()
  const moves = (m: unknown) => Array.isArray(m) && m.every((x) => typeof x === 'object' && x !== null && typeof (x as { method?: unknown }).method === 'string' && Array.isArray((x as { choices?: unknown }).choices))
  const loop = (x: Violation) => x.loop === undefined || (Number.isSafeInteger(x.loop) && x.loop >= 0 && x.loop <= x.trace.length)
  if (!r.violations.every((x) => typeof x === 'object' && x !== null && typeof x.test === 'string' && typeof x.message === 'string' && moves(x.trace) && loop(x)) || !a.steps.every(moves)) throw bad()
  return { result: r, steps: a.steps }
}

/** `--graph FILE`: the state graph in DOT when it is small enough to draw (checked: it crossed from the confined process), or why not. */
function writeGraph(file: string, result: ExploreResult): string {
  if (result.graph === null) return `loom: ${result.states.toLocaleString('en')} states: too many to draw (at most ${GRAPH_STATES}); ${file} was not written — the report has the counterexample`
  const read = readExploreGraph(result.graph)
  if (!read.ok) return `loom: the state graph cannot be drawn: ${read.why}; ${file} was not written`
  const drawn = result.violations.flatMap((v) => {
    const path = readGraphPath(read.graph, v.path)
    return path ? [{ kind: v.kind, test: v.test, path, ...(v.loop !== undefined ? { loop: v.loop } : {}) }] : []
  })
  try {
    writeFileSync(file, graphDot(read.graph, drawn))
  } catch (err) {
    // Said, not thrown: the exploration's report (its counterexample, maybe hours of work) still follows.
    return `loom: cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the state graph was not written — the report has the exploration's verdict`
  }
  return `loom: the state graph (${read.graph.nodes.length} states, ${read.graph.edges.length} pairs joined by moves) is in ${file}: dot -Tsvg ${file} > graph.svg draws it`
}

/** A job's failure as the command gave it when it ran here: bad input (exit 2) as such. */
function rethrow(err: unknown, path: string): never {
  if (!(err instanceof JobFailed)) throw err
  if (err.kind === 'input') throw new HistoryError(err.message)
  if (err.kind === 'nondeterminism') throw new HistoryError(`${path}: ${err.message}`)
  if (err.kind === 'range') throw new RangeError(err.message)
  throw new Error(err.message)
}

/**
 * `--save-branch`: the trace's events are made by running its moves again —
 * in a confined process, onto a branch made here for them (forked at the
 * moment explored from, or a new root); its commits are checked and written
 * here. Nothing half-made stays behind.
 */
async function saveConfined(log: SqliteLog, name: string, job: RunJob, io: Io): Promise<BranchInfo> {
  if (log.branchInfo(name)) throw new Error(`${log.path} already has a branch '${name}'; choose another name`)
  const from = job.trace!.from
  try {
    await writeBranch(log, name, from ? { branch: from.branch, seq: from.seq } : null, (branch) => confinedJob(job, io, { log: branch }))
    return log.branchInfo(name)!
  } catch (err) {
    throw err instanceof JobFailed ? new Error(err.message) : err
  }
}

function summary(path: string, moment: PreparedMoment | null, r: ExploreResult): string {
  const from = moment ? `from event ${moment.seq} of branch '${moment.branch}'` : 'from the start'
  const rate = r.elapsedMs > 0 ? `, ${Math.round((r.states / r.elapsedMs) * 1000).toLocaleString('en')} states/s` : ''
  const scope = r.exhausted
    ? r.unexplored.length > (r.outside ? 1 : 0) ? `every state reachable with the inputs explored — not every input the app takes (below)`
      : r.outside ? 'every reachable state within the constraints (below)' : 'every reachable state'
    : r.stoppedBy === 'states' ? `stopped at the state bound (--max-states ${r.states}): not every state was explored`
    : r.stoppedBy === 'depth' ? `stopped at the depth bound (--depth ${r.depth}): states further away were not explored`
    : r.stoppedBy === 'walks' && r.walks ? `${count(r.walks.walks, 'random walk')} of at most ${r.walks.depth} moves (--seed ${r.walks.seed} repeats them): a sample, not every state`
    : r.stoppedBy === 'memory' ? `stopped near its memory limit of ${engineMemoryMb()} MB (LOOM_ENGINE_MEMORY_MB=N raises it; --max-states N stops sooner): this is what it found so far, not every state was explored`
    : r.stoppedBy === 'stopped' ? 'stopped before the end (Ctrl-C or SIGTERM): this is what it found so far, not every state was explored'
    : 'some transaction had more choice sequences than could be tried: not every state was explored'
  const found = r.violations.length ? `${r.violations.length} violation${r.violations.length === 1 ? '' : 's'}` : 'no violation'
  return `explored ${path} ${from}: ${count(r.states, 'state')}, ${count(r.transitions, 'transition')}, depth ${r.depth} — ${scope} (${(r.elapsedMs / 1000).toFixed(2)} s${rate}); ${found}`
}

/** `--coverage` in words: the lines run in all, then each cell's, naming the lines that never ran. */
function coverageWords(path: string, cells: Coverage[]): string {
  const lines = cells.reduce((n, c) => n + c.lines, 0)
  const run = cells.reduce((n, c) => n + c.run, 0)
  const out = [`coverage: ${run} of ${count(lines, 'line')} with statements ran (${lines ? Math.floor((run / lines) * 100) : 100}%)`]
  for (const c of cells) {
    const missed = c.missed.length ? ` — never ran: ${c.missed.length === 1 ? 'line' : 'lines'} ${ranges(c.missed)}` : ''
    const partly = c.partly.length ? `${missed ? ';' : ' —'} partly (a statement on it never ran): ${c.partly.length === 1 ? 'line' : 'lines'} ${ranges(c.partly)}` : ''
    out.push(`  #${c.cell}: ${c.run}/${c.lines}${missed}${partly}`)
  }
  if (cells.some((c) => c.missed.length || c.partly.length)) out.push(`  (lines of each cell, as in ${path}'s error messages)`)
  return out.join('\n') + '\n'
}

/** `3, 7-9, 12`. */
function ranges(lines: number[]): string {
  const out: string[] = []
  for (let i = 0; i < lines.length; i++) {
    let j = i
    while (j + 1 < lines.length && lines[j + 1] === lines[j]! + 1) j++
    out.push(j > i ? `${lines[i]}-${lines[j]}` : String(lines[i]))
    i = j
  }
  return out.join(', ')
}

/** `1 state`, `14 states`, `1,321,761 states`. */
function count(n: number, word: string): string {
  return `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`
}

function describeViolation(path: string, v: Violation, steps: TraceStep[], start: number): string {
  const where = v.location ? ` (${formatLocation(path, v.location)})` : ''
  // The clock moving on, tty input typed and the world answering an effect are moves too, but no transactions of the app.
  const word = steps.every((s) => s.method !== 'clock' && s.method !== 'tty' && s.method !== 'effect') ? 'transaction' : 'move'
  const after = steps.length === 0 ? 'in the starting state' : `after ${steps.length} ${word}${steps.length === 1 ? '' : 's'}`
  const head =
    v.kind === 'test' ? `✗ test '${v.test}' fails ${after}${where}: ${v.message}`
    : v.kind === 'deadlock' ? `✗ deadlock ${after}: ${v.message}`
    : v.kind === 'liveness' ? `✗ property '${v.test}' fails${where}: ${v.message}`
    : `✗ ${v.test.replace(/ runs.*/, '')} fails ${after}${where}: ${v.message}`
  const lines = [head]
  steps.forEach((s, i) => {
    if (i === v.loop) lines.push(`  from here on, for ever:`)
    lines.push(`  ${i + 1}. ${s.label}${s.choices.length ? `  choices: ${describeChoices(s.choices)}` : ''}`)
    for (const c of s.changes) lines.push(`       ${c.state}: ${show(c.before)} → ${show(c.after)}`)
    if (s.tty) lines.push(`       tty: ${JSON.stringify(s.tty)}`)
  })
  if (v.loop !== undefined) {
    lines.push(v.loop === steps.length ? '  then nothing can move: it stays in this state for ever' : `  and back to ${v.loop ? `the state after move ${v.loop}` : 'the start'}, round the same cycle for ever`)
  }
  if (v.failing) lines.push(`  then ${describeMove(v.failing, start)}${v.failing.choices.length ? ` with choices ${describeChoices(v.failing.choices)}` : ''} fails`)
  return lines.join('\n')
}

/** `--tree`: the distinct outcomes of the next transaction. */
function tree(t: ChoiceTree, p: Parsed, io: Io): number {
  if (p.options.json) {
    io.out(JSON.stringify(t) + '\n')
    return 0
  }
  io.out(`${t.method}() has ${t.outcomes.length} distinct outcome${t.outcomes.length === 1 ? '' : 's'} over ${t.sequences} choice sequence${t.sequences === 1 ? '' : 's'}${t.complete ? '' : ' (not all were tried)'}:\n`)
  t.outcomes.forEach((o, i) => {
    const how = o.choices.map((c) => describeChoices(c)).join(' | ')
    const what = o.committed ? 'commits' : o.failure!.aborted ? `waits: ${o.failure!.reason}` : `fails: ${o.failure!.reason}`
    io.out(`  ${i + 1}. ${what}  [${how}]\n`)
    for (const c of o.changes) io.out(`       ${c.state}: ${show(c.before)} → ${show(c.after)}\n`)
    for (const b of o.brokenTests) io.out(`       ✗ test '${b.test}': ${b.message}\n`)
  })
  return 0
}

function show(v: Json): string {
  const s = JSON.stringify(v)
  return s.length > 120 ? s.slice(0, 117) + '…' : s
}

/** `--violation`: K as the report numbers them, or the first violation of the test named so; the first by default. */
function pickViolation(asked: string | undefined, violations: readonly Violation[]): number {
  if (asked === undefined) return 1
  const found = `exploration found ${violations.length} violation${violations.length === 1 ? '' : 's'}`
  if (/^\d+$/.test(asked)) {
    const k = Number(asked)
    if (k < 1 || k > violations.length) throw new HistoryError(`--violation ${k}: ${found} (1..${violations.length})`)
    return k
  }
  const at = violations.findIndex((v) => v.test === asked)
  if (at >= 0) return at + 1
  const named = violations.map((v, i) => `${i + 1}: ${v.kind === 'test' ? `test '${v.test}'` : v.kind}`).join(', ')
  throw new HistoryError(`--violation '${asked}': no violation of a test named so; ${found} (${named})`)
}
