// The desktop app's main process: a window per notebook, the menu, native
// file dialogs, and for each window an engine process whose protocol messages
// it relays over IPC. Thin glue: the engine process, its supervisor (which
// holds the notebook's SQLite log, so the engine loads no native code) and
// the UI are the same as under `loom serve` (engine/host/forkEngine.ts): the
// engine is a Node child of this process — Electron's binary run as Node —
// under the same permission flags and OS sandbox. Not a utilityProcess: that
// cannot be handed the log link's socket (fd 4), nor be wrapped by bwrap.
import { app, BrowserWindow, Menu, dialog, ipcMain, protocol, screen, session } from 'electron'
import { readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { basename, extname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'
import { APP_ORIGIN, APP_SCHEME, APP_URL, CONTENT_SECURITY_POLICY, IPC_CHANNEL, MENU_CHANNEL, windowOptions } from './windowOptions.js'
import { loadWindowState, saveWindowState, visibleBounds, withRecent } from './windowState.js'
import { menuTemplate } from './menu.js'

// Before anything awaits: both must happen before the app is ready.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }])
app.enableSandbox()

// The engine and the protocol are TypeScript, run as they are in the CLI.
register()
const { superviseNotebook, resolvePath, CONTENT_TYPES, NOT_BUILT, notebookAt, ALLOWANCE_OPS, answerAllowance } = await import('../engine/host/index.ts')
const { memoryPair } = await import('../engine/protocol/memoryTransport.ts')
const { EngineClient } = await import('../engine/protocol/client.ts')

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RENDERER = process.env.LOOM_RENDERER_DIR ?? join(ROOT, 'dist', 'renderer')
const PRELOAD = fileURLToPath(new URL('./preload.cjs', import.meta.url))
const STATE_FILE = () => join(app.getPath('userData'), 'window-state.json')
const NEW_NOTEBOOK = '# Untitled\n\nProse in markdown; code in `ts` cells.\n\n```ts #state\nconst count = state.var(\'count\', 0)\n```\n\n```ts #step\nexport function step() {\n  count.set(count.get() + 1)\n  sys.tty.write(`count is ${count.get()}\\n`)\n  if (count.get() >= 3) sys.halt()\n}\n```\n'

/** @type {Map<number, { win: BrowserWindow, path: string, supervisor: any, client: any, disconnect: (() => void) | null, receive: Set<(m: unknown) => void> }>} */
const windows = new Map()
let state = { bounds: null, maximized: false, recent: [] }

async function openWindow(path) {
  path = resolve(path)
  for (const w of windows.values()) {
    if (w.path === path) return w.win.focus()
  }
  // Untested here (no Electron binary): whether Electron run as Node applies --permission; hello's `confined` says what holds.
  // As under loom serve: the app's own port (the notebook's http: setting) is served here and relayed to the engine.
  let session
  try {
    session = await superviseNotebook({ notebook: path })
    await session.supervisor.start()
  } catch (err) {
    await session?.stop()
    dialog.showErrorBox('Loom cannot open this notebook', `${path}\n\n${err.message}`)
    return
  }
  const { supervisor } = session
  const offset = windows.size * 24
  const bounds = visibleBounds(state.bounds, screen.getAllDisplays().map((d) => d.workArea))
  const placed = bounds && bounds.x !== undefined ? { ...bounds, x: bounds.x + offset, y: bounds.y + offset } : bounds ?? undefined
  const win = new BrowserWindow(windowOptions({ preload: PRELOAD, title: `${basename(path)} — Loom`, ...(placed ? { bounds: placed } : {}) }))
  if (state.maximized && windows.size === 0) win.maximize()

  // The menu's own connection to this window's engine (Save, Run, Step…).
  const [menuEnd, engineEnd] = memoryPair()
  supervisor.connect(engineEnd)
  const entry = { win, path, supervisor, client: new EngineClient(menuEnd), disconnect: null, receive: new Set() }
  const id = win.webContents.id
  windows.set(id, entry)

  // The page's connection: opened anew at each load of the page (not at in-page or frame navigations), so a reload starts clean.
  win.webContents.on('did-start-navigation', (details) => {
    if (!details.isMainFrame || details.isSameDocument) return
    entry.disconnect?.()
    entry.receive.clear()
    entry.disconnect = supervisor.connect({
      send: (message) => {
        if (!win.isDestroyed()) win.webContents.send(IPC_CHANNEL, message)
      },
      onMessage: (fn) => {
        entry.receive.add(fn)
        return () => entry.receive.delete(fn)
      },
      onClose: () => {},
      close: () => {},
    })
  })
  win.once('ready-to-show', () => win.show())
  win.on('close', () => {
    state = { ...state, bounds: win.getNormalBounds(), maximized: win.isMaximized() }
    saveWindowState(STATE_FILE(), state)
  })
  win.on('closed', () => {
    windows.delete(id)
    entry.disconnect?.()
    void session.stop()
  })
  remember(path)
  await win.loadURL(APP_URL)
}

function remember(path) {
  state = { ...state, recent: withRecent(state.recent, path) }
  saveWindowState(STATE_FILE(), state)
  app.addRecentDocument(path)
  buildMenu()
}

function focused() {
  const win = BrowserWindow.getFocusedWindow()
  return win ? windows.get(win.webContents.id) : undefined
}

const FILTERS = [{ name: 'Loom notebooks', extensions: ['md'] }]

async function act(name, arg) {
  const w = focused()
  try {
    switch (name) {
      case 'new': {
        const r = await dialog.showSaveDialog({ title: 'New notebook', defaultPath: 'untitled.loom.md', filters: FILTERS })
        if (r.canceled || !r.filePath) return
        const path = extname(r.filePath) ? r.filePath : `${r.filePath}.loom.md`
        if (!existsSync(path)) await writeFile(path, NEW_NOTEBOOK, { flag: 'wx' })
        return openWindow(path)
      }
      case 'open': {
        const r = await dialog.showOpenDialog({ title: 'Open notebook', properties: ['openFile', 'multiSelections'], filters: FILTERS })
        for (const path of r.canceled ? [] : r.filePaths) await openWindow(path)
        return
      }
      case 'openPath':
        if (!existsSync(arg)) {
          state = { ...state, recent: state.recent.filter((p) => p !== arg) }
          buildMenu()
          return dialog.showErrorBox('Loom cannot open this notebook', `${arg} no longer exists.`)
        }
        return openWindow(arg)
      case 'clearRecent':
        state = { ...state, recent: [] }
        saveWindowState(STATE_FILE(), state)
        app.clearRecentDocuments()
        return buildMenu()
      case 'save':
        // The page saves: it first sends the edit still being typed (a save from here would miss it).
        if (w) w.win.webContents.send(MENU_CHANNEL, 'save')
        return
      case 'saveAs': {
        if (!w) return
        const r = await dialog.showSaveDialog(w.win, { title: 'Save notebook as', defaultPath: w.path, filters: FILTERS })
        if (r.canceled || !r.filePath) return
        const saved = await w.client.call('save', { path: r.filePath })
        w.path = saved.path
        w.win.setTitle(`${basename(saved.path)} — Loom`)
        return remember(saved.path)
      }
      case 'run':
      case 'pause':
      case 'step':
        if (w) await w.client.call(name, {})
        return
      case 'about':
        return dialog.showMessageBox({ type: 'info', title: 'About Loom', message: `Loom ${app.getVersion()}`, detail: 'A notebook and visual debugger for live transactional systems.' })
      case 'commandLine':
        return dialog.showMessageBox({
          type: 'info', title: 'Loom on the command line', message: 'The same notebooks run from a terminal:',
          detail: 'loom run NB        run the app headless\nloom serve NB      this UI in a browser\nloom log DB        list events\nloom help          everything else',
        })
    }
  } catch (err) {
    dialog.showErrorBox('Loom', err.message)
  }
}

/**
 * The window's own notebook switcher (renderer/shell/NotebookSwitcher.ts) asks what File › Open Recent
 * lists, and opens a notebook as File › Open does: each notebook in its window (one already open is
 * brought to the front); this window stays on its own. The window also asks whether its notebook's
 * grants wait to be allowed, and allows them (renderer/shell/EffectsAllowance.ts).
 */
async function answerWindow(entry, { id, op, params }) {
  const reply = (m) => !entry.win.isDestroyed() && entry.win.webContents.send(IPC_CHANNEL, { kind: 'response', id, ...m })
  try {
    if (op === 'recentNotebooks') return reply({ ok: true, result: { current: entry.path, recent: state.recent.map((path) => ({ path, at: 0 })) } })
    // Allowing the notebook's grants: here, where its file is read, never in the engine process.
    if (ALLOWANCE_OPS.includes(op)) return reply({ ok: true, result: answerAllowance(op, entry.path) })
    const path = notebookAt(String(params?.path ?? ''), entry.path)
    await openWindow(path)
    reply({ ok: true, result: { path, elsewhere: path !== entry.path } })
  } catch (err) {
    reply({ ok: false, error: { code: err.code ?? 'refused', message: err.message } })
  }
}

function buildMenu() {
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({ recent: state.recent, isMac: process.platform === 'darwin', act: (n, a) => void act(n, a) })))
}

/** The renderer's files, with the same headers as `loom serve` gives them. */
async function serveAppFile(request) {
  const url = new URL(request.url)
  const headers = { 'content-security-policy': CONTENT_SECURITY_POLICY, 'x-content-type-options': 'nosniff' }
  if (url.host !== 'app') return new Response('not found', { status: 404, headers })
  const file = resolvePath(RENDERER, url.pathname === '/' ? '/index.html' : url.pathname)
  if (typeof file === 'object') return new Response(file.message, { status: file.status, headers })
  try {
    const body = await readFile(file)
    const ext = file.endsWith('.d.ts') ? '.d.ts' : extname(file).toLowerCase()
    return new Response(body, { status: 200, headers: { ...headers, 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream' } })
  } catch {
    const built = existsSync(join(RENDERER, 'index.html'))
    return new Response(built ? 'not found' : NOT_BUILT, { status: built ? 404 : 503, headers: { ...headers, 'content-type': 'text/plain; charset=utf-8' } })
  }
}

/** Nothing but the app's own page, in the window that shows it. */
function lockDown() {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault()
    })
    contents.on('will-redirect', (event, url) => {
      if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault()
    })
    contents.on('will-attach-webview', (event) => event.preventDefault())
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.defaultSession.setPermissionCheckHandler(() => false)
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY], 'X-Content-Type-Options': ['nosniff'] } })
  })
  // Messages from a page: only from the main frame of one of our windows, showing our own page.
  ipcMain.on(IPC_CHANNEL, (event, message) => {
    const entry = windows.get(event.sender.id)
    const frame = event.senderFrame
    if (!entry || !frame || frame !== entry.win.webContents.mainFrame || !frame.url.startsWith(`${APP_ORIGIN}/`)) return
    if (message === null || typeof message !== 'object') return
    if (message.kind === 'request' && (message.op === 'openNotebook' || message.op === 'recentNotebooks' || ALLOWANCE_OPS.includes(message.op))) return void answerWindow(entry, message)
    for (const fn of entry.receive) fn(message)
  })
}

/** Notebooks named on the command line (`electron electron/main.js NB…`). */
function notebooksIn(argv) {
  return argv.slice(1).filter((a) => !a.startsWith('-') && a.endsWith('.md') && existsSync(a))
}

if (!app.requestSingleInstanceLock()) app.quit()
else {
  app.on('second-instance', (_event, argv) => {
    for (const path of notebooksIn(argv)) void openWindow(path)
  })
  app.on('open-file', (event, path) => {
    event.preventDefault()
    if (app.isReady()) void openWindow(path)
    else process.argv.push(path)
  })
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
  await app.whenReady()
  state = loadWindowState(STATE_FILE())
  protocol.handle(APP_SCHEME, serveAppFile)
  lockDown()
  buildMenu()
  const paths = notebooksIn(process.argv)
  const first = paths.length ? paths : state.recent.filter((p) => existsSync(p)).slice(0, 1)
  for (const path of first.length ? first : [join(ROOT, 'samples', 'bank.loom.md')]) await openWindow(path)
  app.on('activate', () => {
    if (!windows.size) void openWindow(state.recent.find((p) => existsSync(p)) ?? join(ROOT, 'samples', 'bank.loom.md'))
  })
}
