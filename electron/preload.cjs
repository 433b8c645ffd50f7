// The whole bridge between the sandboxed page and the desktop app: send a
// protocol message to this window's engine, hear its messages, and hear the
// menu commands the page carries out itself. Nothing
// else of Electron or Node reaches the page. (CommonJS: sandboxed preloads
// cannot be ES modules.)
const { contextBridge, ipcRenderer } = require('electron')

const CHANNEL = 'loom:message'
const MENU = 'loom:menu'
/** The menu commands a page may be asked to do. */
const COMMANDS = new Set(['save'])

contextBridge.exposeInMainWorld('loom', Object.freeze({
  /** Sends one protocol message (a plain object) to the engine. */
  send(message) {
    if (message === null || typeof message !== 'object') throw new TypeError('loom.send takes a protocol message (an object)')
    ipcRenderer.send(CHANNEL, message)
  },
  /** Calls fn with each message from the engine; returns a function that stops it. */
  onMessage(fn) {
    if (typeof fn !== 'function') throw new TypeError('loom.onMessage takes a function')
    const listener = (_event, message) => fn(message)
    ipcRenderer.on(CHANNEL, listener)
    return () => ipcRenderer.removeListener(CHANNEL, listener)
  },
  /** Calls fn with each menu command the page carries out itself ('save'); returns a function that stops it. */
  onMenu(fn) {
    if (typeof fn !== 'function') throw new TypeError('loom.onMenu takes a function')
    const listener = (_event, command) => COMMANDS.has(command) && fn(command)
    ipcRenderer.on(MENU, listener)
    return () => ipcRenderer.removeListener(MENU, listener)
  },
}))
