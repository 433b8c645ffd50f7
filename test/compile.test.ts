import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compileNotebook, CompileError } from '../engine/runtime/compile.ts'
import { parseNotebook } from '../engine/runtime/notebook.ts'
import { Engine } from '../engine/runtime/engine.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { contentHash } from '../engine/replay/history/hashChain.ts'
import { notebook, lineOf, open } from './helpers.ts'

async function compileErrors(cells: Record<string, string>): Promise<string> {
  try {
    await compileNotebook(parseNotebook(notebook(cells), 'app.loom.md'))
  } catch (err) {
    assert.ok(err instanceof CompileError, `expected a CompileError, got ${err}`)
    return err.message
  }
  assert.fail('expected the notebook not to compile')
}

test('a cell that fails to compile names the file line, the cell and the line inside it', async () => {
  const cells = { ok: 'const a = 1', bad: 'const b = 2\nconst c: number = (\n' }
  const msg = await compileErrors(cells)
  assert.match(msg, new RegExp(`^app\\.loom\\.md:${lineOf(cells, 'const c') + 1} \\(cell #bad, line 3\\): Unexpected end of file`))
})

test('the same method exported by two cells is an error naming both cells', async () => {
  const msg = await compileErrors({ one: 'export function step() {}', two: 'const x = 1\nexport function step() {}' })
  assert.match(msg, /\(cell #two, line 2\): method 'step' is exported by cell #one \(line 1\) and again here/)
})

test('a name declared at the top of two cells is an error naming both', async () => {
  const msg = await compileErrors({ one: 'const total = 1', two: 'function total() {}' })
  assert.match(msg, /\(cell #two, line 1\): 'total' is declared in cell #one \(line 1\) and again here; rename one/)
})

test('exports other than the methods, default exports and imports are refused with what to do', async () => {
  assert.match(await compileErrors({ a: 'export function helper() {}' }), /'helper' is not a method an app can export; the methods are start, step, http, gui, switch/)
  assert.match(await compileErrors({ a: 'export default function () {}' }), /cannot have a default export/)
  assert.match(await compileErrors({ a: "import fs from 'node:fs'\nexport function step() { fs }" }), /\(cell #a, line 1\): a cell cannot import modules/)
  assert.match(await compileErrors({ a: "export function step() { return import('node:fs') }" }), /a cell cannot load modules/)
})

test('async code and top-level let are refused: transactions are synchronous and state is explicit', async () => {
  assert.match(await compileErrors({ a: 'export async function step() {}' }), /async functions cannot run in a cell/)
  assert.match(await compileErrors({ a: 'const f = async () => 1' }), /async functions cannot run in a cell/)
  assert.match(await compileErrors({ a: 'let n = 0\nexport function step() { n++ }' }), /\(cell #a, line 1\): a top-level 'let' is not state/)
  assert.match(await compileErrors({ a: 'export function step() { (globalThis as any).x = 1 }' }), /globalThis is not state/)
})

test('TypeScript types and enums compile; type errors do not stop a run', async () => {
  const e = await open({ a: `enum Color { Red, Green }\ninterface P { x: number }\nconst v = state.var<P>('v', { x: Color.Green })\nconst bad: string = 42 as any as string\nexport function step() { v.set({ x: v.get().x + 1 }); sys.halt() }` })
  await e.run({ untilIdle: true })
  assert.equal(e.state().v!.value && (e.state().v!.value as { x: number }).x, 2)
})

test('switch is exported by alias, since switch is a keyword', async () => {
  const app = await compileNotebook(parseNotebook(notebook({ a: 'function onSwitch() {}\nexport { onSwitch as switch }\nexport function step() {}' })))
  assert.deepEqual(app.methods.sort(), ['step', 'switch'])
})

test('a duplicate state name is an error naming both declarations', async () => {
  const cells = { one: "const a = state.var('total', 0)", two: "const b = 1\nconst c = state.map('total')" }
  await assert.rejects(open(cells), (err: Error) => {
    assert.match(err.message, new RegExp(`test\\.loom\\.md:${lineOf(cells, "state.map('total')")} \\(cell #two, line 2\\): state 'total' is declared twice: first at test\\.loom\\.md:${lineOf(cells, "state.var('total'")} \\(cell #one, line 1\\)`))
    return true
  })
})

test('bad initial values and state used outside a transaction are load errors with the cell and line', async () => {
  await assert.rejects(open({ a: "const v = state.var('v', { f: () => 1 })" }), /\(cell #a, line 1\): the initial value of state 'v': a function is not plain data at \.f/)
  await assert.rejects(open({ a: "const v = state.var('v')" }), /state\.var\(name, initial\) needs an initial value/)
  await assert.rejects(open({ a: "const q = state.queue('q', 5)" }), /a queue starts from an array of items/)
  await assert.rejects(open({ a: "const v = state.var('v', 1)\nconst w = v.get()" }), /\(cell #a, line 2\): state can only be used inside a transaction/)
  await assert.rejects(open({ a: "throw new Error('boom')" }), /\(cell #a, line 1\): boom/)
})

test('a runtime error in a later cell maps to that cell and line through the compiled module', async () => {
  const cells = { a: '// one\n// two\nconst k = 1', b: 'type T = { a: number }\n\nexport function step() {\n  const t: T = { a: 1 }\n  throw new RangeError(`bad ${t.a}`)\n}' }
  const e = await Engine.fromSource(notebook(cells), { path: 'x.loom.md' })
  await e.run({ untilIdle: true })
  const a = e.attempts()[0]!
  assert.equal(a.reason, 'RangeError: bad 1')
  assert.deepEqual(a.location, { cell: 'b', line: 5, fileLine: lineOf(cells, 'throw new RangeError') })
})

test('replacing code with a broken notebook is refused and the old code keeps running', async () => {
  const e = await open({ s: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }" })
  await e.run({ steps: 2 })
  const r = await e.replaceCode('```ts #s\nexport function step( {\n```\n')
  assert.equal(r.ok, false)
  assert.deepEqual(!r.ok && [r.errors[0]!.code, r.errors[0]!.where?.cell, r.errors[0]!.where?.line], ['compile', 's', 1])
  await e.run({ steps: 2 })
  assert.equal(e.state().n!.value, 4)
})

test('new code adds new state with its initial value and keeps the old state', async () => {
  const e = await open({ s: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }" })
  await e.run({ steps: 3 })
  const r = await e.replaceCode("```ts #s\nconst n = state.var('n', 100)\nconst m = state.var('m', 'new')\nexport function step() { n.set(n.get() + 10) }\n```\n")
  assert.ok(r.ok)
  assert.equal(r.event.kind, 'code')
  assert.equal(r.event.codeHash, e.codeHash)
  await e.run({ steps: 1 })
  assert.equal(e.state().n!.value, 13)
  assert.equal(e.state().m!.value, 'new')
  // Redeclaring with another kind is refused.
  const bad = await e.replaceCode("```ts #s\nconst n = state.map('n')\n```\n")
  assert.match(!bad.ok ? bad.errors[0]!.message : '', /state 'n' is a var in the running app but is declared here as a map/)
  assert.deepEqual(!bad.ok && [bad.errors[0]!.code, bad.errors[0]!.where?.cell, bad.errors[0]!.where?.line], ['load', 's', 1])
})

test('a durable log keeps compiled cells: opening the notebook again compiles only the cells that changed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-kept-'))
  try {
    const db = join(dir, 'app.loom.db')
    const cells = { first: 'export function start() { }', second: 'export function step() { return 1 }' }
    const log = SqliteLog.open(db)
    await compileNotebook(parseNotebook(notebook(cells), 'app.loom.md'), log.keptCells)
    // Kept after the compile's caller has moved on.
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(log.db.prepare('SELECT count(*) FROM kept_cells').pluck().get(), 2)
    // Marks what the log holds, so the next compile shows where each cell came from.
    // (With the hash a row is checked by: a row changed any other way is not used.)
    const mark = log.db.prepare('UPDATE kept_cells SET code = ?, hash = ? WHERE key = ?')
    for (const row of log.db.prepare('SELECT key, code, map FROM kept_cells').all() as { key: string; code: string; map: string }[]) {
      const code = `${row.code}// from the log`
      mark.run(code, contentHash(`${code}\0${row.map}`), row.key)
    }
    log.close()

    // Another process, with nothing compiled in memory: one cell as before, one changed.
    const changed = { ...cells, second: 'export function step() { return 2 }' }
    const script = `
      import { compileNotebook } from './engine/runtime/compile.ts'
      import { parseNotebook } from './engine/runtime/notebook.ts'
      import { SqliteLog } from './engine/replay/sqliteLog.ts'
      const log = SqliteLog.open(${JSON.stringify(db)})
      const app = await compileNotebook(parseNotebook(${JSON.stringify(notebook(changed))}, 'app.loom.md'), log.keptCells)
      await new Promise((resolve) => setImmediate(resolve))
      console.log(JSON.stringify({ code: app.code, kept: log.db.prepare('SELECT count(*) FROM kept_cells').pluck().get() }))
      log.close()`
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })) as { code: string; kept: number }
    assert.equal(out.code.match(/\/\/ from the log/g)?.length, 1, 'the unchanged cell came from the log, the changed one was compiled')
    assert.match(out.code, /return 2/)
    assert.equal(out.kept, 3, 'the changed cell is kept too')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
