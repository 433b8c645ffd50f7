// The cell-process side of (b): no SQLite here; group commits go to the parent over fd 3 (blocking
// writeSync/readSync, length-prefixed JSON), which writes them and acknowledges when durable.
const fs = require('node:fs')
const FD = 3
const N = Number(process.argv[2] ?? 100_000), G = Number(process.argv[3] ?? 1000), DEPTH = Number(process.argv[4] ?? 1)
// a frame: u32 header length, u32 body length, the header (JSON), the body (raw UTF-8: event texts need no escaping)
function send(obj, text = '') { const head = Buffer.from(JSON.stringify(obj)); const body = Buffer.from(text); const pre = Buffer.alloc(8); pre.writeUInt32LE(head.length); pre.writeUInt32LE(body.length, 4); writeAll(Buffer.concat([pre, head, body])) }
function writeAll(buf) { let off = 0; while (off < buf.length) { try { off += fs.writeSync(FD, buf, off) } catch (e) { if (e.code !== 'EAGAIN') throw e; Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1) } } }
function readExactly(n) { const buf = Buffer.alloc(n); let off = 0; while (off < n) { let r; try { r = fs.readSync(FD, buf, off, n - off, null) } catch (e) { if (e.code !== 'EAGAIN') throw e; Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); continue } if (r === 0) throw new Error('parent closed'); off += r } return buf }
function receive() { return JSON.parse(readExactly(readExactly(4).readUInt32LE()).toString()) }
const ev = (seq) => `{"branch":"main","seq":${seq},"kind":"step","codeHash":"","time":${1733300000000 + seq},"method":"step","input":null,"choices":[],"reads":[{"state":"count","version":${seq - 1}}],"writes":[{"state":"count","op":"set","value":${seq}}],"outputs":{}}`
// round trip of a small message
for (let i = 0; i < 200; i++) { send({ ping: i }); receive() }
const P = 2000; let t0 = performance.now()
for (let i = 0; i < P; i++) { send({ ping: i }); receive() }
const rttUs = (performance.now() - t0) / P * 1000
let outstanding = 0, acked = 0
t0 = performance.now()
for (let f = 1; f <= N; f += G) {
  const texts = []; for (let i = 0; i < G; i++) texts.push(ev(f + i))
  send({ chunk: { first: f, count: G } }, texts.join('\n')); outstanding++
  while (outstanding >= DEPTH) { const a = receive(); if (!a.ok) throw new Error(a.error); acked += a.count; outstanding-- }
}
while (outstanding) { const a = receive(); acked += a.count; outstanding-- }
const rate = N / (performance.now() - t0) * 1000
let addon; try { require('better-sqlite3'); addon = 'LOADED' } catch (e) { addon = `refused (${e.code ?? e.message.slice(0, 60)})` }
send({ done: { rttUs: Math.round(rttUs), rate: Math.round(rate), acked, addon, permission: !!process.permission } })
