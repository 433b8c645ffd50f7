// How the UI reaches the engine host: the Electron preload bridge when the
// page runs in the desktop app, otherwise a WebSocket to the server that
// served the page. Either way the rest of the UI sees one Transport.
import type { Message, Transport } from '../engine/protocol/messages.ts'

/** Opens a transport; resolves once it can carry messages, rejects when it cannot be opened. */
export function openTransport(): Promise<Transport> {
  const bridge = window.loom
  if (bridge) return Promise.resolve(bridgeTransport(bridge))
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return webSocketTransport(`${scheme}//${location.host}/engine`)
}

function bridgeTransport(bridge: LoomBridge): Transport {
  const receivers = new Set<(m: Message) => void>()
  bridge.onMessage((m) => {
    for (const fn of receivers) fn(m as Message)
  })
  return {
    send: (message) => bridge.send(message),
    onMessage(fn) {
      receivers.add(fn)
      return () => receivers.delete(fn)
    },
    // The engine host outlives the window; a crash of the engine arrives as an engineCrashed notice.
    onClose() {},
    close() {},
  }
}

function webSocketTransport(url: string): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const receivers = new Set<(m: Message) => void>()
    const closers: ((reason: string) => void)[] = []
    let opened = false
    ws.addEventListener('message', (e) => {
      if (typeof e.data !== 'string') return
      let m: Message
      try {
        m = JSON.parse(e.data) as Message
      } catch {
        return console.error('loom: the engine sent a frame that is not JSON', e.data.slice(0, 200))
      }
      for (const fn of receivers) fn(m)
    })
    ws.addEventListener('close', (e) => {
      if (!opened) return reject(new Error(`cannot connect to ${url} (${e.code})`))
      const reason = e.reason || `connection lost (${e.code})`
      for (const fn of closers) fn(reason)
    })
    ws.addEventListener('open', () => {
      opened = true
      resolve({
        send(message) {
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message))
        },
        onMessage(fn) {
          receivers.add(fn)
          return () => receivers.delete(fn)
        },
        onClose(fn) {
          closers.push(fn)
        },
        close: () => ws.close(1000, 'closed by the UI'),
      })
    })
  })
}
