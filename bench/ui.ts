// The desktop UI's two figures for the bank sample: how long from starting
// `loom serve` until the notebook is interactive in Chromium (the first cell's
// editor is on screen and takes typing), and how long an edit takes to reach
// the running app (editCell sent → the `code` event of the new code arrives).
import WebSocket from 'ws'
import type { Page } from 'playwright-core'
import { EngineClient } from '../engine/protocol/client.ts'
import type { EventRecord } from '../engine/protocol/messages.ts'
import { socketTransport } from '../engine/host/socketTransport.ts'
import { buildUiOnce, launchChromium, serveCopy, type Serving } from '../test/browser.ts'

export const UI_TARGETS = { interactiveMs: 1500, editToRunningMs: 100 }

export interface UiFigures {
  sample: string
  /** Median ms from spawning `loom serve` to the first cell taking typing, over `runs` fresh starts. */
  interactiveMs: number
  /** Where that time goes (medians, ms from spawning `loom serve`): its URL printed, the page's code evaluated, the engine's hello in the page. */
  startup: { url: number; script: number; hello: number }
  /** Median ms from editCell to the `code` event of the new code, over `edits` edits. */
  editToRunningMs: number
  runs: number
  edits: number
  targets: typeof UI_TARGETS
}

const SAMPLE = 'samples/bank.loom.md'

export async function measureUi(options: { runs?: number; edits?: number } = {}): Promise<UiFigures> {
  const runs = options.runs ?? 5
  const edits = options.edits ?? 20
  const ui = await buildUiOnce()
  const browser = await launchChromium()
  try {
    // One untimed start warms the OS file cache and Chromium's code caches, as a second launch of the app would be.
    const interactive: number[] = []
    const phases = { url: [] as number[], script: [] as number[], hello: [] as number[] }
    for (let i = 0; i <= runs; i++) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
      const started = performance.now()
      const server = await serveCopy(SAMPLE, ui)
      const url = performance.now() - started
      try {
        await page.goto(server.url)
        await firstCellTakesTyping(page)
        if (i > 0) {
          interactive.push(performance.now() - started)
          // The page's marks (renderer/main.ts) on Node's clock: both count from the same wall clock.
          const marks = await page.evaluate(() => ({ origin: performance.timeOrigin, at: Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])) }))
          const since = (name: string) => marks.origin + (marks.at[name] ?? NaN) - (performance.timeOrigin + started)
          phases.url.push(url)
          phases.script.push(since('loom:script'))
          phases.hello.push(since('loom:hello'))
        }
        if (i === runs) {
          const startup = { url: median(phases.url), script: median(phases.script), hello: median(phases.hello) }
          return { sample: SAMPLE, interactiveMs: median(interactive), startup, editToRunningMs: median(await editToRunning(server, edits)), runs, edits, targets: UI_TARGETS }
        }
      } finally {
        await page.close()
        await server.stop()
      }
    }
    throw new Error('unreachable')
  } finally {
    await browser.close()
  }
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
    const { notebook } = await client.call('hello', { client: 'bench' })
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
  return [
    `Desktop UI: ${f.sample} in Debian's Chromium, medians of ${f.runs} starts and ${f.edits} edits`,
    '',
    `loom serve start → first cell editable           ${verdict(f.interactiveMs, f.targets.interactiveMs)}`,
    `  of which: URL printed ${ms(f.startup.url)}, page code evaluated ${ms(f.startup.script)}, engine's hello in the page ${ms(f.startup.hello)}`,
    `edit a cell → the running app's code event        ${verdict(f.editToRunningMs, f.targets.editToRunningMs)}`,
  ].join('\n')
}
