// The wire between a confined engine process and the process that holds its
// log (DESIGN §9): the engine process loads no SQLite (a native addon) and may
// write no file, so its group commits cross a socket pair (the child's fd 3)
// to the log host, which writes them and acknowledges once they are durable.
//
// A frame is two u32 lengths (little endian), that many bytes of JSON, then
// that many bytes of raw UTF-8: a message's `texts` (a commit's event
// encodings, one per line) travel raw, so they are neither escaped on the
// engine's thread nor unescaped here, and the log host's main thread hands
// them on to its writer thread without reading them (FrameReader's `rawAs`). Each side validates what it receives
// before use: a broken engine process is the case this exists for.

/** The file descriptor of the link in the engine process. */
export const LINK_FD = 3
/**
 * `loom run`'s engine process writes its frames to the launcher on a socket of
 * their own, left blocking (nothing in the engine process reads it, so libuv
 * never makes it non-blocking): a commit larger than the socket's buffer then
 * waits in the kernel, woken the moment the launcher reads, instead of napping
 * and retrying (measured: about 1,400 retries per 200,000 steps, the engine's
 * thread idle meanwhile). Answers and pushes still come on LINK_FD. Frames
 * keep their one order: all go down this socket.
 */
export const LINK_OUT_FD = 4
/** No frame is larger: a batch of events is at most a few MB. */
export const MAX_FRAME = 256 * 1024 * 1024

export function frame(message: object): Buffer {
  const texts = (message as { texts?: unknown }).texts
  const raw = typeof texts === 'string' && texts.length ? texts : null
  const head = Buffer.from(JSON.stringify(raw ? { ...message, texts: undefined } : message))
  // The texts are written straight into the frame: a commit's are about 150 KB, and a copy of them less is less garbage.
  const t = raw ? Buffer.byteLength(raw) : 0
  const out = Buffer.allocUnsafe(8 + head.length + t)
  out.writeUInt32LE(head.length, 0)
  out.writeUInt32LE(t, 4)
  head.copy(out, 8)
  if (raw) out.write(raw, 8 + head.length)
  return out
}

/**
 * Collects bytes and hands out whole frames, parsed. `rawAs`: what a message's
 * raw part becomes — its `texts` as a string, or (the log host) the bytes
 * themselves, in a buffer of their own: a commit's texts then go to the log's
 * writer thread unread (moved, not copied) and are decoded and checked there.
 */
export class FrameReader {
  private parts: Buffer[] = []
  private have = 0

  constructor(private readonly rawAs: 'text' | 'bytes' = 'text') {}

  push(bytes: Buffer): void {
    if (!bytes.length) return
    this.parts.push(bytes)
    this.have += bytes.length
  }

  /**
   * Hands every whole message received to `take`, in order, until none is left
   * or `take` returns false; a frame that cannot be read goes to `garbled`, and
   * nothing after it is read (the link is then no longer to be trusted).
   */
  drain(take: (message: unknown) => void | false, garbled: (err: Error) => void): void {
    for (;;) {
      let message: unknown
      try {
        message = this.next()
      } catch (err) {
        return garbled(err as Error)
      }
      if (message === undefined || take(message) === false) return
    }
  }

  /** The next whole message, or undefined when it has not all arrived. Throws on a frame that is too large or not JSON. */
  next(): unknown {
    if (this.have < 8) return undefined
    if (this.parts[0]!.length < 8) this.parts = [Buffer.concat(this.parts)]
    const n = this.parts[0]!.readUInt32LE(0)
    const t = this.parts[0]!.readUInt32LE(4)
    if (n + t > MAX_FRAME) throw new Error(`log link: a frame of ${n + t} bytes`)
    // Joined only once the whole frame is in: a large frame arrives in many pieces.
    if (this.have < 8 + n + t) return undefined
    if (this.parts.length > 1) this.parts = [Buffer.concat(this.parts)]
    const buf = this.parts[0]!
    const message = JSON.parse(buf.toString('utf8', 8, 8 + n)) as unknown
    if (t) {
      if (typeof message !== 'object' || message === null) throw new Error('log link: raw text on a message that is not an object')
      ;(message as { texts: string | Uint8Array }).texts = this.rawAs === 'text' ? buf.toString('utf8', 8 + n, 8 + n + t) : Uint8Array.prototype.slice.call(buf, 8 + n, 8 + n + t)
    }
    const rest = buf.subarray(8 + n + t)
    this.parts = rest.length ? [rest] : []
    this.have = rest.length
    return message
  }
}
