// What the log keeps beside the events, each checked by its hash where it is
// history: the code versions events ran (code table), the snapshots a seek
// starts from (snapshots table, one every K events per branch), and the
// compiled cells a reopened notebook reuses (kept_cells: derived data, not
// history — a lost, unreadable or changed row only means that cell compiles
// again; a changed one must never run in place of what the notebook says).
import type Database from 'better-sqlite3'
import { contentHash } from './hashChain.ts'
import type { KeptCells } from '../../runtime/transformCell.ts'
import { snapshotProblem, type StoreSnapshot } from '../../runtime/store.ts'

/** Compiled cells kept (the newest): enough for every cell of a notebook and the versions of a long live-coding session. */
export const KEPT_CELLS = 1000

export interface StoredCode {
  codeHash: string
  path: string
  code: string
  sources: { id: string; line: number; source: string }[]
}

export class CodeTable {
  constructor(private readonly db: Database.Database) {}

  put(code: StoredCode): void {
    this.db.prepare('INSERT OR IGNORE INTO code (hash, path, code, sources) VALUES (?, ?, ?, ?)').run(code.codeHash, code.path, code.code, JSON.stringify(code.sources))
  }

  get(codeHash: string): StoredCode | null {
    const row = this.db.prepare('SELECT hash, path, code, sources FROM code WHERE hash = ?').get(codeHash) as { hash: string; path: string; code: string; sources: string } | undefined
    return row ? { codeHash: row.hash, path: row.path, code: row.code, sources: sourcesOf(row.sources) } : null
  }

  /** Every code version's hash as stored, and the hash of its text (they differ if a byte flipped). */
  *blobs(): Generator<{ codeHash: string; actual: string }> {
    for (const row of this.db.prepare('SELECT hash, code FROM code').iterate() as Iterable<{ hash: string; code: string }>) {
      yield { codeHash: row.hash, actual: contentHash(row.code) }
    }
  }
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * The cells' sources as stored. They are not under the code's hash (the code
 * is): a text changed by hand into something else is read as no sources
 * (no bindings, no cell lines), never handed on in another shape.
 */
function sourcesOf(text: string): StoredCode['sources'] {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return []
  }
  const good = (c: unknown) => typeof c === 'object' && c !== null && typeof (c as { id?: unknown }).id === 'string' && Number.isSafeInteger((c as { line?: unknown }).line) && typeof (c as { source?: unknown }).source === 'string'
  return Array.isArray(v) && v.every(good) ? (v as StoredCode['sources']) : []
}

export class SnapshotTable {
  // Prepared once: compiling a statement costs more than the snapshot read a seek makes with it.
  private readonly stmt

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      put: db.prepare('INSERT OR REPLACE INTO snapshots (branch, seq, data, hash) VALUES (?, ?, ?, ?)'),
      newest: db.prepare('SELECT max(seq) FROM snapshots WHERE branch = ?').pluck(),
      atOrBefore: db.prepare('SELECT seq, data, hash FROM snapshots WHERE branch = ? AND seq <= ? ORDER BY seq DESC'),
    }
  }

  put(branchId: number, seq: number, state: StoreSnapshot): void {
    const data = JSON.stringify(state)
    this.stmt.put.run(branchId, seq, data, contentHash(data))
  }

  /** The seq of the branch's own newest snapshot, or null. */
  newest(branchId: number): number | null {
    return this.stmt.newest.get(branchId) as number | null
  }

  /** The latest snapshot of the branch itself at or before `seq` whose bytes match its hash. */
  at(branchId: number, seq: number): { seq: number; state: StoreSnapshot } | null {
    const rows = this.stmt.atOrBefore.iterate(branchId, seq) as IterableIterator<{ seq: number; data: string; hash: string }>
    // A damaged snapshot is passed over (verify reports it): the one before it and more write sets give the same state.
    for (const row of rows) {
      if (contentHash(row.data) !== row.hash) continue
      // Bytes that match a hash someone else wrote, but no snapshot: passed over the same way.
      const state = parsed(row.data)
      if (snapshotProblem(state)) continue
      rows.return?.()
      return { seq: row.seq, state: state as StoreSnapshot }
    }
    return null
  }

  /** Every snapshot of the branch, and whether its bytes match its hash. */
  *all(branchId: number): Generator<{ seq: number; ok: boolean }> {
    for (const row of this.db.prepare('SELECT seq, data, hash FROM snapshots WHERE branch = ? ORDER BY seq').iterate(branchId) as Iterable<{ seq: number; data: string; hash: string }>) {
      yield { seq: row.seq, ok: contentHash(row.data) === row.hash && snapshotProblem(parsed(row.data)) === null }
    }
  }
}

/**
 * Compiled cells, kept so that reopening the notebook does not start the
 * compiler (see compile.ts KeptCells). Each row keeps the hash of its code and
 * map: a row whose bytes changed on disk is not used, and the cell compiles
 * again from the notebook's text (a table written before the hash was kept
 * has none: its rows compile again, once, and are replaced).
 */
export class KeptCellsTable implements KeptCells {
  /** Whether the kept_cells table exists yet, and has its hash column: a log written before has neither until a cell is kept. */
  private exists: boolean
  private hashed: boolean
  /** Kept, and not yet written: found by `get` meanwhile. */
  private readonly unwritten = new Map<string, { code: string; map: string }>()

  constructor(private readonly db: Database.Database, tables: string[]) {
    this.exists = tables.includes('kept_cells')
    this.hashed = this.exists && hasHashColumn(db)
  }

  get(key: string): { code: string; map: string } | null {
    const unwritten = this.unwritten.get(key)
    if (unwritten) return unwritten
    if (!this.hashed || !this.db.open) return null
    const row = this.db.prepare('SELECT code, map, hash FROM kept_cells WHERE key = ?').get(key) as { code: string; map: string; hash: string } | undefined
    return row && row.hash === keptHash(row) ? { code: row.code, map: row.map } : null
  }

  put(key: string, cell: { code: string; map: string }): void {
    if (!this.unwritten.size) setImmediate(() => this.write())
    this.unwritten.set(key, cell)
  }

  /** Written after the edit that compiled them has run: these writes (and their fsync) are not on the way to the running app. */
  write(): void {
    const cells = [...this.unwritten]
    this.unwritten.clear()
    if (!cells.length || !this.db.open) return
    try {
      this.db.exec('CREATE TABLE IF NOT EXISTS kept_cells (key TEXT NOT NULL UNIQUE, code TEXT NOT NULL, map TEXT NOT NULL, hash TEXT NOT NULL DEFAULT \'\')')
      // A table from before the hash: its rows have none (never used), and are replaced as their cells compile.
      if (this.exists && !this.hashed && !hasHashColumn(this.db)) this.db.exec("ALTER TABLE kept_cells ADD COLUMN hash TEXT NOT NULL DEFAULT ''")
      this.exists = this.hashed = true
      const insert = this.db.prepare('INSERT OR REPLACE INTO kept_cells (key, code, map, hash) VALUES (?, ?, ?, ?)')
      this.db.transaction(() => {
        for (const [key, cell] of cells) insert.run(key, cell.code, cell.map, keptHash(cell))
        this.db.prepare('DELETE FROM kept_cells WHERE rowid <= (SELECT max(rowid) FROM kept_cells) - ?').run(KEPT_CELLS)
      }).immediate()
    } catch {
      // A log opened read-only, or busy beyond the timeout: the cells compile again next time.
    }
  }
}

/** What a kept cell's row is checked by: its code and its map, both. */
function keptHash(cell: { code: string; map: string }): string {
  return contentHash(`${cell.code}\0${cell.map}`)
}

function hasHashColumn(db: Database.Database): boolean {
  return (db.prepare('PRAGMA table_info(kept_cells)').all() as { name: string }[]).some((c) => c.name === 'hash')
}
