// The desktop window's settings in one plain module (no Electron import), so
// that tests can read the security settings back without starting Electron.
// DESIGN §9: the renderer is sandboxed, isolated, without Node, and shows
// only the app's own files.

/** The renderer's files are served to the window under this scheme, from dist/renderer/. */
export const APP_SCHEME = 'loom'
export const APP_ORIGIN = 'loom://app'
export const APP_URL = `${APP_ORIGIN}/index.html`

/** The one IPC channel between the preload bridge and the main process. */
export const IPC_CHANNEL = 'loom:message'
/** Menu commands the page carries out itself (Save: it first sends what is still being typed). */
export const MENU_CHANNEL = 'loom:menu'

/** As under `loom serve`, except that the engine is reached over IPC, so no socket may be opened at all. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ')

export const DEFAULT_BOUNDS = { width: 1280, height: 860 }

/**
 * BrowserWindow options for a notebook window.
 * @param {{ preload: string, title?: string, bounds?: { x?: number, y?: number, width: number, height: number } }} o
 */
export function windowOptions({ preload, title = 'Loom', bounds = DEFAULT_BOUNDS }) {
  return {
    ...bounds,
    minWidth: 640,
    minHeight: 400,
    title,
    show: false,
    backgroundColor: '#1e1e1e',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  }
}
