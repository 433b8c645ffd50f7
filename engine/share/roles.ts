// Who may do what with a served notebook. Every page's link carries a random
// token for one role: the owner's (the person who ran `loom serve`, printed
// to them) and, when shared, one per invite link; the host maps the token to
// the role and checks every request of the engine protocol against it (and
// the sync connection: only `edit` and above may change the document).
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { Op } from '../protocol/messages.ts'

export type Role = 'view' | 'edit' | 'run' | 'owner'
/** The roles an invite link can grant; the owner's token is printed only to the person who serves. */
export type GuestRole = Exclude<Role, 'owner'>
export const GUEST_ROLES: GuestRole[] = ['view', 'edit', 'run']
export const ROLES: Role[] = [...GUEST_ROLES, 'owner']
const RANK: Record<Role, number> = { view: 0, edit: 1, run: 2, owner: 3 }

/**
 * The least role each op needs. Reading (the notebook, log, state, branches,
 * the read-only REPL, the timeline) is `view`; changing the notebook is
 * `edit`; writing the notebook's file on the host's machine (save) is the
 * owner's; anything that makes events, branches or long jobs on the host
 * (step, run, fork, promote, preview and commit, edit state, verify,
 * rerun, explore, import, tty input) is `run`.
 */
export const ROLE_OF_OP: Record<Op, Role> = {
  hello: 'view', notebook: 'view', status: 'view', log: 'view', state: 'view', attempts: 'view', branches: 'view',
  evaluate: 'view', timeline: 'view', series: 'view', exportBranch: 'view', profile: 'view', timings: 'view', failures: 'view', diff: 'view', query: 'view', retroLogs: 'view',
  save: 'owner', editNotebook: 'edit', editCell: 'edit', addCell: 'edit', deleteCell: 'edit', moveCell: 'edit',
  run: 'run', pause: 'run', step: 'run', ttyInput: 'run', fork: 'run', promote: 'run', renameBranch: 'run', deleteBranch: 'run', verify: 'run', rerun: 'run',
  importBranch: 'run', editState: 'run', explore: 'run', stopJob: 'run', saveCounterexample: 'run',
  preview: 'run', commitPreview: 'run', discardPreview: 'run', forkPreview: 'run',
  // Which notebook the host's machine runs, and the folders of the ones it ran, are the owner's.
  openNotebook: 'owner', recentNotebooks: 'owner',
  // What the cells may reach outside the sandbox is the owner's to allow (allowedGrants.ts).
  effectsToAllow: 'owner', allowEffects: 'owner',
}

/** A role with its article, as a sentence says it: 'a view', 'an edit', 'a run', 'an owner'. */
export function aRole(role: Role): string {
  return `${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role}`
}

export function allows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed]
}

/** The role a request needs: its op's. */
export function roleFor(op: string): Role | undefined {
  if (!Object.hasOwn(ROLE_OF_OP, op)) return undefined
  return ROLE_OF_OP[op as Op]
}

/** The tokens a serve accepts: always the owner's; the guests' only when shared. */
export type Tokens = { owner: string } & Partial<Record<GuestRole, string>>

/** A fresh random token (24 bytes, 192 bits, base64url) for the owner and each of `guests`. */
export function newTokens<G extends GuestRole = never>(guests: readonly G[] = []): Tokens & Record<G, string> {
  const t = () => randomBytes(24).toString('base64url')
  return Object.fromEntries([['owner', t()], ...guests.map((r) => [r, t()])]) as Tokens & Record<G, string>
}

/** The role `token` grants, or null; compared in constant time (only its length, which every token shares, can tell). */
export function roleOfToken(tokens: Tokens, token: unknown): Role | null {
  if (typeof token !== 'string' || token.length === 0 || token.length > 200) return null
  const given = Buffer.from(token)
  for (const role of ROLES) {
    const wanted = tokens[role]
    if (wanted === undefined) continue
    const want = Buffer.from(wanted)
    if (want.length === given.length && timingSafeEqual(want, given)) return role
  }
  return null
}

export const WHAT: Record<Role, string> = {
  view: 'read the notebook, log and state',
  edit: 'also edit cells',
  run: 'also step, fork, commit previews, edit state and promote',
  owner: 'do everything, and see the credentials in recorded requests',
}
