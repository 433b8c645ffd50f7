// `npm run bench [-- --json] [-- --quick]`: Loom's committed step transactions per second on the counter
// sample, against a plain loop, Redux and Redux DevTools' recorder; then its durable log against plain SQLite.
import { fastest, perSecond, type Repeat } from './timing.ts'
import { instrumented, plainLoop, redux } from './baselines.ts'
import { counterSource, loom, loomPerCall } from './loom.ts'
import { measureHttp, httpTable } from './http.ts'
import { toJson, toTable, type Figures } from './report.ts'
import { measureDurable } from './durableBench.ts'
import { durableJson, durableTable } from './durableReport.ts'
import { measureExplore, exploreTable } from './explore.ts'
import { measureUi, uiTable } from './ui.ts'
import { measureTimeline, timelineTable } from './timeline.ts'
import { measureShare, shareTable } from './share.ts'
import { measureQuery, queryTable } from './query.ts'
import { existsSync } from 'node:fs'

const USAGE = 'usage: npm run bench [-- --json] [-- --quick]'

const args = process.argv.slice(2)
for (const arg of args) {
  if (arg === '--help' || arg === '-h') {
    console.log(USAGE)
    process.exit(0)
  }
  if (arg !== '--json' && arg !== '--quick') {
    console.error(`unknown option ${arg}\n${USAGE}`)
    process.exit(2)
  }
}
const json = args.includes('--json')
const quick = args.includes('--quick')

const SIZES = [1_000, 10_000, 20_000]
const HEADLINE = 200_000
const PLAIN_OPS = 10_000_000
const REDUX_OPS = HEADLINE
const reps = quick ? 1 : 5
const cheap: Repeat = { reps, budgetMs: 4_000 }
/** The full-history recorder at 20k actions takes seconds per run. */
const costly: Repeat = { reps: Math.min(reps, 3), budgetMs: 8_000 }

const progress = (what: string) => json || process.stderr.write(`  measuring ${what}…\n`)

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

const figures: Figures = {
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
progress('exploration: philosophers, loom explore and a hand-written search')
const exploration = await measureExplore(quick)
progress('desktop UI: loom serve to an editable notebook in Chromium, and an edit to the running app')
// The UI's figures need Debian's Chromium (apt-get install chromium); without it they are left out, and said so.
const ui = existsSync('/usr/bin/chromium') ? await measureUi(quick ? { runs: 2, edits: 5 } : {}) : null
progress('timeline: first paint of 1,000,000 events and frame times while zooming and panning, in Chromium')
const timeline = existsSync('/usr/bin/chromium') ? await measureTimeline(quick) : null
const durable = await measureDurable(quick, progress)
progress('shared session: edit propagation between guests through the sync server, with 2 and 20 guests')
const share = await measureShare([2, 20], quick ? 100 : 300)
progress('HTTP: loom and a plain node server under autocannon')
const http = await measureHttp(quick)
const query = await measureQuery(quick, progress)
console.log(json ? JSON.stringify({ ...toJson(figures), durable: durableJson(durable), http, exploration, ui, share, timeline, query }, null, 2) : `${toTable(figures)}\n\n${queryTable(query, quick)}\n\n${durableTable(durable)}\n\n${httpTable(http)}\n\n${exploreTable(exploration)}\n\nShared session, edit propagation:\n${shareTable(share)}\n\n${ui ? uiTable(ui) : 'Desktop UI: not measured (no /usr/bin/chromium; apt-get install chromium)'}\n\n${timeline ? timelineTable(timeline) : 'Timeline: not measured (no /usr/bin/chromium)'}`)
