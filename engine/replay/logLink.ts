// The wire between a confined engine process and the process that holds its
// log (DESIGN §9): the engine process loads no SQLite (a native addon) and may
// write no file, so its group commits cross a socket pair (the child's fd 3)
// to the log host, which writes them and acknowledges once they are durable.
//
// A frame is a u32 length (little endian) and that many bytes of JSON. Each
// side validates what it receives before use: a broken engine process is the
// case this exists for.

/** The file descriptor of the link in the engine process. */
export const LINK_FD = 3
/** No frame is larger: a batch of events is at most a few MB. */
export const MAX_FRAME = 256 * 1024 * 1024

export function frame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message))
  const out = Buffer.allocUnsafe(4 + body.length)
  out.writeUInt32LE(body.length, 0)
  body.copy(out, 4)
  return out
}

/** Collects bytes and hands out whole frames, parsed. */
export class FrameReader {
  private parts: Buffer[] = []
  private have = 0

  push(bytes: Buffer): void {
    if (!bytes.length) return
    this.parts.push(bytes)
    this.have += bytes.length
  }

  /** The next whole message, or undefined when it has not all arrived. Throws on a frame that is too large or not JSON. */
  next(): unknown {
    if (this.have < 4) return undefined
    if (this.parts[0]!.length < 4) this.parts = [Buffer.concat(this.parts)]
    const n = this.parts[0]!.readUInt32LE(0)
    if (n > MAX_FRAME) throw new Error(`log link: a frame of ${n} bytes`)
    // Joined only once the whole frame is in: a large frame arrives in many pieces.
    if (this.have < 4 + n) return undefined
    if (this.parts.length > 1) this.parts = [Buffer.concat(this.parts)]
    const buf = this.parts[0]!
    const message = JSON.parse(buf.toString('utf8', 4, 4 + n)) as unknown
    const rest = buf.subarray(4 + n)
    this.parts = rest.length ? [rest] : []
    this.have = rest.length
    return message
  }
}
