// What a shared session adds to the window: joining the shared document
// (when hello says the page came from an invite link), the people in the
// top bar, their cursors in the cells and their moments on the timeline,
// following someone, and what this page's role may not do, said where it
// shows (disabled buttons with the reason, a banner, read-only cells).
import type { Result } from '../../engine/protocol/messages.ts'
import type { Banner } from '../Banner.ts'
import type { TopBar } from '../TopBar.ts'
import type { NotebookView } from '../notebook/NotebookView.ts'
import type { Timeline } from '../timeline/Timeline.ts'
import type { SelectedMoment } from '../timeline/moment.ts'
import { addressWithToken, pageToken } from '../pageToken.ts'
import { PeopleList } from './PeopleList.ts'
import { showRemoteCursors } from './remoteCursors.ts'
import { ShareSession, type Person, type SharedMoment } from './ShareSession.ts'
import { article } from '../words.ts'

export interface ShareUiParts {
  topBar: TopBar
  banner: Banner
  notebook: NotebookView
  timeline(): Timeline
  /** The buttons that make events or branches: the timeline's (fork, promote, verify, replay, import), the agent panel's (preview, explore). */
  runButtons(): HTMLButtonElement[]
  /** Makes the state editor read-only, saying why. */
  stateReadOnly(reason: string): void
}

/** How long the page waits for the shared document before saying it cannot reach it. */
const SYNC_PATIENCE_MS = 5000

export class ShareUi {
  private session: ShareSession | null = null
  private readonly people: PeopleList
  /** Whom this page follows (a Yjs client id), and the moment it last moved the timeline to for them. */
  private following: number | null = null
  private asked: SharedMoment | null = null
  private runRefused: string | null = null

  constructor(private readonly parts: ShareUiParts) {
    this.people = new PeopleList({ follow: (client) => this.follow(client), rename: () => this.rename() })
  }

  get active(): ShareSession | null {
    return this.session
  }

  /** A (new) connection to the engine said hello: join its shared session if it has one (once; a reconnect keeps it). */
  open(hello: Result<'hello'>): void {
    const share = hello.share
    if (!share || this.session) return
    const token = pageToken() ?? ''
    const session = new ShareSession(share, token)
    this.session = session
    const { topBar, banner, notebook } = this.parts
    topBar.people.replaceChildren(this.people.element)
    const runs = share.role === 'run' || share.role === 'owner'
    this.people.setRole(share.role, share.role === 'view' ? share.can.view : `${share.can.view}, ${share.can.edit.replace(/^also /, '')}${runs ? `, ${share.can.run.replace(/^also /, '')}` : ''}`)
    document.documentElement.dataset.shareRole = share.role

        const readOnly = share.role === 'view' ? `You joined with a view link, which can ${share.can.view}; editing cells needs an edit link — ask the person who shares the session.` : null
    this.runRefused = runs ? null : `You joined with ${article(share.role)} link, which can ${share.role === 'view' ? share.can.view : `${share.can.view} and edit cells`}; stepping, running, forking and committing need a run link — ask the person who shares the session.`
    // Save writes the notebook's file on the host's machine: the owner's, whose file it is (DESIGN §8).
    const saveRefused = share.role === 'owner' ? null : 'Save writes the notebook on the machine of the person who shares it, and only they save; your edits are live in the session already.'
    topBar.refuse(this.runRefused, saveRefused)
    if (this.runRefused) {
      banner.show('share-role', 'info', share.role === 'view'
        ? 'You joined with a view link: you can read the notebook, log and state, and follow the others. Editing needs an edit link, stepping a run link — ask the person who shares the session.'
        : 'You joined with an edit link: you can edit cells with the others. Stepping, running and forking need a run link — ask the person who shares the session.')
      this.refuseRunButtons()
    }

    // The owner's own page (127.0.0.1, another port) may have no /sync of its own, nor leave to reach a --sync server:
    // it moves to the guests' listener, token and all, which has both.
    if (location.port !== String(share.port)) {
      session.provider.once('connection-close', () => {
        if (session.provider.synced) return
        session.destroy()
        location.replace(addressWithToken(`${location.protocol}//${location.hostname}:${share.port}`))
      })
    }
    notebook.expectShare()
    const late = setTimeout(() => banner.show('share-sync', 'warning', 'Cannot reach the shared notebook yet; still trying.', share.sync ?? `${location.host}/sync`), SYNC_PATIENCE_MS)
    void session.whenSynced().then(() => {
      clearTimeout(late)
      banner.hide('share-sync')
      notebook.share(session, readOnly)
    })
    session.onSync((state) => {
      if (state === 'connected') banner.hide('share-sync')
      else if (state === 'disconnected' && session.provider.synced) banner.show('share-sync', 'warning', 'The connection to the shared notebook was lost. Reconnecting… What you type meanwhile is kept and merged when it is back.')
    })
    session.onHost(() => {
      const host = session.host()
      if (host && notebook.shared) notebook.showProblems(host.problems)
    })
    session.onPeople(() => this.peopleChanged())
    this.peopleChanged()
  }

  /** The selected moment changed (by this person, or by following someone). */
  moment(m: SelectedMoment): void {
    const session = this.session
    if (!session) return
    session.setMoment({ branch: m.branch, seq: m.seq, live: m.live })
    const asked = this.asked
    // A moment the follow did not ask for: the person moved it themselves, so they stop following.
    if (this.following !== null && asked && !(asked.live ? m.live && m.branch === asked.branch : m.branch === asked.branch && m.seq === asked.seq)) this.follow(null)
  }

  private peopleChanged(): void {
    const session = this.session!
    const people = session.people()
    this.people.show(people)
    showRemoteCursors(people)
    const others = people.filter((p) => !p.me)
    this.parts.timeline().setPeers(others.filter((p) => p.moment).map((p) => ({ name: p.name, colour: p.colour, branch: p.moment!.branch, seq: p.moment!.seq })))
    if (this.following !== null) {
      const them = others.find((p) => p.client === this.following)
      if (!them) this.follow(null)
      else this.track(them)
    }
  }

  private follow(client: number | null): void {
    this.following = client
    this.asked = null
    this.people.setFollowing(client)
    const them = this.session?.people().find((p) => p.client === client)
    if (them) {
      this.parts.banner.toast(`Following ${them.name}: your timeline shows their moment until you move it.`, 'info')
      this.track(them)
    }
  }

  /** Moves this page's selected moment to where the followed person is. */
  private track(them: Person): void {
    const m = them.moment
    if (!m) return
    const asked = this.asked
    if (asked && asked.branch === m.branch && asked.seq === m.seq && asked.live === m.live) return
    this.asked = m
    const timeline = this.parts.timeline()
    if (m.live) timeline.setFollow(true)
    else {
      timeline.setFollow(false)
      timeline.select(m.branch, m.seq, false)
    }
  }

  private rename(): void {
    const session = this.session
    if (!session) return
    const name = prompt('Your name in this session', session.myName)
    if (name !== null) session.rename(name)
  }

  /** The timeline's buttons that would make events or branches: off, saying why (a click explains too, in case one was turned back on). */
  private refuseRunButtons(): void {
    const reason = this.runRefused!
    this.parts.stateReadOnly(reason)
    for (const b of this.parts.runButtons()) {
      b.disabled = true
      b.title = reason
      // Buttons that turn on and off with the selected moment (promote, rename, delete) stay off.
      b.dataset.refused = reason
      b.addEventListener('click', (e) => {
        e.stopImmediatePropagation()
        this.parts.banner.toast(reason, 'info')
      }, { capture: true })
    }
  }
}
