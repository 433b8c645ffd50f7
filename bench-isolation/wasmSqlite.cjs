// (a) SQLite without a native addon: node-sqlite3-wasm vs better-sqlite3 on Loom's durable append shape
// (group commits of G events stored as one row: bodies + 32-byte hashes, WAL, synchronous=FULL),
// and the plain-SQLite baseline of bench/sqlite.ts (one INSERT per transaction, WAL, NORMAL).
// usage: node bench-isolation/wasmSqlite.cjs [events=100000] [group=1000]
const { mkdtempSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { hash } = require('node:crypto')
const Better = require('better-sqlite3')
const { Database: Wasm } = require('../.probe/wasm/node_modules/node-sqlite3-wasm')
const N = Number(process.argv[2] ?? 100_000)
const G = Number(process.argv[3] ?? 1000)
const dir = mkdtempSync(join(tmpdir(), 'loom-iso-'))
const ev = (seq) => `{"branch":"main","seq":${seq},"kind":"step","codeHash":"","time":${1733300000000 + seq},"method":"step","input":null,"choices":[],"reads":[{"state":"count","version":${seq - 1}}],"writes":[{"state":"count","op":"set","value":${seq}}],"outputs":{}}`
const SCHEMA = 'CREATE TABLE chunks (branch INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, code TEXT NOT NULL, hashes BLOB NOT NULL, refs TEXT, bodies TEXT NOT NULL, PRIMARY KEY (branch, first)) WITHOUT ROWID'
function chunk(first) {
  const texts = []; const hashes = Buffer.allocUnsafe(32 * G); let h = '0'.repeat(64)
  for (let i = 0; i < G; i++) { const t = ev(first + i); h = hash('sha256', h + t, 'hex'); hashes.write(h, i * 32, 'hex'); texts.push(t) }
  return { first, last: first + G - 1, hashes, bodies: texts.join('\n') }
}
function better(path) {
  const db = new Better(path); db.pragma('page_size = 65536'); db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL'); db.exec(SCHEMA)
  const ins = db.prepare('INSERT INTO chunks VALUES (1, ?, ?, ?, ?, NULL, ?)')
  const t0 = performance.now()
  for (let f = 1; f <= N; f += G) { const c = chunk(f); db.transaction(() => ins.run(c.first, c.last, 'x'.repeat(64), c.hashes, c.bodies)).immediate() }
  const ms = performance.now() - t0; db.close(); return N / ms * 1000
}
function wasm(path) {
  const db = new Wasm(path)
  if (process.env.EXCLUSIVE) db.get('PRAGMA locking_mode = EXCLUSIVE')
  db.exec('PRAGMA page_size = 65536')
  const mode = db.get('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = FULL'); db.exec(SCHEMA)
  const ins = db.prepare('INSERT INTO chunks VALUES (1, ?, ?, ?, ?, NULL, ?)')
  const t0 = performance.now()
  for (let f = 1; f <= N; f += G) { const c = chunk(f); db.exec('BEGIN IMMEDIATE'); ins.run([c.first, c.last, 'x'.repeat(64), new Uint8Array(c.hashes), c.bodies]); db.exec('COMMIT') }
  const ms = performance.now() - t0; ins.finalize(); db.close(); return { rate: N / ms * 1000, mode: Object.values(mode)[0] }
}
function plainInserts(path, rows) {
  const db = new Better(path); db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, count INTEGER NOT NULL, at INTEGER NOT NULL)')
  const ins = db.prepare('INSERT INTO events (count, at) VALUES (?, ?)')
  for (let i = 1; i <= 1000; i++) ins.run(i, Date.now())
  const t0 = performance.now(); for (let i = 0; i < rows; i++) ins.run(i, Date.now()); const ms = performance.now() - t0
  db.close(); return rows / ms * 1000
}
function wasmPlainInserts(path, rows) {
  const db = new Wasm(path); db.get('PRAGMA journal_mode = WAL'); db.exec('PRAGMA synchronous = NORMAL')
  db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, count INTEGER NOT NULL, at INTEGER NOT NULL)')
  const ins = db.prepare('INSERT INTO events (count, at) VALUES (?, ?)')
  for (let i = 1; i <= 1000; i++) ins.run([i, Date.now()])
  const t0 = performance.now(); for (let i = 0; i < rows; i++) ins.run([i, Date.now()]); const ms = performance.now() - t0
  ins.finalize(); db.close(); return rows / ms * 1000
}
function interop() {
  const a = join(dir, 'by-wasm.db'); const w = new Wasm(a); w.exec('CREATE TABLE t (x TEXT)'); w.run('INSERT INTO t VALUES (?)', ['from wasm']); w.close()
  const r1 = new Better(a, { readonly: true }).prepare('SELECT x FROM t').pluck().get()
  const b = join(dir, 'by-better.db'); const bd = new Better(b); bd.pragma('journal_mode = WAL'); bd.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('from better')"); bd.close()
  let r2; try { const w2 = new Wasm(b); r2 = w2.get('SELECT x FROM t').x; w2.close() } catch (e) { r2 = 'ERROR ' + e.message }
  // both open at once: better-sqlite3 holds a WAL reader while wasm writes
  const c = join(dir, 'both.db'); const bc = new Better(c); bc.pragma('journal_mode = WAL'); bc.exec('CREATE TABLE t (x)')
  let r3; try { const wc = new Wasm(c); wc.run('INSERT INTO t VALUES (1)'); r3 = 'wasm wrote while better-sqlite3 had it open in WAL: ' + bc.prepare('SELECT count(*) FROM t').pluck().get(); wc.close() } catch (e) { r3 = 'ERROR ' + e.message }
  bc.close()
  return { wasmFileReadByBetter: r1, betterWalFileReadByWasm: r2, concurrent: r3 }
}
try {
  const out = { N, G }
  out.betterGroup = Math.round(better(join(dir, 'b.db')))
  const w = wasm(join(dir, 'w.db')); out.wasmGroup = Math.round(w.rate); out.wasmJournalMode = w.mode
  out.plainInsertNormal = Math.round(plainInserts(join(dir, 'p.db'), 20000))
  out.wasmPlainInsertNormal = Math.round(wasmPlainInserts(join(dir, 'wp.db'), 20000))
  out.interop = interop()
  console.log(JSON.stringify(out))
} finally { rmSync(dir, { recursive: true, force: true }) }
