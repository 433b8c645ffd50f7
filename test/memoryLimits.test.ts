// The heap limits of the processes that run cells and expressions: set by
// LOOM_ENGINE_MEMORY_MB and LOOM_EVAL_MEMORY_MB, where a value that is not a
// whole number of at least 16 MB is ignored for the default, and given to
// each confined process as --max-old-space-size.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { totalmem } from 'node:os'
import { engineMemoryMb, evalMemoryMb, evaluatorLaunch, runLaunch } from '../engine/host/engineLaunch.ts'

const quiet = { say: () => {} }

test('the limits are taken from the environment when they are whole numbers of MB, and are sensible defaults otherwise', () => {
  const engineDefault = Math.min(4096, Math.max(2048, Math.floor(totalmem() / 4 / 2 ** 20)))
  assert.equal(engineMemoryMb({}), engineDefault)
  assert.equal(evalMemoryMb({}), 256)
  assert.equal(engineMemoryMb({ LOOM_ENGINE_MEMORY_MB: '64' }), 64)
  assert.equal(evalMemoryMb({ LOOM_EVAL_MEMORY_MB: '512' }), 512)
  for (const garbage of ['', 'lots', '-5', '0', '15', '1e3x', '64.5', '9'.repeat(400), 'NaN', 'Infinity']) {
    assert.equal(engineMemoryMb({ LOOM_ENGINE_MEMORY_MB: garbage }), engineDefault, garbage)
    assert.equal(evalMemoryMb({ LOOM_EVAL_MEMORY_MB: garbage }), 256, garbage)
  }
})

test('the process that runs cells and the evaluator are started with their heap limit', () => {
  const run = runLaunch(null, { ...quiet, memoryMb: 96 })
  assert.ok(run.args.includes('--max-old-space-size=96'), run.args.join(' '))
  assert.equal(run.memoryMb, 96)
  const evaluator = evaluatorLaunch(80, quiet)
  assert.ok(evaluator.args.includes('--max-old-space-size=80'), evaluator.args.join(' '))
  assert.ok(!evaluator.args.some((a) => /--allow-(child-process|worker|addons|fs-write)/.test(a)), evaluator.args.join(' '))
})
