// This page's part in a shared session: the notebook as a Yjs document kept
// in sync through the y-websocket server the engine named in `hello`, and
// everyone's presence (Yjs awareness): name, colour, cursor (y-monaco puts
// it there), the selected moment on the timeline and its branch.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import type { Awareness } from 'y-protocols/awareness'
import type { HostPresence, ShareView } from '../../engine/protocol/messages.ts'
import { chooseName, cleanName, colourOf, rememberName } from './identity.ts'

export type Role = ShareView['role']

/** A moment on the timeline as presence carries it. */
export interface SharedMoment {
  branch: string
  seq: number
  live: boolean
}

export interface Person {
  /** Their Yjs client id: the remote cursor's CSS classes carry it (`yRemoteSelection-<client>`). */
  client: number
  name: string
  colour: string
  moment: SharedMoment | null
  me: boolean
}

/** What a page puts in its presence (the host process puts `loomHost` instead). */
interface PresenceFields {
  name?: unknown
  colour?: unknown
  moment?: unknown
  loomHost?: HostPresence
}

export type SyncState = 'connecting' | 'connected' | 'disconnected'

export class ShareSession {
  readonly doc = new Y.Doc()
  readonly provider: WebsocketProvider
  readonly awareness: Awareness
  readonly colour: string
  private name: string
  private readonly listeners = { people: new Set<() => void>(), host: new Set<() => void>(), sync: new Set<(s: SyncState) => void>() }
  private hostKey = ''

  constructor(readonly view: ShareView, token: string) {
    const params = new URLSearchParams(location.search)
    this.name = chooseName(params, this.doc.clientID, view.role === 'owner')
    this.colour = colourOf(this.doc.clientID)
    const url = view.sync ?? `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/sync`
    // The token opens our own sync server; a server elsewhere (--sync) does not check it and is not given it.
    this.provider = new WebsocketProvider(url, view.room, this.doc, { params: view.sync === null ? { token, name: this.name } : { name: this.name }, disableBc: true, maxBackoffTime: 2000 })
    this.awareness = this.provider.awareness
    this.awareness.setLocalState({ name: this.name, colour: this.colour, moment: null })
    this.awareness.on('change', () => this.changed())
    this.provider.on('status', ({ status }) => {
      for (const fn of this.listeners.sync) fn(status)
    })
  }

  get role(): Role {
    return this.view.role
  }

  get myName(): string {
    return this.name
  }

  /** Resolves once the document has the notebook (the first exchange with the server is done). */
  whenSynced(): Promise<void> {
    if (this.provider.synced) return Promise.resolve()
    return new Promise((ok) => {
      const once = (synced: boolean) => {
        if (!synced) return
        this.provider.off('sync', once)
        ok()
      }
      this.provider.on('sync', once)
    })
  }

  /** Everyone with a page in the session, you first. */
  people(): Person[] {
    const out: Person[] = []
    for (const [client, raw] of this.awareness.getStates()) {
      const st = raw as PresenceFields
      if (st.loomHost) continue
      const name = typeof st.name === 'string' ? (cleanName(st.name) ?? 'guest') : `guest ${client % 100}`
      out.push({ client, name, colour: typeof st.colour === 'string' && /^#[0-9a-f]{6}$/i.test(st.colour) ? st.colour : colourOf(client), moment: momentOf(st.moment), me: client === this.doc.clientID })
    }
    return out.sort((a, b) => Number(b.me) - Number(a.me) || a.name.localeCompare(b.name))
  }

  /** What the host's last save of the shared text gave (null until the host's presence arrives). */
  host(): HostPresence | null {
    for (const st of this.awareness.getStates().values()) {
      const h = (st as PresenceFields).loomHost
      if (h && Array.isArray(h.problems)) return h
    }
    return null
  }

  setMoment(moment: SharedMoment): void {
    const old = momentOf((this.awareness.getLocalState() as PresenceFields | null)?.moment)
    if (old && old.branch === moment.branch && old.seq === moment.seq && old.live === moment.live) return
    this.awareness.setLocalStateField('moment', moment)
    this.awareness.setLocalStateField('branch', moment.branch)
  }

  rename(name: string): void {
    const n = cleanName(name)
    if (!n) return
    this.name = n
    rememberName(n)
    this.awareness.setLocalStateField('name', n)
  }

  onPeople(fn: () => void): void {
    this.listeners.people.add(fn)
  }

  onHost(fn: () => void): void {
    this.listeners.host.add(fn)
  }

  onSync(fn: (state: SyncState) => void): void {
    this.listeners.sync.add(fn)
  }

  private changed(): void {
    for (const fn of this.listeners.people) fn()
    // The host's presence changes only when it saved: tell its listeners then, not on every cursor move.
    const h = this.host()
    const key = h ? JSON.stringify(h) : ''
    if (key !== this.hostKey) {
      this.hostKey = key
      for (const fn of this.listeners.host) fn()
    }
  }

  destroy(): void {
    this.provider.destroy()
    this.doc.destroy()
  }
}

function momentOf(m: unknown): SharedMoment | null {
  const x = m as Partial<SharedMoment> | null | undefined
  if (!x || typeof x.branch !== 'string' || typeof x.seq !== 'number' || !Number.isFinite(x.seq)) return null
  return { branch: x.branch.slice(0, 200), seq: Math.max(0, Math.floor(x.seq)), live: x.live === true }
}
