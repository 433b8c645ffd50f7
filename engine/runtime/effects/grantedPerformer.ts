// The performer a launcher hands the log host: a confined engine process asks
// it for a safe read or one try of an action over the link, and it believes nothing the request says
// about grants: it checks it again against the notebook's front matter as the
// launcher read it (the owner's file), then performs it.
import { dirname } from 'node:path'
import { readFile } from 'node:fs/promises'
import { parseNotebook } from '../notebook.ts'
import { notebookGrants, originOf, privateGranted, type Grants } from './grants.ts'
import { fsRead, httpGet } from './request.ts'
import { fsWrite, httpSend } from './action.ts'
import { performEffect, type ReachOptions } from './perform.ts'
import type { Performed } from './effectRunner.ts'

export interface GrantedPerformer {
  perform(request: unknown): Promise<Performed>
  /** The notebook was saved (--watch): its grants from now on. */
  update(text: string): void
}

/** Settles once you have allowed these grants of the notebook (engine/host/allowedGrants.ts): a notebook's grants are its author's until you do. */
export type Allowed = (grants: Grants) => Promise<void>

/** `resolve` replaces DNS (a test's names that no resolver here answers for). */
export function grantedPerformer(notebookPath: string, text: string, allowed: Allowed, resolve?: ReachOptions['resolve']): GrantedPerformer {
  let grants: Grants | undefined
  const update = (t: string) => {
    try {
      grants = notebookGrants(parseNotebook(t, notebookPath))
    } catch {
      // A saved text that does not parse runs nowhere (live coding refuses it): the grants stay.
    }
  }
  update(text)
  return {
    update,
    perform: async (raw) => {
      const r = raw as Record<string, unknown> | null
      if (r === null || typeof r !== 'object') throw new Error('effect: malformed request')
      const asked = r.kind === 'http.get' ? httpGet(grants, r.url, r.headers, r.timeoutMs)
        : r.kind === 'fs.read' ? fsRead(grants, r.root, r.path)
        : r.kind === 'http.send' ? sent(httpSend(grants, { method: r.method, url: r.url, headers: r.headers, body: typeof r.body === 'string' ? r.body : undefined }, { timeoutMs: r.timeoutMs }))
        : r.kind === 'fs.write' ? sent(fsWrite(grants, r.root, r.path, typeof r.data === 'string' ? r.data : undefined, undefined))
        : null
      if (!asked) throw new Error('effect: not a read or an action')
      // The cell names its call already; this says why, and where the grant is read from.
      if ('denied' in asked) throw new Error(`${'why' in asked ? asked.why : asked.denied} (as the notebook's file grants it)`)
      // Asked of the file's grants as they are now, for each effect: a grant added since they were allowed waits until it is.
      const waiting = performance.now()
      await allowed(grants!)
      const waitedMs = performance.now() - waiting
      const r2 = asked.request
      const origin = r2.kind === 'http.get' || r2.kind === 'http.send' ? originOf(new URL(r2.url)) : ''
      return { response: await performEffect(r2, dirname(notebookPath), { privateGranted: privateGranted(grants, origin), ...(resolve ? { resolve } : {}) }), waitedMs }
    },
  }
}

/** An action checked again, as a request to perform once (the runner retries). */
function sent(made: ReturnType<typeof httpSend>): { request: import('./request.ts').EffectRequest } | { denied: string } {
  return 'denied' in made ? made : { request: made.action.request }
}

/**
 * `loom serve`: the grants are the notebook file's as saved now (the owner's
 * file), read again for each request, so an edit in the window grants nothing
 * until it is saved.
 */
export function savedFilePerformer(notebookPath: string, allowed: Allowed): (request: unknown) => Promise<Performed> {
  const granted = grantedPerformer(notebookPath, '', allowed)
  return async (request) => {
    granted.update(await readFile(notebookPath, 'utf8').catch(() => ''))
    return granted.perform(request)
  }
}
