// The application menu, as a plain template (no Electron import) so that it
// can be checked without starting Electron. `act(name, arg)` does the work.

/**
 * @param {{ recent: string[], isMac: boolean, act: (name: string, arg?: string) => void, appName?: string }} o
 */
export function menuTemplate({ recent, isMac, act, appName = 'Loom' }) {
  const file = {
    label: '&File',
    submenu: [
      { label: '&New Notebook…', accelerator: 'CmdOrCtrl+N', click: () => act('new') },
      { label: '&Open…', accelerator: 'CmdOrCtrl+O', click: () => act('open') },
      {
        label: 'Open &Recent',
        submenu: recent.length
          ? [...recent.map((path) => ({ label: path, click: () => act('openPath', path) })), { type: 'separator' }, { label: 'Clear Recent', click: () => act('clearRecent') }]
          : [{ label: 'No recent notebooks', enabled: false }],
      },
      { type: 'separator' },
      { label: '&Save', accelerator: 'CmdOrCtrl+S', click: () => act('save') },
      { label: 'Save &As…', accelerator: 'CmdOrCtrl+Shift+S', click: () => act('saveAs') },
      { type: 'separator' },
      { role: 'close' },
      ...(isMac ? [] : [{ role: 'quit' }]),
    ],
  }
  const run = {
    label: '&Run',
    submenu: [
      { label: '&Run', accelerator: 'F5', click: () => act('run') },
      { label: '&Pause', accelerator: 'Shift+F5', click: () => act('pause') },
      { label: '&Step', accelerator: 'F10', click: () => act('step') },
    ],
  }
  const view = {
    label: '&View',
    submenu: [
      { role: 'reload' },
      { role: 'toggleDevTools' },
      { type: 'separator' },
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  }
  const help = {
    role: 'help',
    submenu: [
      { label: `About ${appName}`, click: () => act('about') },
      { label: 'Loom on the Command Line', click: () => act('commandLine') },
    ],
  }
  const edit = { role: 'editMenu' }
  return [...(isMac ? [{ role: 'appMenu' }] : []), file, edit, run, view, help]
}
