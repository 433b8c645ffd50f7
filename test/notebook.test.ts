// Tests for the notebook parser/serialiser: settings, cells and ids, prose fences, errors with
// lines, byte-exact round trips (also under fuzzing) and setCellSource.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  NotebookError,
  parseNotebook,
  serializeNotebook,
  setCellSource,
  type CodeCell,
  type Notebook,
} from '../engine/runtime/notebook.ts'

const BANK = `---
title: Bank
seed: 7            # entropy for sys.random (default: a fixed per-notebook value)
http: 8080         # port for the app's http method (default: none; 0 = any free port)
---
# Bank

Accounts live in a map; transfers wait in a queue.

\`\`\`ts #state
const accounts = state.map<number>('accounts', { alice: 100, bob: 50 })
const transfers = state.queue<{ from: string; to: string; amount: number }>('transfers')
\`\`\`

\`\`\`ts #step
export function step() {
  const t = transfers.take()            // empty queue: the step waits
  const from = accounts.get(t.from) ?? 0
  if (from < t.amount) sys.abort(\`insufficient funds in \${t.from}\`)
  accounts.set(t.from, from - t.amount)
  accounts.set(t.to, (accounts.get(t.to) ?? 0) + t.amount)
}

test('money is conserved', () =>
  accounts.values().reduce((a, b) => a + b, 0) === 150)
\`\`\`
`

const FENCE = '```'

/** Parse, expecting a NotebookError; returns it so the test can look at line and message. */
function parseError(text: string, path = 'nb.loom.md'): NotebookError {
  try {
    parseNotebook(text, path)
  } catch (e) {
    assert.ok(e instanceof NotebookError, `expected a NotebookError, got ${String(e)}`)
    return e
  }
  assert.fail('expected parseNotebook to throw')
}

function cell(nb: Notebook, i: number): CodeCell {
  const c = nb.cells[i]
  assert.ok(c, `no cell ${i}`)
  return c
}

test('parses the bank example: settings, cells #state and #step, prose kept, byte-exact round trip', () => {
  const nb = parseNotebook(BANK, 'bank.loom.md')
  assert.equal(nb.path, 'bank.loom.md')
  assert.deepEqual(nb.settings, { title: 'Bank', seed: 7, http: 8080 })
  assert.ok(nb.frontMatter?.startsWith('---\ntitle: Bank\n'))
  assert.ok(nb.frontMatter?.endsWith('---\n'))
  assert.deepEqual(nb.cells.map((c) => c.id), ['state', 'step'])
  assert.ok(nb.cells.every((c) => c.explicitId && c.lang === 'ts' && c.fence === FENCE && c.indent === ''))
  assert.equal(cell(nb, 0).info, 'ts #state')
  assert.ok(cell(nb, 0).source.startsWith("const accounts = state.map<number>('accounts'"))
  assert.ok(cell(nb, 1).source.endsWith('=== 150)'), 'no trailing newline in source')
  assert.deepEqual(nb.blocks.map((b) => b.type), ['prose', 'code', 'prose', 'code'])
  const prose = nb.blocks[0]
  assert.equal(prose?.type === 'prose' && prose.text, '# Bank\n\nAccounts live in a map; transfers wait in a queue.\n\n')
  assert.equal(nb.blocks[1], nb.cells[0], 'cells are the same objects as in blocks')
  assert.equal(serializeNotebook(nb), BANK)
})

test('a cell line is the 1-based file line of its first code line', () => {
  for (const text of [BANK, BANK.replace(/\n/g, '\r\n'), `intro\n\n  ~~~~typescript\n  x\n  ~~~~\n${FENCE}ts\n${FENCE}`]) {
    const nb = parseNotebook(text)
    const lines = text.split(/\r?\n/)
    assert.ok(nb.cells.length > 0)
    for (const c of nb.cells) {
      assert.equal(lines[c.line - 2], c.indent + c.fence + c.info, 'line before is the opening fence')
      const firstCode = c.source.split('\n')[0] ?? ''
      if (c.source !== '') assert.equal(lines[c.line - 1], c.indent + firstCode)
    }
  }
  assert.equal(cell(parseNotebook(BANK), 0).line, 11)
  assert.equal(cell(parseNotebook(BANK), 1).line, 16)
})

test('cells without an id get cell-N from their position among cells', () => {
  const text = `${FENCE}ts\na\n${FENCE}\n\n${FENCE}typescript #named\nb\n${FENCE}\n${FENCE}ts   \nc\n${FENCE}\n`
  const nb = parseNotebook(text)
  assert.deepEqual(nb.cells.map((c) => [c.id, c.explicitId, c.lang]), [
    ['cell-1', false, 'ts'],
    ['named', true, 'typescript'],
    ['cell-3', false, 'ts'],
  ])
  assert.equal(serializeNotebook(nb), text)
})

test('other words in the info string are allowed next to the id', () => {
  const nb = parseNotebook(`${FENCE}ts  readonly #x title="y"\n1\n${FENCE}\n`)
  assert.equal(cell(nb, 0).id, 'x')
  assert.equal(cell(nb, 0).info, 'ts  readonly #x title="y"')
})

test('a duplicate id is an error naming both cells', () => {
  const text = `# x\n\n${FENCE}ts #step\na\n${FENCE}\n\n${FENCE}ts #step\nb\n${FENCE}\n`
  const e = parseError(text, 'bank.loom.md')
  assert.equal(e.line, 7)
  assert.equal(e.cellId, 'step')
  assert.equal(e.message, 'bank.loom.md:7: duplicate cell id #step (first used at line 3); give each cell its own #id')
})

test('a derived id colliding with an explicit one is a duplicate naming both cells', () => {
  const derivedLater = parseError(`${FENCE}ts #cell-2\na\n${FENCE}\n${FENCE}ts\nb\n${FENCE}\n`)
  assert.equal(derivedLater.line, 4)
  assert.match(derivedLater.message, /^nb\.loom\.md:4: .*#cell-2.*line 1.*#id/)
  const explicitLater = parseError(`${FENCE}ts\na\n${FENCE}\n${FENCE}ts #cell-1\nb\n${FENCE}\n`)
  assert.equal(explicitLater.line, 4)
  assert.match(explicitLater.message, /duplicate cell id #cell-1 \(first used at line 1\)/)
})

test('a malformed id or two ids in one info string is an error at the fence line', () => {
  for (const info of ['#1abc', '#', '#a.b', '#a#b', '#é']) {
    const e = parseError(`prose\n${FENCE}ts ${info}\nx\n${FENCE}\n`)
    assert.equal(e.line, 2, info)
    assert.match(e.message, /^nb\.loom\.md:2: malformed cell id/, info)
  }
  const two = parseError(`\n\n${FENCE}ts #a #b\nx\n${FENCE}\n`)
  assert.equal(two.line, 3)
  assert.match(two.message, /#a #b; keep one/)
})

test('an unclosed ts cell is an error naming the line of its opening fence', () => {
  const e = parseError(`# t\n\n${FENCE}ts #open\nconst x = 1\n~~~\n`)
  assert.equal(e.line, 3)
  assert.match(e.message, /^nb\.loom\.md:3: code cell .* never closed/)
  // a shorter closing fence does not close a longer opening one
  assert.equal(parseError(`\`\`\`\`ts\nx\n${FENCE}\n`).line, 1)
})

test('front matter keys of the wrong type are errors naming the key, its line and what is expected', () => {
  const cases: [string, string, number, RegExp][] = [
    ['title', 'title: 5', 2, /"title" must be a string/],
    ['seed list', 'title: ok\nseed: [1, 2]', 3, /"seed" must be a string or a finite number/],
    ['seed inf', 'seed: .inf', 2, /"seed" must be/],
    ['http big', 'a: 1\nb: 2\nhttp: 70000', 4, /"http" must be an integer port from 0 to 65535/],
    ['http fraction', 'http: 80.5', 2, /"http"/],
    ['http string', 'http: "8080"', 2, /"http" must be .* not "8080"/],
    ['title empty', 'title:', 2, /"title" must be a string, not an empty value/],
  ]
  for (const [name, yaml, line, re] of cases) {
    const e = parseError(`---\n${yaml}\n---\nbody\n`)
    assert.equal(e.line, line, name)
    assert.match(e.message, new RegExp(`^nb\\.loom\\.md:${line}: front matter key`), name)
    assert.match(e.message, re, name)
  }
})

test('a YAML syntax error in front matter is a NotebookError with its file line', () => {
  const e = parseError('---\ntitle: ok\nseed: [1, 2\nhttp: 1\n---\n')
  assert.ok(e.line >= 3 && e.line <= 5, `line ${e.line}`)
  assert.match(e.message, /invalid YAML in front matter/)
  const dup = parseError('---\ntitle: a\n\ntitle: b\n---\n')
  assert.equal(dup.line, 4)
  const compact = parseError('---\ntitle: a\nb: c: d\n---\n')
  assert.equal(compact.line, 3)
  const cyclic = parseError('---\na: &x [*x]\n---\n')
  assert.match(cyclic.message, /refer to themselves/)
})

test('front matter that is not a mapping, or never closed, is an error', () => {
  assert.match(parseError('---\n- a\n- b\n---\n').message, /^nb\.loom\.md:2: front matter must be a mapping/)
  assert.match(parseError('---\njust text\n---\n').message, /must be a mapping/)
  const open = parseError('---\ntitle: x\n\nbody\n')
  assert.equal(open.line, 1)
  assert.match(open.message, /never closed/)
})

test('unknown front matter keys are kept; `...` also ends front matter; empty front matter is {}', () => {
  const nb = parseNotebook('---\ntitle: T\nauthor: me\nlimits: { steps: 3 }\n...\n# T\n')
  assert.deepEqual(nb.settings, { title: 'T', author: 'me', limits: { steps: 3 } })
  assert.equal(nb.frontMatter, '---\ntitle: T\nauthor: me\nlimits: { steps: 3 }\n...\n')
  assert.deepEqual(parseNotebook('---\n---\n').settings, {})
  assert.deepEqual(parseNotebook('---\n# only a comment\n---').settings, {})
  assert.deepEqual(parseNotebook('no front matter\n---\ntitle: x\n---\n').settings, {})
})

test('non-ts fences are prose, and their content is not scanned for cells', () => {
  const text = [
    '```js', 'const a = 1', '```',
    '```tsx', '<a/>', '```',
    '```', '```ts', '```',              // a closing fence has no info, so "```ts" is content here
    '~~~~', '```ts #inner', 'x', '```', '~~~~',
    '``````md', '```ts #deep', 'y', '```', '``````',
    '```TS', 'z', '```',
    '    ```ts', '    indented code, not a fence', '    ```',
    '```ts `x`', 'inline code, not a fence',
    '',
  ].join('\n')
  const nb = parseNotebook(text)
  assert.deepEqual(nb.cells, [])
  assert.deepEqual(nb.blocks, [{ type: 'prose', text }])
  assert.equal(serializeNotebook(nb), text)
})

test('a longer outer fence containing a ```ts line does not create a cell, and the cell after it counts', () => {
  const text = `\`\`\`\`markdown\n${FENCE}ts #example\nshown, not run\n${FENCE}\n\`\`\`\`\n\n${FENCE}ts #real\nrun()\n${FENCE}\n`
  const nb = parseNotebook(text)
  assert.deepEqual(nb.cells.map((c) => [c.id, c.line, c.source]), [['real', 8, 'run()']])
})

test('an unclosed prose fence runs to the end of the file', () => {
  const nb = parseNotebook(`${FENCE}js\nopen\n\n${FENCE}ts #never\nx\n`)
  assert.deepEqual(nb.cells, [])
  assert.equal(nb.blocks.length, 1)
})

test('CRLF, no trailing newline, empty file, only front matter, tabs, unicode and a BOM round-trip exactly', () => {
  const texts = [
    '',
    '\n',
    '\r\n',
    '---\ntitle: x\n---',
    '---\r\ntitle: x\r\n---\r\n',
    BANK.replace(/\n/g, '\r\n'),
    BANK.slice(0, -1),
    `\t# tabs\t\n${FENCE}ts\n\tif (x) {\n\t\ty()\n\t}\n${FENCE}`,
    `# Ünïcödé 🧵 — ✓\n${FENCE}ts #u\nconst s = 'ß∑🧵'\n${FENCE}\n`,
    `\uFEFF${FENCE}ts\nx\n${FENCE}\n`,
    `\uFEFF---\ntitle: bom\n---\n${FENCE}ts\nx\n${FENCE}\n`,
    '\uFEFF',
  ]
  for (const text of texts) assert.equal(serializeNotebook(parseNotebook(text)), text, JSON.stringify(text))
  assert.deepEqual(parseNotebook('').blocks, [])
  assert.equal(parseNotebook('').frontMatter, null)
})

test('a BOM does not hide front matter or a first-line cell', () => {
  const fm = parseNotebook(`\uFEFF---\ntitle: bom\n---\n`)
  assert.deepEqual(fm.settings, { title: 'bom' })
  assert.equal(fm.frontMatter, '\uFEFF---\ntitle: bom\n---\n')
  const nb = parseNotebook(`\uFEFF${FENCE}ts #first\nx\n${FENCE}\n`)
  assert.deepEqual(nb.blocks[0], { type: 'prose', text: '\uFEFF' })
  assert.equal(cell(nb, 0).raw, `${FENCE}ts #first\nx\n${FENCE}\n`)
  assert.equal(cell(nb, 0).line, 2)
})

test('source joins code lines with \\n, drops the fence indent and has no newline before the closing fence', () => {
  const crlf = parseNotebook(`${FENCE}ts\r\na\r\n\r\nb\r\n${FENCE}\r\n`)
  assert.equal(cell(crlf, 0).source, 'a\n\nb')
  const indented = parseNotebook(`  ~~~ts\n  a\n    b\n c\nd\n   ~~~~\n`)
  assert.equal(cell(indented, 0).indent, '  ')
  assert.equal(cell(indented, 0).fence, '~~~')
  assert.equal(cell(indented, 0).source, 'a\n  b\nc\nd')
  assert.equal(cell(parseNotebook(`${FENCE}ts\n${FENCE}`), 0).source, '')
  assert.equal(cell(parseNotebook(`${FENCE}ts\nx\n\n${FENCE}`), 0).source, 'x\n')
})

test('setCellSource changes only that cell\'s bytes and shifts later cell lines', () => {
  const nb = parseNotebook(BANK, 'bank.loom.md')
  const next = setCellSource(nb, 'state', 'const accounts = state.map<number>("accounts")\n// one more line\nconst x = 1')
  const before = serializeNotebook(nb)
  const after = serializeNotebook(next)
  const old = cell(nb, 0)
  const start = offsetOf(nb, old)
  assert.equal(after.slice(0, start), before.slice(0, start))
  assert.equal(after.slice(start + cell(next, 0).raw.length), before.slice(start + old.raw.length))
  assert.equal(cell(next, 0).source, 'const accounts = state.map<number>("accounts")\n// one more line\nconst x = 1')
  assert.equal(cell(next, 1).line, cell(nb, 1).line + 1)
  assert.equal(next.blocks[0], nb.blocks[0], 'untouched blocks are shared')
  assert.equal(serializeNotebook(nb), BANK, 'the original notebook is not changed')
  const reparsed = parseNotebook(after, 'bank.loom.md')
  assert.deepEqual(reparsed, next)
})

test('setCellSource keeps CRLF, indentation, a missing final newline, and lengthens the fence if the code needs it', () => {
  const text = `prose\r\n  ${FENCE}ts #a  \r\n  old\r\n  ${FENCE}`
  const nb = parseNotebook(text)
  const next = setCellSource(nb, 'a', `md\n${FENCE}\n\`\`\`\`\`\ndone`)
  const out = serializeNotebook(next)
  assert.equal(out, `prose\r\n  \`\`\`\`\`\`ts #a  \r\n  md\r\n  ${FENCE}\r\n  \`\`\`\`\`\r\n  done\r\n  \`\`\`\`\`\``)
  assert.deepEqual(parseNotebook(out), next)
  assert.equal(cell(parseNotebook(out), 0).source, `md\n${FENCE}\n\`\`\`\`\`\ndone`)
})

test('setCellSource with an unknown id throws a NotebookError', () => {
  assert.throws(() => setCellSource(parseNotebook(BANK), 'nope', ''), (e) => e instanceof NotebookError && /#nope/.test(e.message))
})

/** Where a cell's raw text starts in the serialised notebook. */
function offsetOf(nb: Notebook, target: CodeCell): number {
  let at = nb.frontMatter?.length ?? 0
  for (const b of nb.blocks) {
    if (b === target) return at
    at += b.type === 'prose' ? b.text.length : b.raw.length
  }
  assert.fail('cell not in blocks')
}

/** parseNotebook either round-trips the text exactly or throws a NotebookError with a positive line. */
function roundTripsOrFailsCleanly(text: string): void {
  let nb: Notebook
  try {
    nb = parseNotebook(text)
  } catch (e) {
    assert.ok(e instanceof NotebookError, `not a NotebookError: ${String(e)}`)
    assert.ok(Number.isInteger(e.line) && e.line > 0, `bad line ${e.line}`)
    return
  }
  assert.equal(serializeNotebook(nb), text)
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  for (const c of nb.cells) assert.equal(lines[c.line - 2], c.indent + c.fence + c.info)
}

const FRAGMENTS = [
  '```', '~~~', '````', '~~~~', '```ts', '~~~ts', '```ts #a', '```ts #b', 'ts', 'typescript', ' #id', ' #', '#',
  '#1x', ' ', '   ', '    ', '\t', '---', '...', '\n', '\r\n', '\r', 'title: x', 'seed: 7', 'http: 80',
  'http: x', 'a: [', '- a', 'x', 'const a = 1', '`', '\uFEFF', 'é🧵', ':', '"', '&a *a', '!!binary',
]
const markdownish = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }).map((parts) => parts.join(''))

test('fuzz: arbitrary strings parse to an exact round trip or a NotebookError with a line', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), roundTripsOrFailsCleanly), { seed: 42, numRuns: 2000 })
})

test('fuzz: markdown-ish fragments parse to an exact round trip or a NotebookError with a line', () => {
  fc.assert(fc.property(markdownish, roundTripsOrFailsCleanly), { seed: 42, numRuns: 2000 })
  // with front matter and a cell in front, so both parts are reached more often
  const framed = markdownish.map((s) => `---\n${s}\n---\n${FENCE}ts\n${s}\n${FENCE}\n${s}`)
  fc.assert(fc.property(framed, roundTripsOrFailsCleanly), { seed: 7, numRuns: 2000 })
})

test('fuzz: setCellSource output reparses to the same notebook and only that cell\'s bytes change', () => {
  const texts = fc.constantFrom(BANK, BANK.replace(/\n/g, '\r\n'), `x\n   ~~~~ts #a\nold\n~~~~`, `${FENCE}ts\n${FENCE}\n${FENCE}ts\n${FENCE}`)
  fc.assert(
    fc.property(texts, fc.nat(), fc.oneof(markdownish, fc.string({ unit: 'binary', maxLength: 80 })), (text, pick, source) => {
      const nb = parseNotebook(text)
      const target = nb.cells[pick % nb.cells.length]
      assert.ok(target)
      const next = setCellSource(nb, target.id, source)
      const out = serializeNotebook(next)
      assert.deepEqual(parseNotebook(out), next)
      const start = offsetOf(nb, target)
      const newRaw = next.cells.find((c) => c.id === target.id)?.raw ?? ''
      assert.equal(out.slice(0, start), text.slice(0, start))
      assert.equal(out.slice(start + newRaw.length), text.slice(start + target.raw.length))
    }),
    { seed: 42, numRuns: 1000 },
  )
})
