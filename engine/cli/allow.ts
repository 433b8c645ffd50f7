// `loom allow NB`, and the question `loom run` asks before it starts a
// notebook whose grants you have not allowed (engine/host/allowedGrants.ts).
import { createInterface } from 'node:readline'
import { resolve } from 'node:path'
import type { Parsed } from './args.ts'
import type { Io } from './main.ts'
import { parseNotebook } from '../runtime/notebook.ts'
import { notebookGrants } from '../runtime/effects/grants.ts'
import { allowGrants, describeGrants, grantsAllowed, notAllowedWords, savedGrants } from '../host/allowedGrants.ts'
import { LoomFailure, loomError } from '../protocol/loomError.ts'

/** Says what the notebook's front matter grants, and allows it for `loom run` and `loom serve` until it changes. */
export async function allowCommand(p: Parsed, io: Io): Promise<number> {
  const shownAs = p.args.notebook!
  const path = resolve(shownAs)
  const { grants, error } = savedGrants(path, shownAs)
  if (error) throw error
  if (!grants) {
    io.out(`${shownAs} grants no effects: there is nothing to allow\n`)
    return 0
  }
  allowGrants(path, grants)
  io.out(`${shownAs} may now, when loom run or loom serve runs it:\n${describeGrants(path, grants).map((w) => `  - ${w}\n`).join('')}until its effects: front matter changes.\n`)
  return 0
}

/**
 * Before `loom run` starts the notebook: nothing to allow, allowed already, or
 * allowed now at a terminal's prompt; else refused (exit 2) before anything
 * runs or is logged, saying what it grants and how to allow it.
 */
export async function askToAllow(shownAs: string, text: string, io: Io): Promise<void> {
  const path = resolve(shownAs)
  const grants = notebookGrants(parseNotebook(text, shownAs))
  if (!grants || grantsAllowed(path, grants)) return
  const what = describeGrants(path, grants)
  const stdin = io.stdin as (NodeJS.ReadableStream & { isTTY?: boolean }) | null
  if (stdin?.isTTY && process.stderr.isTTY) {
    io.err(notAllowedWords(shownAs, what, `Allow them? (remembered, as loom allow ${shownAs} does) [y/N] `))
    const answer = await oneLine(stdin)
    if (/^y(es)?$/i.test(answer.trim())) return allowGrants(path, grants)
  }
  throw new LoomFailure(loomError('refused', notAllowedWords(shownAs, what, `read its effects: front matter, then allow them: loom allow ${shownAs}`)))
}

function oneLine(input: NodeJS.ReadableStream): Promise<string> {
  const lines = createInterface({ input, terminal: false })
  return new Promise((done) => {
    // Answered before closing: close() says 'close' at once, which answers '' otherwise.
    lines.once('line', (line) => (done(line), lines.close()))
    lines.once('close', () => done(''))
  })
}
