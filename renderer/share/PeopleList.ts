// Who is in the session, in the top bar: a coloured dot and a name per
// person, and where each is on the timeline. Click someone to follow them
// (your selected moment tracks theirs until you move it yourself); click
// yourself to change your name.
import { h } from '../dom.ts'
import type { Person, Role } from './ShareSession.ts'
import { article } from '../words.ts'

export interface PeopleActions {
  follow(client: number | null): void
  rename(): void
}

export class PeopleList {
  readonly element: HTMLElement
  private readonly chips: HTMLElement
  private readonly roleBadge: HTMLElement
  private following: number | null = null
  private people: Person[] = []

  constructor(private readonly actions: PeopleActions) {
    this.chips = h('span.people-chips')
    this.roleBadge = h('span.share-role')
    this.element = h('span.people', { role: 'group', 'aria-label': 'People in this session' }, this.roleBadge, this.chips)
  }

  setRole(role: Role, can: string): void {
    this.roleBadge.textContent = role
    this.roleBadge.dataset.role = role
    this.roleBadge.title = role === 'owner' ? `You share this session: you can ${can}` : `You joined with ${article(role)} link: you can ${can}`
  }

  setFollowing(client: number | null): void {
    this.following = client
    this.show(this.people)
  }

  show(people: Person[]): void {
    this.people = people
    this.chips.replaceChildren(...people.map((p) => this.chip(p)))
  }

  private chip(p: Person): HTMLElement {
    const where = p.moment ? (p.moment.live ? `${p.moment.branch} · live` : `${p.moment.branch} · ${p.moment.seq}`) : ''
    const following = this.following === p.client
    const title = p.me
      ? `You (${p.name}) — click to change your name`
      : following
        ? `You follow ${p.name}${where ? ` (${where})` : ''} — click to stop`
        : `${p.name}${where ? ` is at ${where}` : ''} — click to follow`
    const dot = h('span.person-dot')
    dot.style.background = p.colour
    const chip = h('button.person', {
      type: 'button',
      title,
      'data-client': p.client,
      'data-name': p.name,
      'data-me': p.me,
      'data-following': following,
      'data-moment': p.moment ? `${p.moment.branch}:${p.moment.seq}${p.moment.live ? ':live' : ''}` : undefined,
      onclick: () => (p.me ? this.actions.rename() : this.actions.follow(following ? null : p.client)),
    }, dot, h('span.person-name', null, p.me ? `${p.name} (you)` : p.name), where && !p.me ? h('span.person-where', null, where) : null)
    chip.style.setProperty('--person', p.colour)
    return chip
  }
}
