// Who may do what in a shared session. Each invite link carries a random
// token for one role; the host maps the token to the role and checks every
// request of the engine protocol against it (and the sync connection: only
// `edit` and `run` may change the document).
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { Op } from '../protocol/messages.ts'

export type Role = 'view' | 'edit' | 'run'
export const ROLES: Role[] = ['view', 'edit', 'run']
const RANK: Record<Role, number> = { view: 0, edit: 1, run: 2 }

/**
 * The least role each op needs. Reading (the notebook, log, state, branches,
 * the read-only REPL, the timeline) is `view`; changing the notebook is
 * `edit`; anything that makes events, branches or long jobs on the host
 * (step, run, fork, promote, preview and commit, edit state, verify,
 * rerun, explore, import, tty input) is `run`.
 */
export const ROLE_OF_OP: Record<Op, Role> = {
  hello: 'view', notebook: 'view', status: 'view', log: 'view', state: 'view', attempts: 'view', branches: 'view',
  evaluate: 'view', timeline: 'view', series: 'view', exportBranch: 'view',
  save: 'edit', editCell: 'edit', addCell: 'edit', deleteCell: 'edit', moveCell: 'edit',
  run: 'run', pause: 'run', step: 'run', ttyInput: 'run', fork: 'run', promote: 'run', verify: 'run', rerun: 'run',
  importBranch: 'run', editState: 'run', explore: 'run', saveCounterexample: 'run',
  preview: 'run', commitPreview: 'run', discardPreview: 'run', forkPreview: 'run',
}

export function allows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed]
}

/** The role a request needs: its op's, except Save As (a `path`), which writes a file on the host's machine: `run`. */
export function roleFor(op: string, params: unknown): Role | undefined {
  if (!Object.hasOwn(ROLE_OF_OP, op)) return undefined
  if (op === 'save' && params && typeof params === 'object' && (params as { path?: unknown }).path !== undefined) return 'run'
  return ROLE_OF_OP[op as Op]
}

export type Tokens = Record<Role, string>

/** A fresh random token per role (24 bytes, base64url). */
export function newTokens(): Tokens {
  const t = () => randomBytes(24).toString('base64url')
  return { view: t(), edit: t(), run: t() }
}

/** The role `token` grants, or null; compared in constant time. */
export function roleOfToken(tokens: Tokens, token: unknown): Role | null {
  if (typeof token !== 'string' || token.length === 0 || token.length > 200) return null
  const given = Buffer.from(token)
  for (const role of ROLES) {
    const want = Buffer.from(tokens[role])
    if (want.length === given.length && timingSafeEqual(want, given)) return role
  }
  return null
}

export const WHAT: Record<Role, string> = {
  view: 'read the notebook, log and state',
  edit: 'also edit cells',
  run: 'also step, fork, commit previews, edit state and promote',
}
