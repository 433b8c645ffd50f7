// Parse and serialise Loom notebooks (`.loom.md`): optional YAML front matter, markdown prose and
// fenced TypeScript code cells. Every block keeps its original text, so serialising is byte-exact.
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml'
import { loomError, LoomFailure } from '../protocol/loomError.ts'
import { parseGrants } from './effects/grants.ts'

export interface NotebookSettings {
  title?: string
  seed?: string | number
  http?: number
  [key: string]: unknown
}

/** Markdown between cells, byte-exact (may include a leading BOM and non-ts fenced blocks). */
export interface ProseBlock {
  type: 'prose'
  text: string
}

export interface CodeCell {
  type: 'code'
  /** Explicit `#id` from the info string, or `cell-N` (N = 1-based position among cells). */
  id: string
  explicitId: boolean
  lang: 'ts' | 'typescript'
  /** Everything after the fence characters on the opening line, exactly (minus the line ending). */
  info: string
  /** The opening fence characters, e.g. "```" or "~~~~". */
  fence: string
  /** Spaces (0–3) before the opening fence. */
  indent: string
  /**
   * The code between the fences: lines joined with "\n" whatever the file uses (so the code and its
   * hash do not depend on the checkout's line endings), up to `indent.length` leading spaces removed
   * from each line as CommonMark does, and no newline after the last line. `raw` keeps the exact bytes.
   */
  source: string
  /** 1-based file line of the first code line (the line after the opening fence). */
  line: number
  /** Opening fence line through closing fence line (with its line ending, if any), exactly. */
  raw: string
}

export type Block = ProseBlock | CodeCell

export interface Notebook {
  path: string
  /** Raw front matter incl. both delimiter lines and a leading BOM if the file has one. */
  frontMatter: string | null
  settings: NotebookSettings
  blocks: Block[]
  cells: CodeCell[]
}

/** Bad notebook input; the message reads `path:line: what is wrong; what to do`. */
export class NotebookError extends LoomFailure {
  override name = 'NotebookError'
  path: string
  /** 1-based file line; 0 when the problem has no line (e.g. an unknown cell id). */
  line: number
  cellId?: string

  constructor(path: string, line: number, message: string, cellId?: string) {
    super(loomError('parse', message, { file: path, ...(line > 0 ? { fileLine: line } : {}), ...(cellId !== undefined ? { cell: cellId } : {}) }))
    this.path = path
    this.line = line
    if (cellId !== undefined) this.cellId = cellId
  }
}

/**
 * A notebook file's bytes as text: the one decoder for every command that
 * reads a notebook (`loom run`, `serve`, `explore`…), so a file that is not
 * UTF-8 is refused the same way everywhere, at its first bad byte, rather
 * than read with replacement characters and later written back changed.
 */
export function decodeNotebook(bytes: Uint8Array, path = '<notebook>'): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const text = buf.toString('utf8')
  const again = Buffer.from(text, 'utf8')
  if (again.equals(buf)) return text
  // Decoding is exact up to the first byte that is not UTF-8.
  let at = 0
  while (at < buf.length && buf[at] === again[at]) at++
  let line = 1
  for (let i = buf.indexOf(10); i >= 0 && i < at; i = buf.indexOf(10, i + 1)) line++
  throw new NotebookError(path, line, `the file is not UTF-8 text: byte ${at} (0x${buf[at]!.toString(16).padStart(2, '0')}) is not valid UTF-8; Loom reads notebooks as UTF-8 and will not overwrite it — save it as UTF-8`)
}

const BOM = '\uFEFF'
const FRONT_OPEN = /^---[ \t]*$/
const FRONT_CLOSE = /^(?:---|\.\.\.)[ \t]*$/
const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})/
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/
const ID = /^[A-Za-z][A-Za-z0-9_-]*$/

/** One line of the file: content is text[start, end); the line ending (if any) runs to `next`. */
interface Line {
  start: number
  end: number
  next: number
}

// Only "\n" and "\r\n" end lines (a lone "\r" stays inside its line), matching how editors number lines.
function splitLines(text: string, from: number): Line[] {
  const lines: Line[] = []
  let start = from
  while (start < text.length) {
    const nl = text.indexOf('\n', start)
    if (nl < 0) {
      lines.push({ start, end: text.length, next: text.length })
      break
    }
    const end = nl > start && text[nl - 1] === '\r' ? nl - 1 : nl
    lines.push({ start, end, next: nl + 1 })
    start = nl + 1
  }
  return lines
}

function closesFence(content: string, fence: string): boolean {
  const run = FENCE_CLOSE.exec(content)?.[1]
  return run !== undefined && run[0] === fence[0] && run.length >= fence.length
}

/** The line that closes the front matter (`count` when it is never closed), or null when the text has none. */
function frontMatterEnd(count: number, content: (i: number) => string): number | null {
  if (count === 0 || !FRONT_OPEN.test(content(0))) return null
  let close = 1
  while (close < count && !FRONT_CLOSE.test(content(close))) close++
  return close
}

/**
 * The front matter as parseNotebook finds it (both delimiter lines, and a
 * BOM before it), whatever the rest of the text holds; null when there is
 * none; when it is never closed, `unclosed` (it runs to the end).
 */
export function frontMatterOf(text: string): { text: string; unclosed: boolean } | null {
  const bom = text.startsWith(BOM) ? BOM.length : 0
  const lines = splitLines(text, bom)
  const close = frontMatterEnd(lines.length, (i) => text.slice(lines[i]!.start, lines[i]!.end))
  if (close === null) return null
  const closeLine = lines[close]
  return closeLine ? { text: text.slice(0, closeLine.next), unclosed: false } : { text, unclosed: true }
}

export function parseNotebook(text: string, path = '<notebook>'): Notebook {
  if (typeof text !== 'string') throw new NotebookError(path, 0, 'notebook text must be a string; read the file as UTF-8')
  // A BOM is not content: fences and the front matter delimiter are recognised after it, and it is
  // kept in the front matter (if any) or else in the first prose block, so the round trip stays exact.
  const bom = text.startsWith(BOM) ? BOM.length : 0
  const lines = splitLines(text, bom)
  const content = (i: number): string => {
    const l = lines[i]
    return l === undefined ? '' : text.slice(l.start, l.end)
  }

  let frontMatter: string | null = null
  let settings: NotebookSettings = {}
  let bodyLine = 0
  const close = frontMatterEnd(lines.length, content)
  if (close !== null) {
    const closeLine = lines[close]
    if (closeLine === undefined) {
      throw new NotebookError(path, 1,
        'front matter starting here is never closed; end it with a line `---` ' +
        '(or, to start with a horizontal rule instead, put a blank line before it)')
    }
    const yamlStart = lines[1]?.start ?? closeLine.start
    settings = parseSettings(text.slice(yamlStart, closeLine.start), path)
    frontMatter = text.slice(0, closeLine.next)
    bodyLine = close + 1
  }

  const blocks: Block[] = []
  const cells: CodeCell[] = []
  const firstUse = new Map<string, number>() // cell id -> line of its opening fence
  let proseStart = frontMatter?.length ?? 0
  const flushProse = (upTo: number): void => {
    if (upTo > proseStart) blocks.push({ type: 'prose', text: text.slice(proseStart, upTo) })
  }

  for (let i = bodyLine; i < lines.length; i++) {
    const line = content(i)
    const open = FENCE_OPEN.exec(line)
    if (open === null) continue
    const indent = open[1] ?? ''
    const fence = open[2] ?? ''
    const info = line.slice(open[0].length)
    // CommonMark: a backtick fence's info string may not contain a backtick (it is inline code then).
    if (fence[0] === '`' && info.includes('`')) continue

    let close = i + 1
    while (close < lines.length && !closesFence(content(close), fence)) close++
    const words = info.replace(/^[ \t]+|[ \t]+$/g, '').split(/[ \t]+/)
    const lang = words[0]
    if (lang !== 'ts' && lang !== 'typescript') {
      // Any other fenced block is prose, content and all; unclosed, it runs to the end of the file.
      i = close
      continue
    }
    const fenceLine = i + 1
    const closeLine = lines[close]
    const openLine = lines[i]
    const id = cellId(words.slice(1), cells.length + 1, path, fenceLine)
    if (closeLine === undefined || openLine === undefined) {
      throw new NotebookError(path, fenceLine,
        `code cell #${id.id} opened with ${fence} is never closed; add a closing ${fence} line after its code`, id.id)
    }

    const first = firstUse.get(id.id)
    if (first !== undefined) {
      throw new NotebookError(path, fenceLine,
        id.explicit
          ? `duplicate cell id #${id.id} (first used at line ${first}); give each cell its own #id`
          : `this cell's position gives it the id #${id.id}, which the cell at line ${first} already uses; ` +
            'give each cell its own #id',
        id.id)
    }
    firstUse.set(id.id, fenceLine)

    const code: string[] = []
    for (let j = i + 1; j < close; j++) code.push(stripIndent(content(j), indent.length))
    const cell: CodeCell = {
      type: 'code',
      id: id.id,
      explicitId: id.explicit,
      lang,
      info,
      fence,
      indent,
      source: code.join('\n'),
      line: fenceLine + 1,
      raw: text.slice(openLine.start, closeLine.next),
    }
    flushProse(openLine.start)
    blocks.push(cell)
    cells.push(cell)
    proseStart = closeLine.next
    i = close
  }
  flushProse(text.length)

  return { path, frontMatter, settings, blocks, cells }
}

function stripIndent(line: string, max: number): string {
  let n = 0
  while (n < max && line[n] === ' ') n++
  return line.slice(n)
}

/** The id from the info string's words after the language, or the derived `cell-N`. */
function cellId(words: string[], n: number, path: string, line: number): { id: string; explicit: boolean } {
  const tags = words.filter((w) => w.startsWith('#'))
  if (tags.length > 1) {
    throw new NotebookError(path, line, `a cell has one id, but this one has ${tags.join(' ')}; keep one`)
  }
  const tag = tags[0]
  if (tag === undefined) return { id: `cell-${n}`, explicit: false }
  const id = tag.slice(1)
  if (!ID.test(id)) {
    throw new NotebookError(path, line,
      `malformed cell id ${JSON.stringify(tag)}; an id is # then a letter, then letters, digits, - or _ (e.g. #transfer)`)
  }
  return { id, explicit: true }
}

/** What the known settings must be: a check and the words for the error message. */
const KNOWN: Record<string, { ok: (v: unknown) => boolean; expected: string }> = {
  title: { ok: (v) => typeof v === 'string', expected: 'a string' },
  seed: {
    ok: (v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)),
    expected: 'a string or a finite number',
  },
  http: {
    ok: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535,
    expected: 'an integer port from 0 to 65535 (0 = any free port)',
  },
}

// The YAML text starts on file line 2 (line 1 is the opening `---`).
const FIRST_YAML_LINE = 2

function parseSettings(yamlText: string, path: string): NotebookSettings {
  const counter = new LineCounter()
  const fileLine = (offset: number): number => FIRST_YAML_LINE + counter.linePos(offset).line - 1
  const fail = (line: number, message: string): never => {
    throw new NotebookError(path, line, message)
  }

  let js: unknown
  try {
    const doc = parseDocument(yamlText, { lineCounter: counter, prettyErrors: false, logLevel: 'error' })
    const err = doc.errors[0]
    if (err !== undefined) {
      return fail(fileLine(err.pos[0]), `invalid YAML in front matter: ${err.message.split('\n')[0]}; fix the settings`)
    }
    const root = doc.contents
    if (root === null) return {}
    if (!isMap(root)) {
      return fail(fileLine(root.range[0]), 'front matter must be a mapping of settings (`key: value` lines)')
    }
    js = doc.toJS({ maxAliasCount: 100 })
    // Aliases can build cyclic values, which would break anyone who copies or prints settings.
    if (isCyclic(js)) return fail(1, 'front matter settings refer to themselves through an alias; remove the cycle')
    for (const [key, rule] of Object.entries(KNOWN)) {
      if (js === null || typeof js !== 'object' || !Object.hasOwn(js, key)) continue
      const value: unknown = (js as Record<string, unknown>)[key]
      if (rule.ok(value)) continue
      const pair = root.items.find((p) => isScalar(p.key) && String(p.key.value) === key)
      const keyNode = pair?.key
      const line = isScalar(keyNode) && keyNode.range ? fileLine(keyNode.range[0]) : 1
      fail(line, `front matter key "${key}" must be ${rule.expected}, not ${describe(value)}`)
    }
    const effects = js !== null && typeof js === 'object' && Object.hasOwn(js, 'effects') ? parseGrants((js as Record<string, unknown>).effects) : null
    if (typeof effects === 'string') {
      const pair = root.items.find((p) => isScalar(p.key) && String(p.key.value) === 'effects')
      const line = isScalar(pair?.key) && pair.key.range ? fileLine(pair.key.range[0]) : 1
      fail(line, `front matter key "effects"${effects.startsWith('must') || effects.startsWith('has') ? ' ' : ': '}${effects} (see docs/effects.md)`)
    }
  } catch (e) {
    if (e instanceof NotebookError) throw e
    // e.g. the alias-expansion limit in toJS
    fail(1, `front matter could not be read: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (js === null || typeof js !== 'object' || Array.isArray(js)) {
    return fail(1, 'front matter must be a mapping of settings (`key: value` lines)')
  }
  return js as NotebookSettings
}

function isCyclic(value: unknown, path: Set<object> = new Set()): boolean {
  if (value === null || typeof value !== 'object') return false
  if (path.has(value)) return true
  path.add(value)
  const children = value instanceof Map ? [...value.values()] : value instanceof Set ? [...value] : Object.values(value)
  const cyclic = children.some((child) => isCyclic(child, path))
  path.delete(value)
  return cyclic
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value === null || value === undefined) return 'an empty value'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'object' ? 'a mapping' : typeof value
}

export function serializeNotebook(nb: Notebook): string {
  return (nb.frontMatter ?? '') + nb.blocks.map((b) => (b.type === 'prose' ? b.text : b.raw)).join('')
}

/**
 * A new Notebook in which cell `id` holds `source`; its raw text is rebuilt from indent, fence and
 * info with the line endings it had, and the fence is lengthened if the code would otherwise close it.
 * Its new `source` is `source` with every line break ("\r\n", "\n" or "\r") written as "\n".
 * Every other block keeps its bytes; later cells get their `line` shifted.
 */
export function setCellSource(nb: Notebook, id: string, source: string): Notebook {
  const old = nb.cells.find((c) => c.id === id)
  if (old === undefined) throw new NotebookError(nb.path, 0, `no cell #${id} in this notebook; check the cell id`)

  const eol = old.raw.match(/\r?\n/)?.[0] ?? '\n'
  const closeEol = old.raw.match(/\r?\n$/)?.[0] ?? ''
  // Every line break in `source` (a lone "\r" too: before the file's "\n" it would read as "\r\n")
  // is written as the cell's own line ending.
  const lines = source === '' ? [] : source.split(/\r\n|\n|\r/)
  const code = lines.map((l) => (l === '' ? l : old.indent + l))

  let fence = old.fence
  for (const l of code) {
    if (closesFence(l, fence)) fence = fence[0]!.repeat(l.trim().length + 1)
  }
  const raw =
    old.indent + fence + old.info + eol +
    code.map((l) => l + eol).join('') +
    old.indent + fence + closeEol
  const cell: CodeCell = { ...old, fence, raw, source: lines.join('\n') }

  const shift = countNewlines(raw) - countNewlines(old.raw)
  let after = false
  const blocks = nb.blocks.map((b): Block => {
    if (b === old) {
      after = true
      return cell
    }
    return after && b.type === 'code' && shift !== 0 ? { ...b, line: b.line + shift } : b
  })
  return { ...nb, blocks, cells: blocks.filter((b): b is CodeCell => b.type === 'code') }
}

function countNewlines(s: string): number {
  let n = 0
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++
  return n
}
