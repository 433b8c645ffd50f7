// One level of a breadth-first search: the states found and not yet
// expanded, in the order they were found. A level of a big model is most of
// exploration's memory, so past a bound (in bytes of its compact encoding)
// the rest of a level goes to a file, read back in order a piece at a time
// after the states kept in memory. Every step is short (one state, or one
// piece of a megabyte): the time limit that guards a batch also covers this
// code, and must never find it half-way through a long one. The
// file is made in the system's temporary folder and unlinked at once: only
// the open descriptor holds it, so a crash or kill -9 leaves nothing behind.
import { closeSync, constants, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Slot } from '../runtime/store.ts'
import { worldOf, type Situation, type World } from './worlds.ts'

/** What a level needs of exploration's worlds to write one down and read it back (Worlds). */
export interface FrontierWorlds {
  slotJson(cell: number, slot: Slot): string
  loadSlot(cell: number, json: string): { slot: Slot; key: number }
}

export interface Entry {
  world: World
  id: number
  /** The thread whose state it is (search.ts Queued); a spilled level is one thread's own. */
  shard: number
}

/**
 * A value (a cell's slot) is written once and then named by its row; each
 * cell's table starts over past this many rows, so reading back holds at
 * most this many values per cell besides the states being read.
 */
export const ROWS = 4096
/** How much of the file is written or read at a time. */
const PIECE = 1 << 20
/** Every this many states kept in memory, one is encoded to estimate their size. */
const SAMPLE = 256

export class Frontier {
  /** The states kept in memory; each let go (null) once taken, so a world expanded can be collected before the level ends. */
  private readonly kept: (Entry | null)[] = []
  /** Bytes the kept states would take encoded: estimated from a sample. */
  private keptBytes = 0
  private perState = 0
  private file: Spill | null = null
  private count = 0
  private taken = 0
  /** States of a spilled level taken away for another thread (takeAway): no longer this level's. */
  private given = 0
  /** What `mark` saw (fields, not an object: it is taken before every piece of a search's work). */
  private markCount = 0
  private markTaken = 0
  private markKept = 0
  private markBytes = 0
  private markPerState = 0
  private markBound = 0
  private markFile: Spill | null = null
  private markEntry: Entry | null = null

  /** `bound`: bytes of encoded states past which the level goes to a file (Infinity: never). */
  /** `dir`: where its file is made (default the system's temporary folder; a confined process's own folder). */
  constructor(private readonly worlds: FrontierWorlds, private bound: number, private readonly shard = 0, private readonly dir?: string) {}

  get length(): number {
    return this.count - this.given
  }

  /** Whether every state added has been taken. */
  get done(): boolean {
    return this.taken >= this.count
  }

  /** Whether this level went to a file. */
  get spilled(): boolean {
    return this.file !== null
  }

  push(entry: Entry): void {
    if (this.file) {
      this.file.write(entry)
      this.count++
      return
    }
    this.kept.push(entry)
    this.count++
    if (this.bound === Infinity) return
    if (this.kept.length % SAMPLE === 1) this.perState = encode(entry, this.worlds, null).length
    this.keptBytes += this.perState
    // The states kept stay in memory, read first; the rest of the level goes to the file.
    if (this.keptBytes > this.bound) this.file = this.spill()
  }

  /** A file for the rest of the level, or null where none can be made (a confined process may write no file): then it stays in memory. */
  private spill(): Spill | null {
    this.bound = Infinity
    try {
      return new Spill(this.worlds, this.shard, this.dir ?? tmpdir())
    } catch {
      return null
    }
  }

  /** The next state in the order they were added, or undefined at the end. */
  take(): Entry | undefined {
    // At the end the file stays open (a piece of work cut off after it is undone, and reads again): the search closes a level it is done with.
    if (this.taken >= this.count) return undefined
    const i = this.taken
    const entry = i < this.kept.length ? this.kept[i]! : this.file!.read()
    if (i < this.kept.length) this.kept[i] = null
    this.taken++
    return entry
  }

  /**
   * Remembers where the level stands, so that `rewind` can put it back: a
   * search's piece of work that the time limit cut off anywhere (a machine
   * stalled mid-way) is undone and done again (search.ts).
   */
  mark(): void {
    this.markCount = this.count
    this.markTaken = this.taken
    this.markKept = this.kept.length
    this.markBytes = this.keptBytes
    this.markPerState = this.perState
    this.markBound = this.bound
    this.markFile = this.file
    this.markEntry = this.taken < this.kept.length ? this.kept[this.taken]! : null
    this.file?.mark()
  }

  /** Back to the last `mark`: states added since are dropped, a state taken since is there again. */
  rewind(): void {
    if (this.file !== this.markFile) {
      // The level began its file since (a new file: only states added since are in it).
      this.file?.close()
      this.file = this.markFile
    }
    this.file?.rewind()
    if (this.kept.length > this.markKept) this.kept.length = this.markKept
    if (this.markEntry) this.kept[this.markTaken] = this.markEntry
    this.count = this.markCount
    this.taken = this.markTaken
    this.keptBytes = this.markBytes
    this.perState = this.markPerState
    this.bound = this.markBound
  }

  /** The i-th state of a level kept in memory (a random walk's levels are never spilled). */
  at(i: number): Entry {
    if (this.file) throw new Error('a spilled level is read in order only')
    return this.kept[i]!
  }

  /**
   * `count` states not yet taken, taken away (another thread expands them):
   * the last found of a level kept in memory; of a spilled one, the next in
   * order (its file is read in order only).
   */
  takeAway(count: number): Entry[] {
    if (this.file) {
      const out: Entry[] = []
      for (let entry; out.length < count && (entry = this.take()); ) out.push(entry)
      this.given += out.length
      return out
    }
    const out = this.kept.splice(Math.max(this.taken, this.kept.length - count)) as Entry[]
    this.count -= out.length
    return out
  }

  /** Lets go of the file, if any (also when the search stops before reading it all). */
  close(): undefined {
    this.file?.close()
    this.file = null
    return undefined
  }
}

/** Linux's O_TMPFILE (with O_DIRECTORY, as open(2) wants it): a file that never has a name. */
const O_TMPFILE = 0o20200000

/**
 * A file held by its descriptor alone: nothing to clean up after a crash. On
 * Linux it never has a name, so not even a kill between making and unlinking
 * it leaves one; elsewhere (or on a filesystem without O_TMPFILE) it is named
 * in a folder of its own and unlinked at once.
 */
function anonymousFile(folder: string): number {
  if (process.platform === 'linux') {
    try {
      return openSync(folder, O_TMPFILE | constants.O_RDWR, 0o600)
    } catch {
      // a filesystem without it: named, then unlinked
    }
  }
  const dir = mkdtempSync(join(folder, 'loom-frontier-'))
  try {
    const path = join(dir, 'level')
    const fd = openSync(path, 'w+', 0o600)
    unlinkSync(path)
    return fd
  } finally {
    // Also when the file could not be made: no folder is left behind.
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One spilled level: a line per state, written in pieces and read back in order. */
class Spill {
  private readonly fd: number
  private out = ''
  private written = 0
  private readAt = 0
  private lines: string[] = []
  private line = 0
  private rest = ''
  private readonly tables: Table[] = []
  private readonly reading: { slot: Slot; key: number }[][] = []
  /** Situations by key: few, kept as objects. */
  private readonly situations = new Map<number, Situation>()
  /** Where writing and reading stood at `mark` (strings and arrays are never changed in place: references do). */
  private marked = { out: '', written: 0, lines: [] as string[], line: 0, rest: '', readAt: 0 }

  constructor(private readonly worlds: FrontierWorlds, private readonly shard: number, folder: string) {
    this.fd = anonymousFile(folder)
  }

  /** Appends a state; the tables learn its new values only once its line is written. */
  write(entry: Entry): void {
    this.situations.set(entry.world.at.key, entry.world.at)
    const added: [cell: number, key: number][] = []
    this.out += encode(entry, this.worlds, this.tables, added) + '\n'
    for (const [cell, key] of added) this.tables[cell]!.learn(key)
    if (this.out.length >= PIECE) this.flush()
  }

  /** The next state; taken (moved past) only once it is made, so a read cut off is simply done again. */
  read(): Entry {
    if (this.line >= this.lines.length) this.fill()
    const entry = this.decode(this.lines[this.line]!)
    this.line++
    return entry
  }

  close(): void {
    closeSync(this.fd)
  }

  mark(): void {
    const m = this.marked
    m.out = this.out
    m.written = this.written
    m.lines = this.lines
    m.line = this.line
    m.rest = this.rest
    m.readAt = this.readAt
  }

  rewind(): void {
    const m = this.marked
    if (this.out !== m.out || this.written !== m.written) {
      // States written since are dropped, from the file too; the tables may have learnt their values: start them again (a new value is written whole).
      ftruncateSync(this.fd, m.written)
      this.out = m.out
      this.written = m.written
      this.tables.length = 0
    }
    this.lines = m.lines
    this.line = m.line
    this.rest = m.rest
    this.readAt = m.readAt
  }

  private flush(): void {
    const buf = Buffer.from(this.out, 'utf8')
    // At a position: written again whole if cut off before it is counted.
    writeSync(this.fd, buf, 0, buf.length, this.written)
    this.written += buf.length
    this.out = ''
  }

  /** Reads the next piece of whole lines. */
  private fill(): void {
    if (this.out) this.flush()
    const buf = Buffer.allocUnsafe(PIECE)
    for (;;) {
      const n = readSync(this.fd, buf, 0, PIECE, this.readAt)
      if (n === 0) throw new Error('a spilled level of exploration ended early: its temporary file was cut short')
      const text = this.rest + buf.toString('utf8', 0, n)
      const end = text.lastIndexOf('\n')
      if (end >= 0) {
        const lines = text.slice(0, end).split('\n')
        this.rest = text.slice(end + 1)
        this.lines = lines
        this.line = 0
        this.readAt += n
        return
      }
      this.rest = text
      this.readAt += n
    }
  }

  private decode(line: string): Entry {
    const [id, flags, at, ...cells] = JSON.parse(line) as [number, number, number, ...(number | string)[]]
    const slots = new Array<Slot>(cells.length)
    const keys = new Array<number>(cells.length)
    for (let i = 0; i < cells.length; i++) {
      const rows = (this.reading[i] ??= [])
      const c = cells[i]!
      let v: { slot: Slot; key: number }
      if (typeof c === 'number') v = rows[c]!
      else {
        // "row:json": a value met for the first time (since its row was last used), and the row it takes.
        const colon = c.indexOf(':')
        rows[Number(c.slice(0, colon))] = v = this.worlds.loadSlot(i, c.slice(colon + 1))
      }
      slots[i] = v.slot
      keys[i] = v.key
    }
    return { world: worldOf(slots, keys, (flags & 1) !== 0, (flags & 2) !== 0, this.situations.get(at)!), id, shard: this.shard }
  }
}

/** The values of one cell a spilled level has written, by key: at most ROWS, the oldest row reused first. */
class Table {
  private readonly rows = new Map<number, number>()
  private readonly keyAt: number[] = []
  /** The row the next new value takes. */
  next = 0

  rowOf(key: number): number | undefined {
    return this.rows.get(key)
  }

  learn(key: number): void {
    const row = this.next
    const old = this.keyAt[row]
    if (old !== undefined) this.rows.delete(old)
    this.rows.set(key, row)
    this.keyAt[row] = key
    this.next = (row + 1) % ROWS
  }
}

/**
 * A state as one line of JSON: its id, flags, situation, and per cell the
 * row of a value already written or "row:json" for a new one (listed in
 * `added`). Without tables, every value is written whole (to measure).
 */
function encode({ world, id }: Entry, worlds: FrontierWorlds, tables: Table[] | null, added: [number, number][] = []): string {
  const parts: (number | string)[] = [id, (world.started ? 1 : 0) + (world.halted ? 2 : 0), world.at.key]
  for (let i = 0; i < world.slots.length; i++) {
    const table = tables ? (tables[i] ??= new Table()) : null
    const key = world.keys[i]!
    const row = table?.rowOf(key)
    if (row !== undefined) parts.push(row)
    else if (!table) parts.push(worlds.slotJson(i, world.slots[i]!))
    else {
      parts.push(`${table.next}:${worlds.slotJson(i, world.slots[i]!)}`)
      added.push([i, key])
    }
  }
  return JSON.stringify(parts)
}
