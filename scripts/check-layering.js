#!/usr/bin/env node
// The layering rule of DESIGN §7, as a check that fails the build:
// engine/ never imports DOM, Electron or renderer code; renderer/ never
// imports Node built-ins or engine code other than the shared protocol;
// engine/protocol/ (bundled into the renderer) imports only itself, and
// anything else only as types. Inside the engine, each door stays single:
// only the sandbox module makes vm contexts, and only the transaction door
// calls into the sandbox.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative, resolve, dirname, sep } from 'node:path'

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))
const BROWSER_ONLY = [/^electron(\/|$)/, /^monaco-editor/, /^d3(-|$)/, /^@xterm\//, /^y-monaco/, /^y-websocket/]
/**
 * The history module (DESIGN §7): the only engine files that may touch SQLite,
 * so every SQL statement, the schema and the hash rule stay in one place.
 */
const HISTORY_FILES = ['engine/replay/history/', 'engine/replay/sqliteLog.ts', 'engine/replay/chunk.ts', 'engine/replay/logWriter.ts']

const rules = {
  engine: (spec, target) => {
    if (BROWSER_ONLY.some((re) => re.test(spec))) return `imports '${spec}', which belongs to the desktop app or the renderer`
    if (target && (inside(target, 'renderer') || inside(target, 'electron'))) return `imports '${spec}' from ${top(target)}/`
    return null
  },
  renderer: (spec, target) => {
    if (NODE_BUILTINS.has(spec)) return `imports the Node built-in '${spec}' (the renderer runs in a browser)`
    if (/^electron(\/|$)/.test(spec)) return `imports '${spec}' (the renderer reaches Electron only through the preload bridge)`
    if (target && inside(target, 'engine') && !inside(target, join('engine', 'protocol'))) return `imports engine code '${spec}' (only engine/protocol is shared)`
    return null
  },
  // The protocol is bundled into the renderer: plain code that needs nothing from
  // Node or from the rest of the engine, except types (erased when bundled).
  'engine/protocol': (spec, target, statement) => {
    if (NODE_BUILTINS.has(spec)) return `imports the Node built-in '${spec}' (the renderer bundles the protocol)`
    const typeOnly = /^(?:import|export)\s+type\s/.test(statement.trim())
    if (typeOnly) return null
    if (!target || !inside(target, join('engine', 'protocol'))) return `imports '${spec}' (the protocol may import only itself, and other code only with 'import type')`
    return null
  },
  electron: (spec, target) => {
    if (target && inside(target, 'renderer')) return `imports renderer code '${spec}' (the window loads the renderer; it does not import it)`
    return null
  },
}

// One door per concern (DESIGN §7): what only the named engine modules may do.
// `allowed` entries are files, or folders ending in '/'. An import door is
// broken by an import; a call door by a call (or write) found in the text.
const typeOnly = (statement) => /^(?:import|export)\s+type\s/.test(statement.trim())
const importDoors = [
  {
    allowed: HISTORY_FILES,
    breaks: (spec) => /^better-sqlite3(\/|$)/.test(spec),
    why: (spec) => `imports '${spec}' (only the history module may: ${HISTORY_FILES.join(', ')})`,
  },
  {
    // The REPL evaluates in a context of its own (read-only, text in and out); esbuild's wasm glue runs no cell code,
    // nor does the empty context heapRoom.ts takes V8's gc() from.
    allowed: ['engine/runtime/sandbox.ts', 'engine/host/evaluate.ts', 'engine/runtime/esbuildWasm.ts', 'engine/replay/heapRoom.ts'],
    breaks: (spec) => spec === 'node:vm' || spec === 'vm',
    why: (spec) => `imports '${spec}': only the sandbox module (engine/runtime/sandbox.ts) makes vm contexts`,
  },
  {
    allowed: ['engine/runtime/executor.ts', 'engine/runtime/transaction/'],
    breaks: (spec, target, statement) => !!target && /[\\/]engine[\\/]runtime[\\/]sandbox(\.ts)?$/.test(target) && !typeOnly(statement),
    why: (spec) => `imports '${spec}': only the transaction door (engine/runtime/transaction/) calls into the sandbox; import it as a type`,
  },
]
const callDoors = [
  // What carries between transactions (the running one, the commit in progress, the clock, tty input): written by the door alone.
  {
    allowed: ['engine/runtime/executor.ts', 'engine/runtime/transaction/'],
    call: /\.ctx\.\w+\s*(?:[-+]?=(?!=)|\+\+|--)/,
    why: "writes the executor's transaction context: only the transaction door (engine/runtime/transaction/) does",
  },
  // Calls that enter the sandbox to run cell code: one call site, the batch runner.
  {
    allowed: ['engine/runtime/transaction/runBatch.ts'],
    call: /\bsandbox\.run\s*\(/,
    why: 'calls sandbox.run: only engine/runtime/transaction/runBatch.ts enters the sandbox to run transactions (use Executor.run)',
  },
  {
    allowed: ['engine/runtime/liveCode.ts'],
    call: /\.replaceCode\(/,
    why: 'replaces the running code itself; live coding goes through liveCode() (engine/runtime/liveCode.ts)',
  },
]

function allowedBy(door, file) {
  const rel = relative(root, file).split(sep).join('/')
  return door.allowed.some((a) => (a.endsWith('/') ? rel.startsWith(a) : rel === a))
}

let root = process.cwd()
function inside(file, dir) {
  const rel = relative(join(root, dir), file)
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !rel.includes(':'))
}
function top(file) {
  return relative(root, file).split(sep)[0]
}

function* files(dir) {
  let names
  try {
    names = readdirSync(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (name === 'node_modules') continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* files(path)
    else if (/\.(ts|tsx|js|mjs|cjs)$/.test(name)) yield path
  }
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+[\w*{}\s,$]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|[\s;(])import\s*['"]([^'"]+)['"]|\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g
const DOM_GLOBALS = /\b(document|window|navigator|localStorage|HTMLElement)\s*[.[]/

/** Returns the violations in the tree at `dir`, one line each. */
export function checkLayering(dir) {
  root = resolve(dir)
  const problems = []
  for (const [layer, rule] of Object.entries(rules)) {
    for (const file of files(join(root, layer))) {
      const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '')
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? m[3]
        const target = spec.startsWith('.') ? resolve(dirname(file), spec) : null
        const why = rule(spec, target, m[0])
        const line = text.slice(0, m.index + m[0].search(/\S/)).split('\n').length
        if (why) problems.push(`${relative(root, file)}:${line}: ${layer}/ ${why}`)
        if (layer !== 'engine') continue
        for (const door of importDoors) {
          if (door.breaks(spec, target, m[0]) && !allowedBy(door, file)) problems.push(`${relative(root, file)}:${line}: engine/ ${door.why(spec)}`)
        }
      }
      if (layer === 'engine') {
        const m = DOM_GLOBALS.exec(text)
        if (m) problems.push(`${relative(root, file)}:${text.slice(0, m.index).split('\n').length}: engine/ uses the DOM global '${m[1]}'`)
        for (const door of callDoors) {
          const call = door.call.exec(text)
          if (call && !allowedBy(door, file)) problems.push(`${relative(root, file)}:${text.slice(0, call.index).split('\n').length}: engine/ ${door.why}`)
        }
      }
    }
  }
  return problems
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkLayering(process.argv[2] ?? process.cwd())
  if (problems.length) {
    console.error(`layering: ${problems.length} violation${problems.length === 1 ? '' : 's'} of DESIGN §7:\n${problems.join('\n')}`)
    process.exit(1)
  }
  console.log('layering: engine/, renderer/ and electron/ import only what their layer may')
}
