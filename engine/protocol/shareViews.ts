// A shared session as the protocol carries it: a guest's role and room, the
// compile problems every guest sees, the host's presence. Part of messages.ts.
import type { LoomError } from './loomError.ts'

/**
 * Set by the share guard on every edit a guest sends (whatever the guest
 * said): the front matter — the notebook's settings and the effects it
 * grants — is the owner's, so such an edit may not change it.
 */
export interface GuestEdit {
  asGuest?: boolean
}

/** A shared session as the page that joined it sees it: in `hello`'s answer when the page said hello with an invite token. */
export interface ShareView {
  /** What this page's link allows: `view` reads, `edit` also edits cells, `run` also steps, forks and commits; `owner` is the person who shares. */
  role: 'view' | 'edit' | 'run' | 'owner'
  /** The y-websocket server: null for the page's own server (`/sync` on the page's origin), else its ws:// or wss:// URL. */
  sync: string | null
  /** The room that holds the notebook on that server. */
  room: string
  /** The port of the session's listener for guests: a page served elsewhere (the owner's 127.0.0.1 page) that cannot reach `/sync` on its own origin goes there. */
  port: number
  /** What each role may do, in words, so the page can say why something is off. */
  can: Record<'view' | 'edit' | 'run' | 'owner', string>
}

/** A compile problem of a shared notebook, as every guest sees it. */
export interface SharedProblem extends LoomError {
  /** Who last changed that line of that cell (null: nobody since the file was loaded). */
  author: string | null
}

/** The host's presence in a shared session (awareness field `loomHost`): what the engine made of the shared text last. */
export interface HostPresence {
  /** The notebook's compile problems after the engine last took the shared text; empty when it runs. */
  problems: SharedProblem[]
  /** When the engine last took the document's text (ms since the epoch), null before. The file is written only by Save. */
  appliedAt: number | null
}
