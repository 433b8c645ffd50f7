// The declarations Monaco is given for `state`, `sys` and `test`
// (renderer/notebook/loom-api.d.ts) must fit the cells people really write:
// every sample type-checks against them, so the editor shows no false errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseNotebook } from '../engine/index.ts'

test('every sample type-checks against the cell API given to the editor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-cell-api-'))
  try {
    copyFileSync('renderer/notebook/loom-api.d.ts', join(dir, 'loom-api.d.ts'))
    const files = ['loom-api.d.ts']
    for (const name of readdirSync('samples').filter((f) => f.endsWith('.loom.md'))) {
      const nb = parseNotebook(readFileSync(join('samples', name), 'utf8'), name)
      // The engine joins a notebook's cells into one module; so does this check.
      const file = `${name.replace(/\.loom\.md$/, '')}.ts`
      writeFileSync(join(dir, file), `${nb.cells.map((c) => c.source).join('\n')}\nexport {}\n`)
      files.push(file)
    }
    // The options renderer/notebook/monaco.ts gives the editor.
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noImplicitAny: false, noEmit: true, target: 'es2022', lib: ['es2022'], types: [], module: 'esnext', moduleResolution: 'bundler' },
      files,
    }))
    const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' })
    assert.equal(r.status, 0, `type errors in the samples against loom-api.d.ts:\n${r.stdout}${r.stderr}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
