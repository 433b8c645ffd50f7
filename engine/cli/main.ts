// `loom` on the command line: a thin layer over the engine API.
// Exit codes (DESIGN §10): 0 ok, 1 a check failed, 2 bad usage or bad input.
// Each command's code is loaded when it runs: `loom serve` should not wait
// for the modules of `loom explore` (the UI's start-up time is measured).
import { parseArgs, UsageError, type Parsed } from './args.ts'
import { screened } from './printable.ts'

const USAGE = `loom — notebooks that run as transaction loops

usage:
  loom run NB [--db F] [--branch B] [--fresh] [--port P] [--sys-prefix /P] [--watch] [--no-fsync] [--steps N] [--until-idle] [--keep-going] [--time-limit MS] [--env K=V]... [--json] [-- ARGS...]
      run the app headless, logging to NAME.loom.db (or --db); a second run continues where it stopped;
      the notebook's tests are checked after each group commit: a failed one stops the run (--keep-going: it
      is said and the app runs on), and it, or a step that throws for good, exits 1
      (--fresh: from the initial state on a new live branch; the old one keeps its history);
      with --port (or http: in the front matter) its http() method serves 127.0.0.1:P (0: any free port),
      and GET /sys/{log,state,branches,attempts,events} show its history (--sys-prefix moves them);
      with --watch, saving the notebook live-codes the running app (a code event; a broken change is refused);
      --no-fsync acknowledges events once SQLite has them, without waiting for the disk (they survive a crash
      of Loom, not a power loss: like SQLite's synchronous=NORMAL)
  loom test NB [--steps N] [--json]
      load, run start, check every test (after each of N steps with --steps); writes no log
  loom log DB [--branch B] [--from S] [--limit N] [--failures] [--json]      list events (with the failed tests and
      errors recorded after each); --failures lists only those, as the live run recorded them (not verified)
  loom state DB [--branch B] [--at S] [--json]                  the state after an event (default: the head)
  loom diff DB A B [--json]                                        what changed in the state between two moments (SEQ or BRANCH@SEQ)
  loom profile DB [--branch B] [--sort total|mean|max|count|p50|p95] [--top N] [--json]
      how long each method of each cell ran across the branch's history: count, total, mean, p50, p95, max (ms)
  loom replay DB [--branch B] [--from S] [--to S] [--verify] [--time-limit MS] [--json]
      re-execute history with the code each event recorded; --verify exits 1 at the first difference
  loom replay DB --code NB [--branch B] [--onto N]
      re-run B's recorded transactions with NB's current code; report where outcomes diverge (--onto: keep the re-run as branch N)
  loom query DB EXPR [--branch B] [--from S] [--to S] [--first] [--limit N] [--time-limit MS] [--json]
      the events after which EXPR (over the state and \`event\`) held; exit 1 if none (loom query --help says more)
  loom replay DB --code NB --logs [--branch B] [--limit N] [--json]
      what NB's current code would have logged at every past event of B, writing nothing (retroactive logging)
  loom fork DB --at S [--from B] --name N                        a branch that shares history up to event S
  loom promote DB N                                              make branch N the live one
  loom branches DB [--rename A B | --delete N | --restore N] [--json]   (also: loom branch)
      list branches; rename (a label: events keep their hashes), delete (archived, restorable)
  loom export DB [--branch B] [--out FILE]                       a branch as portable JSON lines
  loom import DB FILE [--name N]                                 add an exported branch, verified
  loom explore NB [--from DB [--branch B] [--at S]] [--depth D] [--max-states M] [--requests N] [--faults timeout,refused,5xx,failed,lost|none] [--save-branch N [--violation K|TEST] [--db F]] [--workers W] [--env K=V] [--no-deadlock] [--simulate [--seed N] [--walks N]] [--tree] [--json]
      every state the app can reach (breadth first over every transaction, every choice, the clock moving to each
      awaited deadline, the inputs a log recorded after S in every order, and requests from the notebook's clients(),
      at most N along a trace, default 3), every test checked in each; exits 1 with the shortest trace to each failure,
      deadlock or error, 3 when none was found but the search was bounded or left inputs unexplored (it says which); --save-branch commits the first
      as a branch of the log (--violation: the K-th as numbered, or the first of the test named TEST); --tree shows the distinct outcomes of the next transaction instead; --workers W
      shares the states among W threads (on two cores it is slower than one: handing a state to another thread
      costs more than exploring it; npm run bench measures both); --no-deadlock does not report states where nothing can move;
      --env K=V sets sys.env as for loom run; --simulate takes N seeded random walks (default 1000) of at most --depth moves
      (default 100) instead of every state; --graph FILE.dot writes the state graph (at most 200 states) for Graphviz;
      progress goes to stderr every second, and Ctrl-C prints what was found so far
  loom check NB [--json]
      what the editor underlines in the notebook's cells (Loom's compile problems and TypeScript's type errors), each with its line and cell (exit 1 if any)
  loom serve NB [--port P] [--app-port P] [--db F] [--branch B] [--env K=V] [--share [--share-port P] | --sync URL]
      the notebook's UI for a browser at http://127.0.0.1:P/ (default: 4737, or the next free one, so the browser keeps its caches; 0: any free port); the app runs in an engine process,
      and its http() method serves 127.0.0.1 on --app-port (or http: in the front matter) as under loom run; --env K=V is what sys.env shows, as under loom run
  loom allow NB
      says what the notebook's effects: front matter lets it reach and allows it: loom run and loom serve perform a notebook's
      reads and actions only once you have (loom run asks at a terminal and refuses elsewhere; under loom serve they wait), and again when it changes

exit codes: 0 ok, 1 a check failed, 2 bad usage or bad input, 3 (explore) no violation found but not everything was explored`

export interface Io {
  out: (text: string) => void
  err: (text: string) => void
  stdin: NodeJS.ReadableStream | null
}

/** Set once whoever reads the output has stopped reading (`loom export DB | head -1`). */
let outClosed = false

const processIo: Io = {
  out: (t) => void (outClosed || process.stdout.write(t)),
  err: (t) => process.stderr.write(t),
  stdin: process.stdin,
}

/** A reader that stops early is not an error: say nothing more; an app that runs stops as on Ctrl-C. */
function onOutputClosed(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err
  if (outClosed) return
  outClosed = true
  if (process.listenerCount('SIGINT')) process.emit('SIGINT', 'SIGINT')
  else process.exit(0)
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  if (io === processIo && !process.stdout.listeners('error').includes(onOutputClosed)) process.stdout.on('error', onOutputClosed)
  let parsed: Parsed
  try {
    parsed = parseArgs(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`loom: ${err.message}\n\n${USAGE}\n`)
      return 2
    }
    throw err
  }
  if (parsed.command === 'help') {
    io.out(`${USAGE}\n`)
    return 0
  }
  try {
    switch (parsed.command) {
      case 'run':
        return await (await import('./run.ts')).runCommand(parsed, io)
      case 'test':
        return await (await import('./run.ts')).testCommand(parsed, io)
      case 'serve':
        // What it says quotes the log and the app (a damaged schema, a runtime error): never let drive the terminal.
        return await (await import('./serve.ts')).serveCommand(parsed, screened(io))
      case 'explore':
        return await (await import('./explore.ts')).exploreCommand(parsed, io)
      case 'query':
        return await (await import('./query.ts')).queryCommand(parsed, screened(io))
      case 'check':
        return await (await import('./check.ts')).checkCommand(parsed, io)
      case 'allow':
        return await (await import('./allow.ts')).allowCommand(parsed, io)
      case 'profile':
        return await (await import('./profile.ts')).profileCommand(parsed, screened(io))
      // What a log holds, printed: never let drive the terminal (printable.ts).
      default:
        return await (await import('./history.ts')).history(parsed, screened(io))
    }
  } catch (err) {
    // A message may quote what a file holds (SQLite quotes a damaged schema's text): it never drives the terminal.
    const shown = screened(io)
    if (await isBadInput(err)) {
      shown.err(`loom: ${(err as Error).message}\n`)
      return 2
    }
    const e = err as NodeJS.ErrnoException & { port?: number; option?: string }
    if (e.code === 'EADDRINUSE') {
      io.err(`loom: port ${e.port ?? ''} is in use; stop what uses it, or pick another with ${e.option ?? '--port'} (0: any free port)\n`)
      return 2
    }
    if (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'EACCES') {
      shown.err(`loom: cannot read ${e.path ?? parsed.args.notebook ?? parsed.args.file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}\n`)
      return 2
    }
    throw err
  }
}

/** The engine's errors that mean the input (notebook, log, arguments) is bad: exit 2 with the message. */
async function isBadInput(err: unknown): Promise<boolean> {
  // A LoomError (a notebook that does not parse, compile or load; a history command refused) or an unreadable log.
  const [{ LoomFailure }, { LogFormatError }] = await Promise.all([import('../protocol/loomError.ts'), import('../replay/sqliteLog.ts')])
  return err instanceof LoomFailure || err instanceof LogFormatError
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
