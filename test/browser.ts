// What the UI tests and the UI bench share: a real `loom serve` on a copy of
// a notebook, the renderer built once into a temporary folder, and Debian's
// Chromium driven by playwright-core (never a downloaded browser).
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { buildRenderer } from '../scripts/build-renderer.ts'

export const CHROMIUM = '/usr/bin/chromium'

/** Playwright's flags for Debian's Chromium here: headless, no sandbox (CI runs as root), nothing fetched from elsewhere. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run']

/**
 * Pages in the dark theme unless a test asks for light (colorScheme): Playwright emulates a light system
 * by default, which would turn every test's view, and the screenshots in docs/, light.
 */
export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
  const newContext = browser.newContext.bind(browser)
  const newPage = browser.newPage.bind(browser)
  browser.newContext = (options = {}) => newContext({ colorScheme: 'dark', ...options })
  browser.newPage = (options = {}) => newPage({ colorScheme: 'dark', ...options })
  return browser
}

/**
 * Chromium with a profile kept in `userDataDir`, as a person's browser is:
 * its HTTP cache and V8's code cache outlive a page (a new context of
 * launchChromium is a private window, which keeps neither).
 */
export function launchChromiumProfile(userDataDir: string, viewport: { width: number; height: number }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: FLAGS, viewport, colorScheme: 'dark' })
}

let built: Promise<string> | null = null
/**
 * The renderer, built once: `npm test` builds it for the whole run and names it in LOOM_RENDERER_DIR
 * (scripts/test.js); a test file run by itself builds it into a temporary folder. Resolves with the folder.
 */
export function buildUiOnce(): Promise<string> {
  const prebuilt = process.env.LOOM_RENDERER_DIR
  if (prebuilt && existsSync(join(prebuilt, 'index.html'))) return Promise.resolve(prebuilt)
  built ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-ui-'))
    await buildRenderer(dir)
    process.once('exit', () => void rm(dir, { recursive: true, force: true }))
    return dir
  })()
  return built
}

export interface Serving {
  /** The owner's address as printed, with its token (`http://127.0.0.1:PORT/?token=…`). */
  url: string
  /** The page's origin (`http://127.0.0.1:PORT`), e.g. for a WebSocket client of /engine. */
  origin: string
  /** The owner's token: what a client of /engine says hello with. */
  token: string
  /** The copy of the notebook the server runs. */
  notebook: string
  /** Everything `loom serve` printed to stderr so far. */
  stderr(): string
  /** Everything it printed to stdout so far (the URL, and with --share the invite links). */
  stdout(): string
  /** The pid of the engine process it started last. */
  enginePid(): number | null
  stop(): Promise<void>
}

/**
 * The invite link `loom serve --share` printed for `role`, on loopback: the links name this machine's address,
 * and a test reaches the same listener on 127.0.0.1.
 */
export async function inviteLink(server: Serving, role: 'view' | 'edit' | 'run'): Promise<string> {
  const line = new RegExp(`^\\s+${role}\\s+(http\\S+)`, 'm')
  for (let i = 0; i < 600 && !line.test(server.stdout()); i++) await new Promise((r) => setTimeout(r, 100))
  const printed = line.exec(server.stdout())?.[1]
  if (!printed) throw new Error(`loom serve --share printed no ${role} link in 60 s:\n${server.stdout()}`)
  const url = new URL(printed)
  url.hostname = '127.0.0.1'
  return url.href
}

/** A port no one listens on now (for a server started again on the same one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** Copies `sample` into a temporary folder and serves it with `loom serve` on any free port (and `args`, e.g. --share). */
export async function serveCopy(sample: string, rendererDir: string, args: string[] = []): Promise<Serving> {
  const dir = await mkdtemp(join(tmpdir(), 'loom-serve-'))
  const notebook = join(dir, basename(sample))
  await copyFile(sample, notebook)
  return serveNotebook(notebook, rendererDir, dir, args)
}

/**
 * Serves `notebook` with `loom serve` and `args` (any free port unless they name one);
 * `rendererDir`: the UI it serves (undefined: its own, dist/renderer/); `cleanup`: a folder removed on stop.
 */
export async function serveNotebook(notebook: string, rendererDir: string | undefined, cleanup?: string, args: string[] = []): Promise<Serving> {
  const port = args.includes('--port') ? [] : ['--port', '0']
  const child: ChildProcess = spawn(process.execPath, ['bin/loom.js', 'serve', notebook, ...port, ...args], {
    env: { ...process.env, ...(rendererDir ? { LOOM_RENDERER_DIR: rendererDir } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`loom serve printed no URL in 30 s:\n${out}${err}`)), 30_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`loom serve exited (${code}) before printing its URL:\n${out}${err}`))
    })
  })
  return {
    url,
    origin: new URL(url).origin,
    token: new URL(url).searchParams.get('token') ?? '',
    notebook,
    stderr: () => err,
    stdout: () => out,
    enginePid: () => {
      const all = [...err.matchAll(/engine process (\d+)/g)]
      return all.length ? Number(all[all.length - 1]![1]) : null
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      // A server that does not stop when asked is a bug, but it must not hang the tests.
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(killer)
      if (cleanup) await rm(cleanup, { recursive: true, force: true })
    },
  }
}

/** A window on a served app with its own port: the page, the errors it threw, and the app's address from the top bar's link. */
export interface AppWindow {
  server: Serving
  page: Page
  pageErrors: string[]
  app: string
  close(): Promise<void>
}

/**
 * Serves `notebook` with its app on any free port (`--app-port 0`), opens it in a 1400×900 page of
 * `browser` and waits for the first editable cell and the app's link, as a person would see them.
 */
export async function openAppWindow(browser: Browser, ui: string, notebook: string): Promise<AppWindow> {
  const server = await serveNotebook(notebook, ui, undefined, ['--app-port', '0'])
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  const close = async () => {
    await page.close()
    await server.stop()
  }
  try {
    await page.goto(server.url)
    await page.locator('.code-cell .monaco-editor .view-lines').first().waitFor({ timeout: 30_000 })
    const link = page.locator('a.tb-app')
    await link.waitFor({ timeout: 30_000 })
    return { server, page, pageErrors, app: (await link.getAttribute('href'))!, close }
  } catch (err) {
    await close()
    throw err
  }
}

/**
 * What the timeline says when the mouse rests on event `seq` of `branch` (its marks — a failed test,
 * a divergence — are drawn on a canvas; the readout puts them in words): swept along the branch's track.
 */
export async function hoverText(page: Page, branch: string, seq: number): Promise<string> {
  const canvas = (await page.locator('.tl-canvas').boundingBox())!
  const label = (await page.locator(`.tl-label[data-branch="${branch}"]`).boundingBox())!
  const y = label.y + label.height / 2
  const wanted = new RegExp(`· event ${seq}( ·|$)`)
  for (let x = canvas.x + 2; x < canvas.x + canvas.width; x += 6) {
    await page.mouse.move(x, y)
    const text = (await page.locator('.tl-readout').textContent()) ?? ''
    if (wanted.test(text)) return text
  }
  throw new Error(`no event ${seq} under the mouse on ${branch}'s track`)
}

/**
 * Live-codes cell `cell` as a person would: types `text` before the last
 * character of the line showing `line`, then applies it (Shift+Enter).
 */
export async function typeBeforeLineEnd(page: Page, cell: string, line: string, text: string): Promise<void> {
  await page.locator(`.code-cell[data-cell="${cell}"] .view-line`, { hasText: line }).click()
  await page.keyboard.press('End')
  await page.keyboard.press('ArrowLeft')
  await page.keyboard.insertText(text)
  await page.locator(`.code-cell[data-cell="${cell}"]`).press('Shift+Enter')
}

/** A real `loom serve` of `notebook` (its folder `cleanup` removed at the end) and a Chromium page on it, not yet opened; `close` ends all three. */
export async function servedPage(notebook: string, cleanup?: string, viewport = { width: 1400, height: 900 }): Promise<{ page: Page; server: Serving; close: () => Promise<void> }> {
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  try {
    const server = await serveNotebook(notebook, ui, cleanup)
    const page = await browser.newPage({ viewport })
    return {
      page,
      server,
      close: async () => {
        await page.close()
        await server.stop()
        await browser.close()
      },
    }
  } catch (err) {
    await browser.close()
    throw err
  }
}

/** `text` written as `file` in a folder of its own, served by servedPage (the folder goes with `close`); `server.notebook` is its path. */
export async function servedText(file: string, text: string, viewport?: { width: number; height: number }): Promise<{ page: Page; server: Serving; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'loom-page-'))
  await writeFile(join(dir, file), text)
  return servedPage(join(dir, file), dir, viewport)
}
