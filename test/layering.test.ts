import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
// @ts-expect-error: a plain JS script shared with `npm test`
import { checkLayering } from '../scripts/check-layering.js'

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'loom-layers-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

test('this repository keeps its layers', () => {
  assert.deepEqual(checkLayering('.'), [])
})

test('engine/ importing Electron, renderer code or the DOM fails the check, naming file and line', () => {
  const root = tree({
    'engine/runtime/a.ts': "import { x } from './b.ts'\nimport { app } from 'electron'\n",
    'engine/runtime/b.ts': "export const x = 1\nimport { view } from '../../renderer/notebook/view.ts'\n",
    'engine/replay/c.ts': 'export function f() {\n  return document.title\n}\n',
    'renderer/notebook/view.ts': 'export const view = 1\n',
  })
  const problems: string[] = checkLayering(root)
  assert.deepEqual(problems, [
    "engine/replay/c.ts:2: engine/ uses the DOM global 'document'",
    "engine/runtime/a.ts:2: engine/ imports 'electron', which belongs to the desktop app or the renderer",
    "engine/runtime/b.ts:2: engine/ imports '../../renderer/notebook/view.ts' from renderer/",
  ])
})

test('renderer/ importing Node built-ins or engine internals fails the check; the protocol is allowed', () => {
  const root = tree({
    'renderer/a.ts': "import fs from 'node:fs'\nimport { p } from '../engine/protocol/messages.ts'\nimport { Engine } from '../engine/runtime/engine.ts'\n",
    'engine/protocol/messages.ts': 'export const p = 1\n',
    'engine/runtime/engine.ts': 'export const Engine = 1\n',
  })
  assert.deepEqual(checkLayering(root), [
    "renderer/a.ts:1: renderer/ imports the Node built-in 'node:fs' (the renderer runs in a browser)",
    "renderer/a.ts:3: renderer/ imports engine code '../engine/runtime/engine.ts' (only engine/protocol is shared)",
  ])
})

test('the check exits non-zero on a violation, so npm test fails', () => {
  const root = tree({ 'engine/x.ts': "import 'electron'\n" })
  const r = spawnSync(process.execPath, ['scripts/check-layering.js', root], { encoding: 'utf8' })
  assert.equal(r.status, 1)
  assert.match(r.stderr, /engine\/x.ts:1: engine\/ imports 'electron'/)
})

test('engine/protocol/ importing a Node built-in or engine code (other than types) fails the check', () => {
  const root = tree({
    'engine/protocol/messages.ts': "import type { EventRecord } from '../runtime/event.ts'\nexport type { Json } from '../runtime/values.ts'\nimport { x } from './client.ts'\n",
    'engine/protocol/client.ts': "import { EventEmitter } from 'node:events'\nimport { Engine } from '../runtime/engine.ts'\nimport { type Op } from '../runtime/event.ts'\nexport const x = 1\n",
    'engine/runtime/event.ts': 'export type EventRecord = {}\n',
    'engine/runtime/values.ts': 'export type Json = null\n',
    'engine/runtime/engine.ts': 'export const Engine = 1\n',
  })
  assert.deepEqual(checkLayering(root), [
    "engine/protocol/client.ts:1: engine/protocol/ imports the Node built-in 'node:events' (the renderer bundles the protocol)",
    "engine/protocol/client.ts:2: engine/protocol/ imports '../runtime/engine.ts' (the protocol may import only itself, and other code only with 'import type')",
    "engine/protocol/client.ts:3: engine/protocol/ imports '../runtime/event.ts' (the protocol may import only itself, and other code only with 'import type')",
  ])
})

test('engine code outside the history module importing better-sqlite3 fails the check; the history module may', () => {
  const root = tree({
    'engine/host/timeline.ts': "import Database from 'better-sqlite3'\nexport const db = new Database(':memory:')\n",
    'engine/replay/history/schema.ts': "import Database from 'better-sqlite3'\nexport const db = new Database(':memory:')\n",
    'engine/replay/sqliteLog.ts': "import type Database from 'better-sqlite3'\nexport type D = Database.Database\n",
  })
  assert.deepEqual(checkLayering(root), [
    "engine/host/timeline.ts:1: engine/ imports 'better-sqlite3' (only the history module may: engine/replay/history/, engine/replay/sqliteLog.ts, engine/replay/chunk.ts, engine/replay/logWriter.ts)",
  ])
})

test('a second live-coding route (replaceCode called outside engine/runtime/liveCode.ts) fails the check', () => {
  const root = tree({
    'engine/runtime/liveCode.ts': 'export const liveCode = (engine, text) => engine.replaceCode(text)\n',
    'engine/host/shortcut.ts': 'export async function edit(engine, text) {\n  return engine.replaceCode(text)\n}\n',
  })
  assert.deepEqual(checkLayering(root), [
    'engine/host/shortcut.ts:2: engine/ replaces the running code itself; live coding goes through liveCode() (engine/runtime/liveCode.ts)',
  ])
})

test('a second door into the sandbox fails the check: node:vm outside the sandbox module, a value import of the sandbox or a sandbox.run call outside the transaction door', () => {
  const root = tree({
    'engine/runtime/sandbox.ts': "import vm from 'node:vm'\nexport class Sandbox {}\n",
    'engine/runtime/transaction/runBatch.ts': "import type { Sandbox } from '../sandbox.ts'\nexport const f = (sandbox: Sandbox) => sandbox.run(() => 1, 10)\n",
    'engine/runtime/transaction/hostApi.ts': "import { Sandbox } from '../sandbox.ts'\n",
    'engine/runtime/previews.ts': "import type { Sandbox } from './sandbox.ts'\nimport { Sandbox as S } from './sandbox.ts'\nexport const g = (sandbox: Sandbox) => sandbox.run(() => 2, 10)\n",
    'engine/replay/model.ts': "import { runInContext } from 'vm'\n",
    'engine/host/quick.ts': "import vm from 'node:vm'\n",
  })
  assert.deepEqual(checkLayering(root), [
    "engine/host/quick.ts:1: engine/ imports 'node:vm': only the sandbox module (engine/runtime/sandbox.ts) makes vm contexts",
    "engine/replay/model.ts:1: engine/ imports 'vm': only the sandbox module (engine/runtime/sandbox.ts) makes vm contexts",
    "engine/runtime/previews.ts:2: engine/ imports './sandbox.ts': only the transaction door (engine/runtime/transaction/) calls into the sandbox; import it as a type",
    "engine/runtime/previews.ts:3: engine/ calls sandbox.run: only engine/runtime/transaction/runBatch.ts enters the sandbox to run transactions (use Executor.run)",
  ])
})

test("writing the executor's transaction context outside the transaction door fails the check", () => {
  const root = tree({
    'engine/runtime/transaction/runTransaction.ts': 'export const f = (r: any) => { r.ctx.cur = null }\n',
    'engine/replay/model.ts': "export const g = (exec: any) => {\n  exec.ctx.ttyIn = ''\n}\n",
    'engine/runtime/previews.ts': 'export const h = (exec: any) => exec.ctx.lastTime === 0\n',
  })
  assert.deepEqual(checkLayering(root), [
    "engine/replay/model.ts:2: engine/ writes the executor's transaction context: only the transaction door (engine/runtime/transaction/) does",
  ])
})
