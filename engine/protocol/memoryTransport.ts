// Two connected in-memory transports: the protocol without a wire, for
// tests and for hosting the engine in the same process. Messages are
// copied through JSON on the way, as a real wire would, so nothing shared
// by reference can hide a bug the WebSocket would show.
import type { Message, Transport } from './messages.ts'

export function memoryPair(): [Transport, Transport] {
  const a = end()
  const b = end()
  a.peer = b
  b.peer = a
  return [a.transport, b.transport]
}

interface End {
  peer: End | null
  open: boolean
  receivers: Set<(m: Message) => void>
  closers: ((reason: string) => void)[]
  transport: Transport
}

function end(): End {
  const self: End = {
    peer: null,
    open: true,
    receivers: new Set(),
    closers: [],
    transport: {
      send(message) {
        if (!self.open) throw new Error('this transport is closed')
        const peer = self.peer!
        const copy = JSON.parse(JSON.stringify(message)) as Message
        // Delivered asynchronously, in order, like a socket.
        queueMicrotask(() => {
          if (peer.open) for (const fn of peer.receivers) fn(copy)
        })
      },
      onMessage(fn) {
        self.receivers.add(fn)
        return () => self.receivers.delete(fn)
      },
      onClose(fn) {
        self.closers.push(fn)
      },
      close() {
        shut(self, 'closed')
        if (self.peer) shut(self.peer, 'the other end closed')
      },
    },
  }
  return self
}

function shut(e: End, reason: string): void {
  if (!e.open) return
  e.open = false
  for (const fn of e.closers) fn(reason)
}
