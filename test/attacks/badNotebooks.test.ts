// Notebooks that are bad input: `loom serve --share` says so with the place
// and exits 2, as `loom run` does, rather than hang; a file that is not
// UTF-8 is refused by both with the same message, at its first bad byte.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeNotebook, NotebookError } from '../../engine/runtime/notebook.ts'
import { emptyRenderer, loom } from './sharedServe.ts'

const CELL = '```ts #counter\nconst count = state.var(\'count\', 0)\nexport function step() {\n  count.set(count.get() + 1)\n}\n```\n'

test('loom serve --share on a notebook that does not parse prints the error at its file, cell and line, and exits 2 like loom run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-broken-'))
  try {
    writeFileSync(join(dir, 'broken.loom.md'), `# Broken\n\n${CELL}\n\`\`\`ts #open\nconst x = 1\n`)
    const run = await loom(['run', 'broken.loom.md', '--steps', '1'], dir)
    assert.equal(run.code, 2)
    process.env.LOOM_RENDERER_DIR ??= emptyRenderer()
    const served = await loom(['serve', 'broken.loom.md', '--share', '--port', '0'], dir, 60_000)
    assert.equal(served.code, 2, `serve --share ended with ${served.code}:\n${served.stderr}`)
    const where = /broken\.loom\.md:10: code cell #open opened with ``` is never closed/
    assert.match(run.stderr, where)
    assert.match(served.stderr, where)
    assert.doesNotMatch(served.stdout, /Invite links/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a notebook that is not UTF-8 is refused by loom run and loom serve --share alike, naming the byte and its line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-latin1-'))
  try {
    const bytes = Buffer.concat([Buffer.from('# Caf'), Buffer.from([0xe9]), Buffer.from(`\n\nLatin-1, not UTF-8.\n\n${CELL}`)])
    const path = join(dir, 'latin1.loom.md')
    writeFileSync(path, bytes)
    const run = await loom(['run', 'latin1.loom.md', '--steps', '1'], dir)
    process.env.LOOM_RENDERER_DIR ??= emptyRenderer()
    const served = await loom(['serve', 'latin1.loom.md', '--share', '--port', '0'], dir, 60_000)
    const refusal = /latin1\.loom\.md:1: the file is not UTF-8 text: byte 5 \(0xe9\) is not valid UTF-8/
    assert.equal(run.code, 2)
    assert.match(run.stderr, refusal)
    assert.equal(served.code, 2, `serve --share ended with ${served.code}:\n${served.stderr}`)
    assert.match(served.stderr, refusal)
    // The one decoder both use; the file is left as it was.
    assert.throws(() => decodeNotebook(bytes, path), (err: unknown) => err instanceof NotebookError && err.line === 1)
    assert.deepEqual(readFileSync(path), bytes)
    // A BOM and valid multi-byte text decode exactly.
    assert.equal(decodeNotebook(Buffer.from('\uFEFF# Café ✓\n'), path), '\uFEFF# Café ✓\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
