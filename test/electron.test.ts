// The desktop shell: its security settings, bridge, menu and remembered
// state read back without Electron; and, where the Electron binary is
// installed, the real app driven by Playwright. Without the binary that test
// reports as skipped, with the reason — never as passed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, mkdtempSync, writeFileSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import vm from 'node:vm'
// @ts-expect-error: plain ESM JavaScript, as Electron's main process runs it
import { windowOptions, CONTENT_SECURITY_POLICY, IPC_CHANNEL, MENU_CHANNEL, APP_URL } from '../electron/windowOptions.js'
import { contentSecurityPolicy } from '../engine/host/securityHeaders.ts'
// @ts-expect-error: plain ESM JavaScript
import { menuTemplate } from '../electron/menu.js'
// @ts-expect-error: plain ESM JavaScript
import { loadWindowState, saveWindowState, visibleBounds, withRecent } from '../electron/windowState.js'
// @ts-expect-error: plain ESM JavaScript
import { electronBinary } from '../scripts/electronBinary.js'

test('a notebook window is sandboxed and isolated, with no Node and with web security', () => {
  const o = windowOptions({ preload: '/app/electron/preload.cjs', title: 'bank.loom.md — Loom' })
  const p = o.webPreferences
  assert.equal(p.contextIsolation, true)
  assert.equal(p.sandbox, true)
  assert.equal(p.nodeIntegration, false)
  assert.equal(p.nodeIntegrationInWorker, false)
  assert.equal(p.nodeIntegrationInSubFrames, false)
  assert.equal(p.webSecurity, true)
  assert.equal(p.allowRunningInsecureContent, false)
  assert.equal(p.webviewTag, false)
  assert.equal(p.preload, '/app/electron/preload.cjs')
  assert.equal(APP_URL, 'loom://app/index.html')
})

test("the desktop window's CSP allows only the app's own files, Monaco's blob workers and inline styles, and no sockets", () => {
  const rules = Object.fromEntries(CONTENT_SECURITY_POLICY.split('; ').map((r: string) => [r.split(' ')[0], r.split(' ').slice(1).join(' ')]))
  assert.equal(rules['default-src'], "'self'")
  assert.equal(rules['script-src'], "'self'")
  assert.equal(rules['worker-src'], "'self' blob:")
  assert.equal(rules['connect-src'], "'self'")
  assert.equal(rules['object-src'], "'none'")
  assert.equal(rules['frame-ancestors'], "'none'")
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|\*/)
  // The same policy as the page loom serve sends, but for the socket that the desktop window does not need.
  const served = contentSecurityPolicy(4321).split('; ').filter((r) => !r.startsWith('connect-src'))
  assert.deepEqual(CONTENT_SECURITY_POLICY.split('; ').filter((r: string) => !r.startsWith('connect-src')), served)
})

test('the preload exposes exactly window.loom = { send, onMessage, onMenu }, frozen, over its IPC channels', () => {
  const exposed: Record<string, unknown> = {}
  const sent: [string, unknown][] = []
  const listeners = new Map<string, Set<(e: unknown, m: unknown) => void>>()
  const electron = {
    contextBridge: { exposeInMainWorld: (name: string, api: unknown) => (exposed[name] = api) },
    ipcRenderer: {
      send: (channel: string, m: unknown) => sent.push([channel, m]),
      on: (channel: string, fn: (e: unknown, m: unknown) => void) => void (listeners.get(channel) ?? listeners.set(channel, new Set()).get(channel)!).add(fn),
      removeListener: (channel: string, fn: (e: unknown, m: unknown) => void) => void listeners.get(channel)?.delete(fn),
    },
  }
  vm.runInNewContext(readFileSync('electron/preload.cjs', 'utf8'), { require: (m: string) => (m === 'electron' ? electron : assert.fail(`the preload requires ${m}`)), TypeError })
  assert.deepEqual(Object.keys(exposed), ['loom'])
  const loom = exposed.loom as { send(m: unknown): void; onMessage(fn: (m: unknown) => void): () => void }
  assert.deepEqual(Object.keys(loom), ['send', 'onMessage', 'onMenu'])
  assert.ok(Object.isFrozen(loom))
  loom.send({ kind: 'request', id: 1, op: 'hello', params: {} })
  assert.deepEqual(sent, [[IPC_CHANNEL, { kind: 'request', id: 1, op: 'hello', params: {} }]])
  assert.throws(() => loom.send('not a message'), /protocol message/)
  const heard: unknown[] = []
  const stop = loom.onMessage((m) => heard.push(m))
  for (const fn of listeners.get(IPC_CHANNEL)!) fn({ sender: 'ipc' }, { kind: 'notice' })
  stop()
  assert.equal(listeners.get(IPC_CHANNEL)!.size, 0)
  assert.deepEqual(heard, [{ kind: 'notice' }], 'the page gets the message, not the IPC event')
  // File › Save reaches the page (which sends what is being typed, then saves); nothing but known commands does.
  const commands: unknown[] = []
  const stopMenu = (loom as unknown as { onMenu(fn: (c: unknown) => void): () => void }).onMenu((c) => commands.push(c))
  for (const fn of listeners.get(MENU_CHANNEL)!) {
    fn({ sender: 'ipc' }, 'save')
    fn({ sender: 'ipc' }, 'rm -rf')
  }
  stopMenu()
  assert.equal(listeners.get(MENU_CHANNEL)!.size, 0)
  assert.deepEqual(commands, ['save'])
})

test('the menu has File (New, Open, Open Recent, Save, Save As), Run (Run, Pause, Step), View and Help', () => {
  const acted: unknown[] = []
  const menu = menuTemplate({ recent: ['/n/bank.loom.md'], isMac: false, act: (name: string, arg?: string) => acted.push([name, arg]) })
  const labels = (items: { label?: string; role?: string }[]) => items.filter((i) => i.label || i.role).map((i) => (i.label ?? i.role)!.replace('&', ''))
  assert.deepEqual(labels(menu), ['File', 'editMenu', 'Run', 'View', 'help'])
  const [file, , run, view] = menu
  assert.deepEqual(labels(file.submenu), ['New Notebook…', 'Open…', 'Open Recent', 'Save', 'Save As…', 'close', 'quit'])
  assert.deepEqual(labels(run.submenu), ['Run', 'Pause', 'Step'])
  assert.ok(labels(view.submenu).includes('toggleDevTools'))
  file.submenu[2].submenu[0].click()
  run.submenu[2].click()
  assert.deepEqual(acted, [['openPath', '/n/bank.loom.md'], ['step', undefined]])
})

test('window bounds and recent notebooks are remembered; a damaged file or a lost screen starts fresh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-window-'))
  const file = join(dir, 'window-state.json')
  assert.deepEqual(loadWindowState(file), { bounds: null, maximized: false, recent: [] })
  saveWindowState(file, { bounds: { x: 10, y: 20, width: 900, height: 700 }, maximized: false, recent: withRecent(['/a.loom.md', '/b.loom.md'], '/b.loom.md') })
  assert.deepEqual(loadWindowState(file), { bounds: { x: 10, y: 20, width: 900, height: 700 }, maximized: false, recent: ['/b.loom.md', '/a.loom.md'] })
  writeFileSync(file, '{ not json')
  assert.deepEqual(loadWindowState(file), { bounds: null, maximized: false, recent: [] })
  const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }]
  assert.deepEqual(visibleBounds({ x: 3000, y: 20, width: 900, height: 700 }, screen), { width: 900, height: 700 })
  assert.deepEqual(visibleBounds({ x: 100, y: 20, width: 900, height: 700 }, screen), { x: 100, y: 20, width: 900, height: 700 })
})

test('the desktop app opens a notebook in a sandboxed window whose bridge carries the protocol', { timeout: 60_000 }, async (t) => {
  const electron = electronBinary()
  if ('missing' in electron) {
    t.skip(`no Electron binary here: ${electron.missing}`)
    return
  }
  const { _electron } = await import('playwright-core')
  const dir = mkdtempSync(join(tmpdir(), 'loom-electron-'))
  const notebook = join(dir, 'bank.loom.md')
  copyFileSync('samples/bank.loom.md', notebook)
  const app = await _electron.launch({ executablePath: electron.path, args: ['electron/main.js', notebook], env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1' } })
  try {
    const page = await app.firstWindow()
    // Read back from the window Electron created (an internal but long-standing method of webContents).
    const prefs = await app.evaluate(({ BrowserWindow }) => (BrowserWindow.getAllWindows()[0]!.webContents as unknown as { getLastWebPreferences(): Record<string, unknown> }).getLastWebPreferences())
    assert.equal(prefs?.contextIsolation, true)
    assert.equal(prefs?.sandbox, true)
    assert.equal(prefs?.nodeIntegration, false)
    assert.equal(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require), 'undefined')
    assert.deepEqual(await page.evaluate(() => Object.keys((globalThis as unknown as { loom: object }).loom)), ['send', 'onMessage'])
    const hello = await page.evaluate(() => new Promise<{ cells: number; state: string }>((resolve) => {
      const loom = (globalThis as unknown as { loom: { send(m: unknown): void; onMessage(fn: (m: any) => void): () => void } }).loom
      const stop = loom.onMessage((m) => {
        if (m.kind !== 'response' || m.id !== 9999) return
        stop()
        resolve({ cells: m.result.notebook.cells.length, state: m.result.status.state })
      })
      loom.send({ kind: 'request', id: 9999, op: 'hello', params: {} })
    }))
    assert.equal(hello.cells, 4)
    assert.equal(await page.evaluate(() => (globalThis as unknown as { open(url: string): unknown }).open('https://example.com') === null), true, 'window.open is refused')
  } finally {
    await app.close()
  }
})
