// Adding, deleting and moving cells rewrites the notebook's text: the rest of
// the file must come back as the author wrote it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { parseNotebook } from '../engine/runtime/notebook.ts'
import { cellViews, withCellAdded, withCellDeleted } from '../engine/host/notebookCells.ts'

const samples = readdirSync('samples').filter((f) => f.endsWith('.loom.md')).map((f) => ({ name: f, text: readFileSync(`samples/${f}`, 'utf8') }))

test('a code cell added anywhere and deleted again leaves the file byte for byte as it was', () => {
  for (const { name, text } of samples) {
    const nb = parseNotebook(text, name)
    for (const after of [null, ...cellViews(nb).map((c) => c.id)]) {
      const added = withCellAdded(nb, after, 'code', '')
      assert.notEqual(added.text, text)
      assert.equal(withCellDeleted(parseNotebook(added.text, name), added.cell), text, `${name}: a cell added after ${after ?? 'the front matter'}`)
    }
  }
})

test('prose added between two code cells and deleted again leaves the file as it was; next to prose it joins that prose', () => {
  let between = 0
  for (const { name, text } of samples) {
    const nb = parseNotebook(text, name)
    for (const after of [null, ...cellViews(nb).map((c) => c.id)]) {
      const added = withCellAdded(nb, after, 'prose', 'A new paragraph.')
      const grown = parseNotebook(added.text, name)
      const joined = cellViews(grown).length === cellViews(nb).length
      if (joined) assert.match(cellViews(grown).find((c) => c.id === added.cell)!.source, /A new paragraph\.[\s\S]+|[\s\S]+A new paragraph\./, `${name}: prose beside prose is one cell`)
      else {
        between++
        assert.equal(withCellDeleted(grown, added.cell), text, `${name}: prose added after ${after ?? 'the front matter'}`)
      }
    }
  }
  assert.ok(between > 0, 'the samples have code cells next to each other')
})

test('deleting any cell leaves one blank line where it was, none at the top of the body or the end', () => {
  for (const { name, text } of samples) {
    const nb = parseNotebook(text, name)
    for (const cell of cellViews(nb)) {
      const left = withCellDeleted(nb, cell.id)
      assert.doesNotMatch(left, /\n\n\n/, `${name} without ${cell.id}`)
      assert.doesNotMatch(left, /\n\n$/, `${name} without ${cell.id}`)
      assert.doesNotMatch(left, /^---\n[\s\S]*?\n---\n\n/, `${name} without ${cell.id}`)
    }
  }
})
