// The desktop UI's figures for the bank sample: how long from starting
// `loom serve` until the notebook is interactive in Chromium (the first cell's
// editor is on screen and takes typing), and how long an edit takes to reach
// the running app (editCell sent → the `code` event of the new code arrives).
import WebSocket from 'ws'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { EngineClient } from '../engine/protocol/client.ts'
import type { EventRecord } from '../engine/protocol/messages.ts'
import { socketTransport } from '../engine/host/socketTransport.ts'
import { buildUiOnce, freePort, launchChromium, launchChromiumProfile, serveCopy, serveNotebook, type Serving } from '../test/browser.ts'

/** Issue 16: an editable first cell under 1 s when reopening, under 1.5 s on a first open. */
export const UI_TARGETS = { reopenMs: 1000, firstOpenMs: 1500, editToRunningMs: 100 }

/**
 * Where start-up time goes, each ms from spawning `loom serve` (medians):
 * the URL printed (the HTTP server listens), the page's HTML arrived, the
 * page's code evaluated (main.js and Monaco parsed and run), the engine's
 * hello in the page (the engine process has opened the notebook and its log),
 * the first cell's editor on screen, and the key typed into it shown.
 */
export const PHASES = ['listening', 'html', 'script', 'hello', 'editor', 'typed'] as const
export type Phase = (typeof PHASES)[number]

/** One way of starting: medians over its runs, ms from spawning `loom serve`. */
export interface StartFigures {
  /** To the first cell showing a key typed into it (= startup.typed). */
  interactiveMs: number
  startup: Record<Phase, number>
  /** Every run's interactiveMs, to show the spread on a loaded machine. */
  all: number[]
}

export interface UiFigures {
  sample: string
  /**
   * Opening the notebook again, as every start after the first does: its log
   * is there (with the compiled cells the engine keeps in it), and so are the
   * browser's caches (a kept profile and the same address; the desktop app
   * keeps V8's code cache for its own files the same way).
   */
  reopen: StartFigures
  /** A first open: a fresh copy of the notebook with no log, in a fresh browser profile. */
  first: StartFigures
  /** Median ms from editCell to the `code` event of the new code, over `edits` edits. */
  editToRunningMs: number
  runs: number
  edits: number
  targets: typeof UI_TARGETS
  /** The machine's 1-minute load average when the starts began and ended, and its cores: start-up times grow with it. */
  load: { before: number; after: number; cores: number }
}

const SAMPLE = 'samples/bank.loom.md'
const SETTLE_MS = 500
const VIEWPORT = { width: 1400, height: 900 }

export async function measureUi(options: { runs?: number; edits?: number } = {}): Promise<UiFigures> {
  const runs = options.runs ?? 5
  const edits = options.edits ?? 20
  const ui = await buildUiOnce()
  const before = loadavg()[0]!
  const dir = await mkdtemp(join(tmpdir(), 'loom-bench-ui-'))
  try {
    // First opens: each its own copy, private window and port.
    const first = new Starts()
    const browser = await launchChromium()
    try {
      for (let i = 0; i < runs; i++) {
        const context = await browser.newContext({ viewport: VIEWPORT })
        await first.time(context, () => serveCopy(SAMPLE, ui)).then((server) => server.stop())
        await context.close()
      }
    } finally {
      await browser.close()
    }
    // Reopens: one copy, profile and port; the first start, untimed, makes the log and fills the caches.
    const notebook = join(dir, basename(SAMPLE))
    await copyFile(SAMPLE, notebook)
    const port = await freePort()
    const serve = () => serveNotebook(notebook, ui, undefined, ['--port', String(port)])
    const context = await launchChromiumProfile(join(dir, 'profile'), VIEWPORT)
    const reopen = new Starts()
    let editToRunningMs = NaN
    try {
      for (let i = 0; i <= runs; i++) {
        const server = await (i === 0 ? new Starts() : reopen).time(context, serve)
        try {
          if (i === runs) editToRunningMs = median(await editToRunning(server, edits))
        } finally {
          await server.stop()
        }
      }
    } finally {
      await context.close()
    }
    const load = { before, after: loadavg()[0]!, cores: availableParallelism() }
    return { sample: SAMPLE, reopen: reopen.figures(), first: first.figures(), editToRunningMs, runs, edits, targets: UI_TARGETS, load }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Times starts: spawn `loom serve`, open its URL in a new page, and as soon
 * as the first cell's editor is on screen, click it and type a key; the start
 * ends when the page shows that key. Every phase is read from the page's own
 * clock (marks), not from Playwright's round trips: its actionability checks
 * before a click (scrolled into view, stable over two frames, hit-tested) and
 * its polling cost 0.15–0.4 s more on a loaded machine, time a person with
 * the window in front of them does not spend.
 */
class Starts {
  private readonly runs: Record<Phase, number>[] = []

  async time(context: BrowserContext, serve: () => Promise<Serving>): Promise<Serving> {
    await instrument(context)
    const page = await context.newPage()
    // Each start on a quiet machine: not while the last run's processes and window are still going away.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const started = performance.now()
    const server = await serve()
    const listening = performance.now() - started
    try {
      const editor = new Promise<{ x: number; y: number }>((resolve) => editorSeen.set(page, resolve))
      await page.goto(server.url, { waitUntil: 'commit' })
      const at = await withDeadline(editor, 'the first cell\'s editor did not appear within 30 s')
      // Raw input (no actionability checks): a click into the editor, then a `;` after its last statement.
      await page.mouse.click(at.x, at.y)
      await page.keyboard.press('Control+End')
      await page.keyboard.type(';')
      await page.waitForFunction('performance.getEntriesByName("loom-bench:typed").length > 0', null, { timeout: 30_000 })
      // The page's marks on Node's clock: both count from the same wall clock.
      const marks = (await page.evaluate(`({
        origin: performance.timeOrigin,
        html: performance.getEntriesByType('navigation')[0]?.responseEnd,
        at: Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])),
      })`)) as { origin: number; html?: number; at: Record<string, number> }
      const since = (ms: number | undefined) => marks.origin + (ms ?? NaN) - (performance.timeOrigin + started)
      this.runs.push({
        listening,
        html: since(marks.html),
        script: since(marks.at['loom:script']),
        hello: since(marks.at['loom:hello']),
        editor: since(marks.at['loom-bench:editor']),
        typed: since(marks.at['loom-bench:typed']),
      })
      return server
    } catch (err) {
      await server.stop()
      throw err
    } finally {
      editorSeen.delete(page)
      await page.close()
    }
  }

  figures(): StartFigures {
    const startup = Object.fromEntries(PHASES.map((p) => [p, median(this.runs.map((r) => r[p]))])) as Record<Phase, number>
    return { interactiveMs: startup.typed, startup, all: this.runs.map((r) => Math.round(r.typed)) }
  }
}

/** Per page: called (through the page's binding) once the first cell's editor is on screen, with where to click. */
const editorSeen = new WeakMap<Page, (at: { x: number; y: number }) => void>()
const instrumented = new WeakSet<BrowserContext>()

/**
 * In every page of `context`, before its own scripts: mark when the first code
 * cell's editor has lines on screen (and tell the bench where to click), and
 * when a `;` more than it first showed appears in it.
 */
async function instrument(context: BrowserContext): Promise<void> {
  if (instrumented.has(context)) return
  instrumented.add(context)
  await context.exposeBinding('loomBenchEditor', ({ page }, at: { x: number; y: number }) => editorSeen.get(page)?.(at))
  await context.addInitScript({ content: EDITOR_WATCH })
}

/** The page's side of `instrument` (plain JavaScript: it runs in the page, before the page's own scripts). */
const EDITOR_WATCH = `(() => {
  let lines = null
  let semicolons = 0
  const count = () => (lines?.textContent ?? '').split(';').length
  const watch = new MutationObserver(() => {
    if (!lines) {
      lines = document.querySelector('.code-cell .monaco-editor .view-lines')
      const box = lines?.getBoundingClientRect()
      if (!lines || !box || box.height === 0 || !lines.textContent) return (lines = null)
      semicolons = count()
      performance.mark('loom-bench:editor')
      window.loomBenchEditor({ x: box.left + Math.min(box.width / 2, 200), y: box.top + Math.min(box.height / 2, 10) })
    } else if (count() > semicolons) {
      performance.mark('loom-bench:typed')
      watch.disconnect()
    }
  })
  addEventListener('DOMContentLoaded', () => watch.observe(document.body, { subtree: true, childList: true, characterData: true }))
})()`

function withDeadline<T>(p: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), 30_000)))]).finally(() => clearTimeout(timer))
}

async function editToRunning(server: Serving, edits: number): Promise<number[]> {
  const origin = new URL(server.url).origin
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/engine`, { origin })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const client = new EngineClient(socketTransport(ws))
  try {
    const { notebook } = await client.call('hello', { client: 'bench', token: server.token })
    const step = notebook.cells.find((c) => c.id === 'step')!
    let arrived: ((e: EventRecord) => void) | null = null
    client.on('events', ({ events }) => {
      for (const e of events) if (e.kind === 'code') arrived?.(e)
    })
    const times: number[] = []
    for (let i = 1; i <= edits; i++) {
      // A change the compiler keeps (comments would not make new code): a different constant each time.
      const source = step.source.replace('export function step() {', `export function step() {\n  const edit = ${i}; void edit`)
      const started = performance.now()
      const running = new Promise<EventRecord>((resolve) => (arrived = resolve))
      const result = await client.call('editCell', { cell: 'step', source })
      if (!result.ok) throw new Error(`the bench's edit was refused: ${result.problems.map((p) => p.message).join('; ')}`)
      let event = await running
      while (event.codeHash !== result.codeHash) event = await new Promise<EventRecord>((resolve) => (arrived = resolve))
      times.push(performance.now() - started)
    }
    return times
  } finally {
    client.close()
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)]! : NaN
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const f = await measureUi()
  console.log(JSON.stringify(f, null, 2))
}

export function uiTable(f: UiFigures): string {
  const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`
  const verdict = (ms: number, target: number) => `${Math.round(ms).toLocaleString('en-US').padStart(6)} ms   target under ${target.toLocaleString('en-US')} ms: ${ms < target ? 'met' : 'NOT met'}`
  const phases = (s: StartFigures) =>
    `  phases: listening ${ms(s.startup.listening)} → HTML ${ms(s.startup.html)} → page code evaluated ${ms(s.startup.script)} → engine's hello ${ms(s.startup.hello)} → first editor on screen ${ms(s.startup.editor)} → typed key shown ${ms(s.startup.typed)}; runs: ${s.all.join(', ')} ms`
  return [
    `Desktop UI: ${f.sample} in Debian's Chromium, medians of ${f.runs} starts of each kind and ${f.edits} edits`,
    `  (machine load ${f.load.before.toFixed(1)} → ${f.load.after.toFixed(1)} on ${f.load.cores} cores: above the core count, every phase stretches)`,
    '',
    `loom serve start → first cell editable, reopening ${verdict(f.reopen.interactiveMs, f.targets.reopenMs)}`,
    phases(f.reopen),
    `  the same, first open (no log, fresh browser)     ${verdict(f.first.interactiveMs, f.targets.firstOpenMs)}`,
    phases(f.first),
    `edit a cell → the running app's code event        ${verdict(f.editToRunningMs, f.targets.editToRunningMs)}`,
  ].join('\n')
}
