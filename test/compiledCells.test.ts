// A confined engine process compiles with esbuild as WebAssembly, slow to
// start; whoever starts it may run native esbuild. On a first open (no log
// yet) the launcher hands the engine the notebook's cells compiled, and the
// engine runs them without compiling; once there is a log it hands nothing
// (the log keeps the cells) and spends no CPU on it.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sendCompiledCells } from '../engine/host/sendCompiledCells.ts'
import type { EngineProcess, ToEngine } from '../engine/host/engineLink.ts'
import { EngineHost } from '../engine/host/EngineHost.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { compileCellsNatively } from '../engine/runtime/transformCell.ts'
import { parseNotebook } from '../engine/runtime/notebook.ts'
import { notebook } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-compiled-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** What a launcher sends its process, in order. */
function recorder(): EngineProcess & { sent: ToEngine[] } {
  const sent: ToEngine[] = []
  return { sent, pid: 1, send: (m) => void sent.push(m), onMessage() {}, onExit() {}, kill() {} }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.ok(check(), 'timed out')
}

test('a first open starts the engine with the cells compiled; what is sent meanwhile follows the start', async () => {
  const path = join(dir, 'first.loom.md')
  writeFileSync(path, notebook({ a: "const n = state.var('n', 0)", b: 'export function step() { n.set(n.get() + 1) }' }))
  const child = recorder()
  const launched = sendCompiledCells(child)
  launched.send({ start: { notebook: path } })
  launched.send({ conn: 1, open: true })
  await until(() => child.sent.length === 2)
  const [start, open] = child.sent as [{ start: { compiled?: unknown[] } }, ToEngine]
  assert.deepEqual(start.start.compiled, await compileCellsNatively(parseNotebook(notebook({ a: "const n = state.var('n', 0)", b: 'export function step() { n.set(n.get() + 1) }' }), path)))
  assert.equal(start.start.compiled?.length, 2)
  assert.deepEqual(open, { conn: 1, open: true })
})

test('with a log there already, the start goes at once and carries nothing', () => {
  const path = join(dir, 'again.loom.md')
  writeFileSync(path, notebook({ a: 'export function step() {}' }))
  writeFileSync(join(dir, 'again.loom.db'), '')
  const child = recorder()
  sendCompiledCells(child).send({ start: { notebook: path } })
  assert.deepEqual(child.sent, [{ start: { notebook: path } }])
})

test('a notebook that does not parse starts the engine without compiled cells: the engine reports the problem', async () => {
  const path = join(dir, 'broken.loom.md')
  writeFileSync(path, '```ts #a\nexport function step() {}\n')
  const child = recorder()
  sendCompiledCells(child).send({ start: { notebook: path } })
  await until(() => child.sent.length === 1)
  assert.deepEqual(child.sent, [{ start: { notebook: path } }])
})

test('the engine runs the cells it was handed (kept in its log) rather than compiling them', async () => {
  const path = join(dir, 'handed.loom.md')
  // A source compiled nowhere else in this process: the engine can only have it from what it was handed, or compile it.
  const cells = { only: `export function step() { return ${Date.now()} }` }
  writeFileSync(path, notebook(cells))
  const [[key, cell]] = (await compileCellsNatively(parseNotebook(notebook(cells), path))) as [[string, { code: string; map: string }]]
  const host = await EngineHost.open({ notebook: path, compiled: [[key, { ...cell, code: cell.code + '// handed over\n' }]] })
  const { codeHash } = host.status()
  await host.close()
  const log = SqliteLog.open(join(dir, 'handed.loom.db'), { create: false })
  try {
    assert.match(log.getCode(codeHash)?.code ?? '', /\/\/ handed over/, 'the code that ran is the code handed over')
    assert.equal(log.keptCells.get(key)?.code, cell.code + '// handed over\n', 'and the log keeps it for the next open')
  } finally {
    log.close()
  }
})
