// The record of what was acknowledged, kept outside SQLite: NAME.loom.db.heads
// holds, per branch, the last acknowledged seq and its hash. The writer updates
// it after a group commit is durable and before the acknowledgment goes out,
// so a log whose WAL was lost or truncated is found behind its record.
//
// Format (text, fixed 256-byte lines, each padded with spaces and ending "\n"):
//   line 0:           `loom-heads 1 …`   (magic and version)
//   lines 2i-1, 2i:   two copies of branch id i's slot:
//                     `b ID SEQ HASH CREATED NAME CHECK`
// CHECK is the first 16 hex digits of sha256 of the text before it. A writer
// overwrites the older (or unsound) copy only, so a write torn by a crash
// leaves the other copy — the previous acknowledgment — readable. Each branch
// has its own lines: two processes writing two branches never touch the same bytes.
import { closeSync, fsyncSync, openSync, readSync, writeSync, readFileSync, existsSync, constants } from 'node:fs'
import { hash as digest } from 'node:crypto'
import { dirname } from 'node:path'

export const HEADS_MAGIC = 'loom-heads'
export const HEADS_VERSION = 1
const LINE = 256
const NAME_MAX = 150

/** One branch's last acknowledged event, as recorded. */
export interface AckedHead {
  id: number
  name: string
  created: number
  seq: number
  hash: string
}

export type HeadsRead =
  | { state: 'ok'; heads: AckedHead[]; damaged: { id: number; why: string }[] }
  | { state: 'missing' }
  | { state: 'unreadable'; why: string }

/** The name as a slot keeps it: long names are cut and marked with a hash, so the line stays 256 bytes. */
function slotName(name: string): string {
  return name.length <= NAME_MAX ? name : `${name.slice(0, NAME_MAX - 17)}~${digest('sha256', name, 'hex').slice(0, 16)}`
}

function check(text: string): string {
  return digest('sha256', text, 'hex').slice(0, 16)
}

function line(text: string): Buffer {
  const buf = Buffer.alloc(LINE, ' ')
  buf.write(text, 0, 'latin1')
  buf[LINE - 1] = 0x0a
  return buf
}

/** A slot's copy: the head it holds, null when empty, or why it is unsound. */
function parseSlot(bytes: Buffer, id: number): AckedHead | null | string {
  const text = bytes.toString('latin1').replace(/[\s\0]+$/, '')
  if (!text) return null
  const parts = text.split(' ')
  if (parts.length !== 7 || parts[0] !== 'b') return 'not a slot line'
  const [, ids, seqs, hash, createds, name, sum] = parts as [string, string, string, string, string, string, string]
  if (check(parts.slice(0, 6).join(' ')) !== sum) return 'its check does not match'
  if (Number(ids) !== id) return `it names branch id ${ids}, at the place of id ${id}`
  const seq = Number(seqs)
  const created = Number(createds)
  if (!Number.isSafeInteger(seq) || seq < 0 || !/^[0-9a-f]{64}$/.test(hash) || !Number.isSafeInteger(created)) return 'a field is malformed'
  return { id, name, created, seq, hash }
}

/** Reads the record; never throws (a record that cannot be read is described instead). */
export function readHeads(path: string): HeadsRead {
  let bytes: Buffer
  try {
    if (!existsSync(path)) return { state: 'missing' }
    bytes = readFileSync(path)
  } catch (err) {
    return { state: 'unreadable', why: (err as Error).message }
  }
  const header = bytes.subarray(0, LINE).toString('latin1').split(' ')
  if (bytes.length < LINE || header[0] !== HEADS_MAGIC) return { state: 'unreadable', why: 'its first line is not a Loom heads record' }
  const version = Number(header[1])
  if (!Number.isSafeInteger(version) || version < 1) return { state: 'unreadable', why: 'its format version is damaged' }
  if (version > HEADS_VERSION) return { state: 'unreadable', why: `it was written by a newer Loom (heads format ${version}; this Loom reads ${HEADS_VERSION})` }
  const heads: AckedHead[] = []
  const damaged: { id: number; why: string }[] = []
  for (let id = 1; LINE * (2 * id - 1) < bytes.length; id++) {
    const a = parseSlot(bytes.subarray(LINE * (2 * id - 1), LINE * 2 * id), id)
    const b = parseSlot(bytes.subarray(LINE * 2 * id, LINE * (2 * id + 1)), id)
    const sound = [a, b].filter((x): x is AckedHead => typeof x === 'object' && x !== null)
    if (sound.length) heads.push(sound.reduce((x, y) => (y.seq > x.seq ? y : x)))
    // One unsound copy is what a write torn by a crash leaves; both unsound is damage.
    else if (typeof a === 'string' && typeof b !== 'object') damaged.push({ id, why: a })
    else if (typeof b === 'string' && typeof a !== 'object') damaged.push({ id, why: b })
  }
  return { state: 'ok', heads, damaged }
}

/** The writing side: one per process (or thread) that commits events. */
export class HeadsWriter {
  private fd: number | null = null

  constructor(readonly path: string, private readonly fsync: boolean) {}

  /** Records that `seq` (with `hash`) is branch `id`'s last acknowledged event; durable when it returns (with fsync). */
  write(head: AckedHead): void {
    try {
      this.writeSlot(head)
    } catch (err) {
      throw new Error(`${this.path}: could not record that events up to ${head.seq} of branch '${head.name}' are durable (${(err as Error).message}); they are not acknowledged`)
    }
  }

  private writeSlot(head: AckedHead): void {
    const fd = this.open()
    const at = LINE * (2 * head.id - 1)
    const both = Buffer.alloc(2 * LINE)
    readSync(fd, both, 0, 2 * LINE, at)
    const copies = [parseSlot(both.subarray(0, LINE), head.id), parseSlot(both.subarray(LINE), head.id)]
    const seqOf = (c: AckedHead | null | string) => (typeof c === 'object' && c !== null && c.name === slotName(head.name) && c.created === head.created ? c.seq : -1)
    // Overwrite the older copy: the newer one stays whole whatever happens to this write.
    const target = seqOf(copies[0]!) <= seqOf(copies[1]!) ? 0 : 1
    const body = `b ${head.id} ${head.seq} ${head.hash} ${head.created} ${slotName(head.name)}`
    writeSync(fd, line(`${body} ${check(body)}`), 0, LINE, at + target * LINE)
  }

  /** Forgets branch `id` (it is being deleted): its id may be given to a new branch. */
  clear(id: number): void {
    // No record yet: nothing to forget, and an empty record would hide that the log has none.
    if (this.fd === null && !existsSync(this.path)) return
    const fd = this.open()
    writeSync(fd, Buffer.concat([line(''), line('')]), 0, 2 * LINE, LINE * (2 * id - 1))
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
  }

  private open(): number {
    if (this.fd !== null) return this.fd
    // O_DSYNC: each write is durable when it returns. Not fsync(): Node's permission model (the confined
    // engine, DESIGN §9) disables the fsync calls, and one synchronous write costs the same.
    const flags = constants.O_RDWR | (this.fsync ? constants.O_DSYNC : 0)
    try {
      this.fd = openSync(this.path, flags)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      try {
        this.fd = openSync(this.path, flags | constants.O_CREAT | constants.O_EXCL, 0o644)
        writeSync(this.fd, line(`${HEADS_MAGIC} ${HEADS_VERSION} the last acknowledged event of each branch of this log; written by Loom, do not edit`), 0, LINE, 0)
        if (this.fsync) syncDirectory(dirname(this.path))
      } catch (again) {
        // Another process created it meanwhile.
        if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again
        this.fd = openSync(this.path, flags)
      }
    }
    return this.fd
  }
}

/** A new file's name is durable once its folder is synced. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // Some systems cannot sync a folder, and the permission model forbids it; the file's contents are synced regardless.
  }
}
