// (b) SQLite in the parent: a confined child (--permission, no --allow-addons) sends group commits of G events;
// the parent writes each in one transaction (WAL, synchronous=FULL, hashes computed here) and acknowledges.
// usage: node bench-isolation/ipcLog.mjs [events=100000] [group=1000] [depth=1] [bwrap]
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { hash } from 'node:crypto'
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const Database = require('better-sqlite3')
const [N = '100000', G = '1000', DEPTH = '1', WRAP = ''] = process.argv.slice(2)
const here = dirname(new URL(import.meta.url).pathname)
const dir = mkdtempSync(join(tmpdir(), 'loom-ipc-'))
const db = new Database(join(dir, 'log.db')); db.pragma('page_size = 65536'); db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL')
db.exec('CREATE TABLE chunks (branch INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, code TEXT NOT NULL, hashes BLOB NOT NULL, refs TEXT, bodies TEXT NOT NULL, PRIMARY KEY (branch, first)) WITHOUT ROWID')
const ins = db.prepare('INSERT INTO chunks VALUES (1, ?, ?, ?, ?, NULL, ?)')
let last = '0'.repeat(64)
const nodeArgs = ['--experimental-permission', `--allow-fs-read=${here}`, '--disable-warning=ExperimentalWarning', join(here, 'ipcLogChild.cjs'), N, G, DEPTH]
const [cmd, args] = WRAP === 'bwrap'
  ? ['bwrap', ['--ro-bind', '/usr', '/usr', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin', '--ro-bind', here, here, '--proc', '/proc', '--dev', '/dev', '--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session', '--clearenv', process.execPath, ...nodeArgs]]
  : [process.execPath, nodeArgs]
const t0 = performance.now()
const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'pipe'], env: {} })
const sock = child.stdio[3]
let parts = [], have = 0
const reply = (obj) => { const body = Buffer.from(JSON.stringify(obj)); const head = Buffer.alloc(4); head.writeUInt32LE(body.length); sock.write(Buffer.concat([head, body])) }
let firstMessageMs = null
sock.on('data', (d) => {
  parts.push(d); have += d.length
  for (;;) {
    if (have < 8) return
    let buf = parts.length > 1 ? Buffer.concat(parts) : parts[0]; parts = [buf]
    const hn = buf.readUInt32LE(0), bn = buf.readUInt32LE(4); if (have < 8 + hn + bn) return
    const m = JSON.parse(buf.subarray(8, 8 + hn).toString()); const texts = buf.toString('utf8', 8 + hn, 8 + hn + bn)
    buf = buf.subarray(8 + hn + bn); parts = buf.length ? [buf] : []; have = buf.length
    firstMessageMs ??= performance.now() - t0
    if (m.ping !== undefined) reply({ pong: m.ping })
    else if (m.chunk) {
      const { first, count } = m.chunk; const lines = texts.split('\n'); const hashes = Buffer.allocUnsafe(32 * count)
      for (let i = 0; i < count; i++) { last = hash('sha256', last + lines[i], 'hex'); hashes.write(last, i * 32, 'hex') }
      db.transaction(() => ins.run(first, first + count - 1, 'x'.repeat(64), hashes, texts)).immediate()
      reply({ ok: true, count, hashes: hashes.toString('base64') })
    } else if (m.done) { console.log(JSON.stringify({ N: +N, G: +G, depth: +DEPTH, wrap: WRAP || 'none', startToFirstMessageMs: Math.round(firstMessageMs), ...m.done })); sock.end() }
  }
})
child.on('exit', (code) => { db.close(); rmSync(dir, { recursive: true, force: true }); if (code) process.exitCode = code })
