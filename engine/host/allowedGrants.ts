// The effects a notebook may reach are what its front matter grants, and a
// notebook you were sent is its author's text: it may grant itself your home
// folder and an origin to send it to. So `loom run` and `loom serve` perform
// a notebook's effects only once you have allowed its grants (`loom allow NB`,
// or yes at the prompt), and again each time they change. What you allowed is
// kept as (the notebook's real path, a hash of its grants) in
// $XDG_CONFIG_HOME/loom/allowed-grants.json.
import { createHash } from 'node:crypto'
import { readFileSync, realpathSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { canonicalJson, type Json } from '../runtime/values.ts'
import { notebookGrants, type Grants } from '../runtime/effects/grants.ts'
import { decodeNotebook, parseNotebook } from '../runtime/notebook.ts'
import { configPath, readConfigFileParsed, updateConfigFile } from './configFile.ts'

/** How many allowances the file keeps (the newest). */
const KEPT = 1000
const MAX_FILE_BYTES = 1024 * 1024

interface Allowance {
  notebook: string
  grants: string
}

export function allowedGrantsFile(env: NodeJS.ProcessEnv = process.env): string {
  return configPath('allowed-grants.json', env)
}

/** True when these grants of this notebook were allowed (a file that cannot be read allows nothing). */
export function grantsAllowed(notebook: string, grants: Grants, file = allowedGrantsFile()): boolean {
  const key = keyOf(notebook, grants)
  return read(file).some((a) => a.notebook === key.notebook && a.grants === key.grants)
}

/** Remembers that these grants of this notebook are allowed. Throws (with the file) when it cannot be written. */
export function allowGrants(notebook: string, grants: Grants, file = allowedGrantsFile()): void {
  const key = keyOf(notebook, grants)
  try {
    // Under the file's lock: two notebooks allowed at once both stay allowed.
    updateConfigFile(file, MAX_FILE_BYTES, (text) => ({ allowed: [key, ...parse(text).filter((a) => a.notebook !== key.notebook)].slice(0, KEPT) }))
  } catch (err) {
    throw new Error(`cannot write ${file}: ${(err as Error).message}`)
  }
}

/** How often a waiting effect looks whether you have allowed its notebook's grants. */
const LOOK_EVERY_MS = 500

/**
 * The gate a performer asks before each effect: answers at once when the
 * grants are allowed, else waits until they are (`loom allow NB` in another
 * terminal) — the read stays pending, the action unperformed; neither is
 * recorded as failed. `waiting` is told once for each set of grants it waits on.
 */
export function untilAllowed(notebook: string, waiting: (what: string[]) => void, file = allowedGrantsFile()): (grants: Grants) => Promise<void> {
  const told = new Set<string>()
  return (grants) => {
    if (grantsAllowed(notebook, grants, file)) return Promise.resolve()
    const key = keyOf(notebook, grants).grants
    if (!told.has(key)) {
      told.add(key)
      waiting(describeGrants(notebook, grants))
    }
    return new Promise((allowed) => {
      const look = setInterval(() => grantsAllowed(notebook, grants, file) && (clearInterval(look), allowed()), LOOK_EVERY_MS)
      look.unref()
    })
  }
}

/** The words for grants not allowed yet: what they reach, a line each, then `then` (which says what happens, and how to allow them). */
export function notAllowedWords(shownAs: string, what: string[], then: string): string {
  return `${shownAs} grants effects you have not allowed (or changed them since you did):\n${what.map((w) => `  - ${w}\n`).join('')}${then}`
}

/** Said where the app runs when its effects begin to wait for you (untilAllowed). */
export function waitingWords(shownAs: string, what: string[]): string {
  return `loom: ${notAllowedWords(shownAs, what, `its reads and actions wait until you allow them: loom allow ${shownAs}\n`)}`
}

/** What the notebook as saved grants and you have not allowed, a line each; null when there is nothing to allow (or it does not parse: it runs nowhere). */
export function savedGrantsToAllow(notebook: string, file = allowedGrantsFile()): string[] | null {
  const { grants } = savedGrants(notebook)
  return grants && !grantsAllowed(notebook, grants, file) ? describeGrants(notebook, grants) : null
}

/** Allows the notebook's grants as saved now (what the performer reads); what they let it reach. */
export function allowSavedGrants(notebook: string, file = allowedGrantsFile()): string[] {
  const { grants } = savedGrants(notebook)
  if (!grants) return []
  allowGrants(notebook, grants, file)
  return describeGrants(notebook, grants)
}

/** The window's two requests about allowing (answered by whoever reads the notebook's file: loom serve, the desktop app). */
export const ALLOWANCE_OPS = ['effectsToAllow', 'allowEffects'] as const

export function answerAllowance(op: (typeof ALLOWANCE_OPS)[number], notebook: string): { what: string[] | null } {
  return { what: op === 'allowEffects' ? allowSavedGrants(notebook) : savedGrantsToAllow(notebook) }
}

/**
 * What the notebook's file as saved grants (undefined: nothing), or why it cannot be read or parsed: the window's
 * questions treat that as nothing to allow (it runs nowhere), `loom allow` shows it. `shownAs` names it in the error.
 */
export function savedGrants(notebook: string, shownAs = notebook): { grants: Grants | undefined; error?: undefined } | { grants?: undefined; error: unknown } {
  try {
    return { grants: notebookGrants(parseNotebook(decodeNotebook(readFileSync(notebook), shownAs), shownAs)) }
  } catch (error) {
    return { error }
  }
}

/** What the grants let the notebook reach, a line each, in words (file roots as the folders they are). */
export function describeGrants(notebook: string, grants: Grants): string[] {
  const lines: string[] = []
  for (const origin of grants.http) {
    const any = origin.endsWith(':*') ? ' (any port)' : ''
    const local = grants.privateHttp?.includes(origin) ? ', and its name may lead to this machine or your network' : ''
    lines.push(`reads from and sends to ${origin.replace(/:\*$/, '')}${any}${local}`)
  }
  for (const [name, root] of Object.entries(grants.fs)) {
    lines.push(`${root.write ? 'reads and writes' : 'reads'} files in ${resolve(dirname(notebook), root.path)} (the root '${name}')`)
  }
  return lines
}

function keyOf(notebook: string, grants: Grants): Allowance {
  let path = resolve(notebook)
  try {
    path = realpathSync(path)
  } catch {
    // not there (yet): its path as given
  }
  const sorted = {
    http: [...grants.http].sort(),
    private: [...(grants.privateHttp ?? [])].sort(),
    fs: Object.fromEntries(Object.entries(grants.fs).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, r]) => [k, { path: resolve(dirname(path), r.path), write: r.write }])),
  }
  return { notebook: path, grants: createHash('sha256').update(canonicalJson(sorted as unknown as Json)).digest('hex') }
}

/** The allowances, read again only when the file changed: grantsAllowed is asked before every effect. */
function read(file: string): readonly Allowance[] {
  return readConfigFileParsed(file, MAX_FILE_BYTES, parse)
}

/** The allowances in a file's text; anything else in it allows nothing. */
function parse(text: string | null): Allowance[] {
  try {
    const list = (JSON.parse(text ?? '') as { allowed?: unknown } | null)?.allowed
    if (!Array.isArray(list)) return []
    return list.filter((a): a is Allowance => typeof a?.notebook === 'string' && typeof a?.grants === 'string')
  } catch {
    return []
  }
}
