// `npm run bench -- [--json] [--quick] [--only S] [--base REV]`: Loom's committed step transactions
// per second on the counter sample, against a plain loop, Redux and Redux DevTools' recorder; then its durable
// log against plain SQLite, exploration, HTTP, effects, the window and the timeline. --base: before and after in one run.
import { fastest, perSecond, type Repeat } from './timing.ts'
import { instrumented, plainLoop, redux } from './baselines.ts'
import { counterSource, loom, loomPerCall } from './loom.ts'
import { toJson, toTable, type Figures } from './report.ts'
import { existsSync } from 'node:fs'
import { compareWithBase, BASE_SECTIONS, SECTIONS, type Section } from './baseline.ts'

const USAGE = `usage: npm run bench -- [--json] [--quick] [--only SECTIONS] [--base REV [--rounds N]]
  --json            the figures as JSON on stdout
  --quick           one repetition of each figure and smaller runs: rougher, a few times faster
  --only SECTIONS   measure only these, comma-separated: ${SECTIONS.join(',')} (default: all)
  --base REV        before and after in one run: checks REV out in a temporary git worktree (node_modules
                    linked, bundles built there), and measures the same quick figures — with this checkout's
                    bench code — in REV and here alternately, base head base head…, so that a change in the
                    machine's load falls on both; prints each figure's base, head, head ÷ base and spread
                    (default sections: ${BASE_SECTIONS.join(',')}; --only for others)
  --rounds N        runs of each side with --base (default 2: base head base head)
  --cpu             with --base: also each side's CPU time (user + system) for the steps and durable figures
                    (bench/cpuProbe.ts), which a loaded machine barely moves, unlike the wall figures`

const args = process.argv.slice(2)
const flags = new Set(['--json', '--quick', '--cpu', '--help', '-h'])
const valued = new Set(['--only', '--base', '--rounds'])
const options: Record<string, string> = {}
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!
  if (arg === '--help' || arg === '-h') {
    console.log(USAGE)
    process.exit(0)
  }
  if (valued.has(arg)) {
    const value = args[++i]
    if (value === undefined || value.startsWith('--')) usageError(`${arg} needs a value`)
    options[arg] = value!
  } else if (!flags.has(arg)) usageError(`unknown option ${arg}`)
}
function usageError(why: string): never {
  console.error(`${why}\n${USAGE}`)
  process.exit(2)
}
const json = args.includes('--json')
const only = options['--only']?.split(',').map((x) => x.trim()).filter(Boolean)
for (const x of only ?? []) if (!(SECTIONS as readonly string[]).includes(x)) usageError(`--only: there is no section '${x}'`)
const rounds = options['--rounds'] === undefined ? 2 : Number(options['--rounds'])
if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > 10) usageError('--rounds is a whole number from 1 to 10')
if (options['--base'] !== undefined) process.exit(await compareWithBase(options['--base'], { rounds, sections: only ?? BASE_SECTIONS, json, cpu: args.includes('--cpu') }))
const quick = args.includes('--quick')
const measuring = (section: Section) => !only || only.includes(section)

const SIZES = [1_000, 10_000, 20_000]
const HEADLINE = 200_000
const PLAIN_OPS = 10_000_000
const REDUX_OPS = HEADLINE
const reps = quick ? 1 : 5
const cheap: Repeat = { reps, budgetMs: 4_000 }
/** The full-history recorder at 20k actions takes seconds per run. */
const costly: Repeat = { reps: Math.min(reps, 3), budgetMs: 8_000 }

const progress = (what: string) => json || process.stderr.write(`  measuring ${what}…\n`)

/** The counter sample's figures: Loom's committed steps per second against a plain loop, Redux and its recorder. */
async function stepFigures(): Promise<Figures> {
  const { text, from } = await counterSource()

  // Warm-up: get every code path compiled before anything is timed.
  progress('warm-up')
  for (let i = 0; i < 3; i++) {
    plainLoop(PLAIN_OPS / 10)
    redux(20_000)
    instrumented(20_000, 50)
    instrumented(2_000, undefined)
    await loom(text, 20_000)
  }

  progress('plain loop, redux, redux + instrument (maxAge 50)')
  const plain = perSecond(PLAIN_OPS, await fastest(() => plainLoop(PLAIN_OPS), cheap))
  const bare = perSecond(REDUX_OPS, await fastest(() => redux(REDUX_OPS), cheap))
  const fifty = perSecond(REDUX_OPS, await fastest(() => instrumented(REDUX_OPS, 50), cheap))

  const instrumentFull: Record<string, number> = {}
  const loomOps: Record<string, number> = {}
  for (const size of SIZES) {
    progress(`redux + instrument (full history) and loom at ${size.toLocaleString('en-US')}`)
    instrumentFull[size] = perSecond(size, await fastest(() => instrumented(size, undefined), costly))
    loomOps[size] = perSecond(size, await fastest(() => loom(text, size), cheap))
  }
  progress(`loom at ${HEADLINE.toLocaleString('en-US')}`)
  loomOps[HEADLINE] = perSecond(HEADLINE, await fastest(() => loom(text, HEADLINE), { reps, budgetMs: 10_000 }))

  progress('loom with one time-limited call per step')
  const PER_CALL_OPS = 5_000
  const perCall = perSecond(PER_CALL_OPS, await fastest(() => loomPerCall(text, PER_CALL_OPS), cheap))

  return {
    sizes: SIZES,
    headline: HEADLINE,
    baselineOps: { plainLoop: PLAIN_OPS, redux: REDUX_OPS },
    reps,
    fullHistoryReps: costly.reps,
    source: from,
    loom: loomOps,
    plainLoop: plain,
    redux: bare,
    instrument50: fifty,
    instrumentFull,
    loomPerCall: perCall,
    perCallOps: PER_CALL_OPS,
  }
}

const chromium = existsSync('/usr/bin/chromium')
// Each section's code is loaded only when it is measured: with --base, this bench code measures an older
// checkout, whose engine may lack what a section it is not asked for needs (e.g. loom query).
const figures = measuring('steps') ? await stepFigures() : null
if (measuring('explore')) progress('exploration: philosophers, loom explore and a hand-written search')
const explore = measuring('explore') ? await import('./explore.ts') : null
const exploration = explore ? await explore.measureExplore(quick) : null
// PaxosCommit's 1.3 million states beside SPIN on the same model (skipped with a line when spin or gcc is absent).
const paxosBench = measuring('paxos') ? await import('./paxosCommit.ts') : null
const paxos = paxosBench ? paxosBench.measurePaxos(progress) : null
if (measuring('ui')) progress('desktop UI: loom serve to an editable notebook in Chromium, and an edit to the running app')
// The UI's figures need Debian's Chromium (apt-get install chromium); without it they are left out, and said so.
const uiBench = measuring('ui') && chromium ? await import('./ui.ts') : null
const ui = uiBench ? await uiBench.measureUi(quick ? { runs: 2, edits: 5 } : {}) : null
if (measuring('timeline')) progress('timeline: first paint of 1,000,000 events and frame times while zooming and panning, in Chromium')
const timelineBench = measuring('timeline') && chromium ? await import('./timeline.ts') : null
const timeline = timelineBench ? await timelineBench.measureTimeline(quick) : null
const durableBench = measuring('durable') ? await import('./durableBench.ts') : null
const durableReport = durableBench ? await import('./durableReport.ts') : null
const durable = durableBench ? await durableBench.measureDurable(quick, progress) : null
if (measuring('share')) progress('shared session: edit propagation between guests through the sync server, with 2 and 20 guests')
const shareBench = measuring('share') ? await import('./share.ts') : null
const share = shareBench ? await shareBench.measureShare([2, 20], quick ? 100 : 300) : null
if (measuring('http')) progress('HTTP: loom and a plain node server under autocannon')
const httpBench = measuring('http') ? await import('./http.ts') : null
const http = httpBench ? await httpBench.measureHttp(quick) : null
if (measuring('effects')) progress('effects: actions round-tripped to a loopback server through Loom, and plain fetch')
const effectsBench = measuring('effects') ? await import('./effects.ts') : null
const effects = effectsBench ? await effectsBench.measureEffects(quick) : null
const queryBench = measuring('query') ? await import('./query.ts') : null
const query = queryBench ? await queryBench.measureQuery(quick, progress) : null
if (json) {
  const all = { ...(figures ? toJson(figures) : {}), durable: durable && durableReport!.durableJson(durable), http, effects, exploration, paxos, ui, share, timeline, query }
  console.log(JSON.stringify(Object.fromEntries(Object.entries(all).filter(([, v]) => v !== null)), null, 2))
} else {
  const tables = [
    figures && toTable(figures),
    query && queryBench!.queryTable(query, quick),
    durable && durableReport!.durableTable(durable),
    http && httpBench!.httpTable(http),
    effects && effectsBench!.effectsTable(effects),
    exploration && explore!.exploreTable(exploration),
    paxos && paxosBench!.paxosTable(paxos),
    share && `Shared session, edit propagation:\n${shareBench!.shareTable(share)}`,
    measuring('ui') && (ui ? uiBench!.uiTable(ui) : 'Desktop UI: not measured (no /usr/bin/chromium; apt-get install chromium)'),
    measuring('timeline') && (timeline ? timelineBench!.timelineTable(timeline) : 'Timeline: not measured (no /usr/bin/chromium)'),
  ]
  console.log(tables.filter(Boolean).join('\n\n'))
}
