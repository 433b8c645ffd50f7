// `loom query DB EXPR`: the events of a branch after which a predicate over
// the state and the event held, grep-like (0 found, 1 none, 2 bad input).
import { existsSync } from 'node:fs'
import { SqliteLog, LogFormatError } from '../replay/sqliteLog.ts'
import { queryBranch, type QueryResult } from '../replay/query.ts'
import type { Parsed } from './args.ts'
import { plural, type Io } from './main.ts'
import { HistoryError } from './historyError.ts'
import { spawnedEvaluator } from '../host/evaluatorSpawn.ts'

export const QUERY_HELP = `loom query DB EXPR [--branch B] [--from S] [--to S] [--first] [--limit N] [--time-limit MS] [--json]

  The events of branch B (default: the live one) after which EXPR is truthy, in order:
  its number, its kind and method, and what EXPR gave when that was not true.

  EXPR is a JavaScript expression, evaluated after each event in a read-only sandbox:
    the state, by the names the cells declare and bind (accounts.get('bob'), refused.get(), $state.jobs.size()),
      with the read methods of the REPL (get, has, keys, values, entries, size, peek, items); writes fail;
    event, the event just committed:
      event.seq, event.kind (start step http gui edit code halt), event.method, event.time (ms since 1970),
      event.branch, event.input, event.choices ([{n, value}]), event.wrote (the states it changed),
      event.tty (what it wrote to sys.tty, or null), event.logs ([{channel, message}]),
      event.http ({method, path, query, body, status, response}, or null for an event that is not a request).
  Examples:
    loom query bank.loom.db "accounts.get('bob') < 0" --first
    loom query shop.loom.db "event.http && event.http.status >= 500"
    loom query jobs.loom.db "jobs.size()"                 lists the queue's size wherever it is not 0

  The state is rolled forward from the nearest snapshot by applying each event's writes (no cell code runs),
  and every event read is checked against the hash chain. --first stops at the first match; --limit N keeps N
  matches (default 1000) and counts the rest. An EXPR that throws at an event is reported for that event, with
  where in EXPR, and the query goes on; each batch of events has --time-limit MS (default 1000). EXPR runs
  in a process of its own with a heap limit (LOOM_EVAL_MEMORY_MB, default 256): one that uses more is stopped.

  exit codes: 0 some event matched, 1 none did, 2 bad input (EXPR does not parse, runs past the time limit or its memory,
  or threw at every event; the log is damaged where the query read)

loom replay DB --code NB --logs [--branch B] [--limit N] [--json]
  retroactive logging: what NB's current code (a sys.log or console.log line added to a cell) would have
  printed at every past event of B, writing nothing to the log; events whose writes or outputs came out
  differently are marked "diverged". See docs/questions.md.`

export async function queryCommand(p: Parsed, io: Io): Promise<number> {
  if (p.options.help) {
    io.out(QUERY_HELP + '\n')
    return 0
  }
  const path = p.args.db!
  if (!existsSync(path)) throw new LogFormatError(`${path}: no such log (a notebook's log is NAME.loom.db, written by loom run)`)
  const log = SqliteLog.open(path)
  // The expression runs in a process of its own with a heap limit (LOOM_EVAL_MEMORY_MB, default 256).
  const evaluator = spawnedEvaluator()
  try {
    const branch = (p.options.branch as string | undefined) ?? log.live
    if (!log.branchInfo(branch)) throw new HistoryError(`there is no branch '${branch}' in ${log.path} (loom branches ${log.path} lists them)`)
    const [from, to] = [p.options.from as number | undefined, p.options.to as number | undefined]
    if (from !== undefined && to !== undefined && from > to) throw new HistoryError(`--from ${from} --to ${to} is an empty range: --from is the first event to ask about, --to the last`)
    if (p.options.limit === 0) throw new HistoryError('--limit takes a whole number ≥ 1')
    const r = await queryBranch(log, p.args.expr!, {
      evaluator, branch, from, to, first: !!p.options.first, limit: p.options.limit as number | undefined, timeLimitMs: p.options['time-limit'] as number | undefined,
    })
    return report(r, log, p, io)
  } catch (err) {
    // The log's own errors (a branch, an event that is not there) are bad input, said as they are.
    if (err instanceof Error && err.constructor === Error) throw new HistoryError(err.message)
    throw err
  } finally {
    evaluator.end()
    log.db.close()
  }
}

function report(r: QueryResult, log: SqliteLog, p: Parsed, io: Io): number {
  const broken = r.evaluated > 0 && r.errorCount === r.evaluated
  const code = r.damage || broken ? 2 : r.count ? 0 : 1
  if (p.options.json) {
    io.out(JSON.stringify({ ok: code === 0, ...r }) + '\n')
    return code
  }
  const live = r.branch === log.live ? ' (live)' : ''
  const kept = r.matches.length < r.count ? ` (the first ${r.matches.length} of ${r.count}; --limit N shows more)` : ''
  io.err(`loom: branch '${r.branch}'${live}, events ${r.from}–${r.from + r.evaluated - 1}: ${r.count ? `${r.count} match${r.count === 1 ? '' : 'es'}` : 'no match'}${kept}\n`)
  io.out(r.matches.map((m) => `${`${String(m.seq).padStart(7)}  ${(m.method && m.method !== m.kind ? `${m.kind} ${m.method}` : m.kind).padEnd(12)}${'value' in m ? `  ${JSON.stringify(m.value)}` : ''}`.trimEnd()}\n`).join(''))
  for (const e of r.errors.slice(0, 5)) io.err(`loom: after event ${e.seq} the expression threw: ${e.message}${e.line ? ` (EXPR line ${e.line}, column ${e.column})` : ''}\n`)
  if (r.errorCount > 5) io.err(`loom: … it threw after ${plural(r.errorCount, 'event')} in all\n`)
  if (r.damage) io.err(`loom: ${log.path} is damaged: ${r.damage.message}: nothing after event ${r.damage.seq - 1} was asked; run loom replay ${log.path} --verify\n`)
  return code
}
