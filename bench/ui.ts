// The desktop UI's figures for the bank sample: how long from starting
// `loom serve` until the notebook is interactive in Chromium (the first cell's
// editor is on screen and takes typing), and how long an edit takes to reach
// the running app (editCell sent → the `code` event of the new code arrives).
import WebSocket from 'ws'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { EngineClient } from '../engine/protocol/client.ts'
import type { EventRecord } from '../engine/protocol/messages.ts'
import { socketTransport } from '../engine/host/socketTransport.ts'
import { buildUiOnce, launchChromium, launchChromiumProfile, serveCopy, serveNotebook, type Serving } from '../test/browser.ts'

export const UI_TARGETS = { interactiveMs: 1500, editToRunningMs: 100 }

/** One way of starting: medians over its runs, ms from spawning `loom serve`. */
export interface StartFigures {
  /** To the first cell taking typing. */
  interactiveMs: number
  /** Where that time goes: its URL printed, the page's code evaluated, the engine's hello in the page. */
  startup: { url: number; script: number; hello: number }
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
}

const SAMPLE = 'samples/bank.loom.md'
const SETTLE_MS = 500
const VIEWPORT = { width: 1400, height: 900 }

export async function measureUi(options: { runs?: number; edits?: number } = {}): Promise<UiFigures> {
  const runs = options.runs ?? 5
  const edits = options.edits ?? 20
  const ui = await buildUiOnce()
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
    return { sample: SAMPLE, reopen: reopen.figures(), first: first.figures(), editToRunningMs, runs, edits, targets: UI_TARGETS }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Times starts: spawn `loom serve`, open its URL in a new page, wait for the first cell to take a key. */
class Starts {
  private readonly interactive: number[] = []
  private readonly phases = { url: [] as number[], script: [] as number[], hello: [] as number[] }

  async time(context: BrowserContext, serve: () => Promise<Serving>): Promise<Serving> {
    const page = await context.newPage()
    // Each start on a quiet machine: not while the last run's processes and window are still going away.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const started = performance.now()
    const server = await serve()
    const url = performance.now() - started
    try {
      await page.goto(server.url)
      await firstCellTakesTyping(page)
      this.interactive.push(performance.now() - started)
      // The page's marks (renderer/main.ts) on Node's clock: both count from the same wall clock.
      const marks = await page.evaluate(() => ({ origin: performance.timeOrigin, at: Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])) }))
      const since = (name: string) => marks.origin + (marks.at[name] ?? NaN) - (performance.timeOrigin + started)
      this.phases.url.push(url)
      this.phases.script.push(since('loom:script'))
      this.phases.hello.push(since('loom:hello'))
      return server
    } catch (err) {
      await server.stop()
      throw err
    } finally {
      await page.close()
    }
  }

  figures(): StartFigures {
    return { interactiveMs: median(this.interactive), startup: { url: median(this.phases.url), script: median(this.phases.script), hello: median(this.phases.hello) } }
  }
}

/** A port free now, for every reopen: the browser keeps its caches per address. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * Waits until the first code cell's editor is on screen and a key typed into
 * it lands in it. One key, so the time is the page's, not the typist's: a `;`
 * after the cell's last statement, which leaves the code valid for the edits
 * timed next.
 */
async function firstCellTakesTyping(page: Page): Promise<void> {
  const lines = page.locator('.code-cell .monaco-editor .view-lines').first()
  await lines.waitFor({ timeout: 30_000 })
  await lines.click()
  await page.keyboard.press('Control+End')
  // Monaco reuses line elements, so their order is not the text's: count the semicolons instead.
  const count = async () => ((await lines.textContent()) ?? '').split(';').length
  const before = await count()
  await page.keyboard.type(';')
  const deadline = Date.now() + 30_000
  while ((await count()) === before) {
    if (Date.now() > deadline) throw new Error('the first cell did not take the typed key within 30 s')
    await page.waitForTimeout(5)
  }
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
  const phases = (s: StartFigures) => `  of which: URL printed ${ms(s.startup.url)}, page code evaluated ${ms(s.startup.script)}, engine's hello in the page ${ms(s.startup.hello)}`
  return [
    `Desktop UI: ${f.sample} in Debian's Chromium, medians of ${f.runs} starts of each kind and ${f.edits} edits`,
    '',
    `loom serve start → first cell editable, reopening ${verdict(f.reopen.interactiveMs, f.targets.interactiveMs)}`,
    phases(f.reopen),
    `  the same, first open (no log, fresh browser)     ${verdict(f.first.interactiveMs, f.targets.interactiveMs)}`,
    phases(f.first),
    `edit a cell → the running app's code event        ${verdict(f.editToRunningMs, f.targets.editToRunningMs)}`,
  ].join('\n')
}
