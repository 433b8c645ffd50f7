// The projectional state editor: the state at the selected moment, each state
// in an editor made for its kind — maps as tables, queues and bags as lists,
// counters with +/−, numbers/strings/booleans inline, other values as trees.
// On the live head a change is one `editState` request (an `edit` event), and
// Ctrl+Z (or Undo) puts back what the last one changed, as another edit event,
// unless the app has changed that state since; past moments are read-only,
// with "Fork here" to change history.
import type { Json, StateEdit, StateValue } from '../../engine/protocol/messages.ts'
import { fill, h } from '../dom.ts'
import { jsonTree, preview, shownString } from '../state/jsonTree.ts'
import type { SelectedMoment } from '../timeline/moment.ts'
import { sparkline } from './sparkline.ts'

export interface StateEditorActions {
  /**
   * The edit's answer (each state it changed, after it), or null when it was refused (the
   * caller shows why). `expect`: refused unless those states hold those values now.
   */
  edit(edits: StateEdit[], expect?: Record<string, Json>): Promise<{ after: Record<string, Json> } | null>
  forkHere(): void
  goLive(): void
  /** Makes the moment's branch live (editing a branch's head needs it). */
  promote(): void
  /** What people call a branch (a renamed one by its new name). */
  called(branch: string): string
}

export class StateEditor {
  readonly element: HTMLElement
  private readonly body: HTMLElement
  private readonly banner: HTMLElement
  private readonly open = new Set<string>()
  private values: Record<string, StateValue> = {}
  private moment: SelectedMoment | null = null
  private series: { at: number[]; values: Record<string, (number | null)[]> } | null = null
  /** Hand edits that can be undone, newest last: what each state it changed held before it and after it. */
  private undos: { before: Record<string, Json>; after: Record<string, Json> }[] = []
  private readonly undoButton: HTMLButtonElement

  /** A render was skipped while a value was edited in place: it is done once the editor lets go. */
  private behind = false

  constructor(private readonly actions: StateEditorActions) {
    this.banner = h('div.se-banner', { hidden: true })
    this.body = h('div.state-body', null, h('div.empty', null, 'No state yet.'))
    this.body.addEventListener('focusout', () => setTimeout(() => {
      if (this.behind && !this.body.querySelector('.se-input:focus')) this.render()
    }))
    this.undoButton = h('button.se-btn.se-undo', { type: 'button', hidden: true, title: 'Undo the last state edit (Ctrl+Z)', onclick: () => void this.undo() }, h('span.codicon.codicon-discard'), 'Undo edit')
    this.element = h('div.state-editor', null, this.banner, h('div.se-tools-row', null, this.undoButton), this.body)
  }

  /** A hand edit, remembered so it can be undone; false if it was refused. */
  private async change(edits: StateEdit[]): Promise<boolean> {
    const before: Record<string, Json> = {}
    for (const e of edits) if (!(e.state in before) && this.values[e.state]) before[e.state] = this.values[e.state]!.value
    const done = await this.actions.edit(edits)
    if (!done) return false
    this.undos.push({ before, after: done.after })
    if (this.undos.length > 100) this.undos.shift()
    this.showUndo()
    return true
  }

  /**
   * Puts back what the last hand edit changed, as a new edit event. Refused by the engine
   * (and forgotten) if one of those states no longer holds what the edit left: the app, a
   * guest or another edit changed it since. Undoing twice undoes the edit before.
   */
  async undo(): Promise<boolean> {
    const last = this.undos.pop()
    this.showUndo()
    if (!last || !this.editable) return false
    const edits: StateEdit[] = Object.entries(last.before).map(([state, set]) => ({ state, set }))
    return !!(await this.actions.edit(edits, last.after))
  }

  get canUndo(): boolean {
    return this.editable && this.undos.length > 0
  }

  private showUndo(): void {
    this.undoButton.hidden = !this.canUndo
  }

  /** Why this person may not edit state at all (a shared session's view or edit link), or null. */
  private refused: string | null = null

  get editable(): boolean {
    return !!this.moment?.live && this.refused === null
  }

  /** From now on the state is shown read-only, with the reason above it. */
  refuse(reason: string): void {
    this.refused = reason
    this.element.dataset.refused = 'true'
    if (this.moment) this.show(this.moment, this.values)
  }

  show(moment: SelectedMoment, values: Record<string, StateValue>, atBranchHead = false): void {
    this.moment = moment
    this.values = values
    this.element.dataset.editable = String(this.editable)
    this.element.dataset.branch = moment.branch
    this.element.dataset.seq = String(moment.seq)
    this.banner.hidden = moment.live && this.refused === null
    this.showUndo()
    if (this.refused !== null) {
      fill(this.banner, h('span.codicon.codicon-lock'), h('span.se-banner-text', null, this.refused))
    } else if (!moment.live && atBranchHead) {
      fill(this.banner,
        h('span.codicon.codicon-git-branch'),
        h('span.se-banner-text', null, `${this.actions.called(moment.branch)} is not the live branch — promote it to change its state.`),
        h('button.se-fork', { type: 'button', onclick: () => this.actions.promote() }, h('span.codicon.codicon-star-empty'), 'Promote'),
        h('button.se-live', { type: 'button', onclick: () => this.actions.goLive() }, 'Go live'))
    } else if (!moment.live) {
      fill(this.banner,
        h('span.codicon.codicon-history'),
        h('span.se-banner-text', null, `${this.actions.called(moment.branch)} at event ${moment.seq} — the past is read-only.`),
        h('button.se-fork', { type: 'button', onclick: () => this.actions.forkHere() }, h('span.codicon.codicon-git-branch'), 'Fork here to change history'),
        h('button.se-live', { type: 'button', onclick: () => this.actions.goLive() }, 'Go live'))
    }
    this.render()
  }

  setSeries(series: { at: number[]; values: Record<string, (number | null)[]> }): void {
    this.series = series
    this.render()
  }

  /** Brings one state into view and flashes it (a link from event details). */
  reveal(name: string): void {
    const el = this.body.querySelector<HTMLElement>(`.state-entry[data-state="${CSS.escape(name)}"]`)
    if (!el) return
    el.scrollIntoView({ block: 'nearest' })
    el.classList.remove('flash')
    void el.offsetWidth
    el.classList.add('flash')
  }

  private render(): void {
    const names = Object.keys(this.values).sort()
    if (!names.length) return fill(this.body, h('div.empty', null, 'The app declares no state.'))
    const typing = this.body.querySelector<HTMLInputElement | HTMLTextAreaElement>('.se-input:focus')
    // A value edited in place (or as JSON) commits or is dropped when it lets go: show the state again then.
    if (typing && !isDraft(typing)) {
      this.behind = true
      return
    }
    this.behind = false
    fill(this.body, ...names.map((name) => this.entry(name, this.values[name]!)))
    // A new key, value or item half typed stays, focused, in the state shown afresh around it.
    if (typing) keepDraft(this.body, typing as HTMLInputElement)
  }

  private entry(name: string, { kind, value }: StateValue): HTMLElement {
    const spark = this.series?.values[name]
    const head = h('div.se-head', null,
      h('span.state-name', null, name), h('span.kind', null, kind),
      spark && spark.some((v) => v !== null) ? sparkline(this.series!.at, spark, this.moment?.seq ?? null) : null)
    let editor: HTMLElement
    switch (kind) {
      case 'map': editor = this.mapEditor(name, (value ?? {}) as Record<string, Json>); break
      case 'queue': editor = this.listEditor(name, (value ?? []) as Json[], 'push'); break
      case 'bag': editor = this.listEditor(name, (value ?? []) as Json[], 'put'); break
      case 'counter': editor = this.counterEditor(name, value as number); break
      default: editor = this.varEditor(name, value)
    }
    return h('div.state-entry', { 'data-state': name, 'data-kind': kind }, head, editor)
  }

  private mapEditor(name: string, map: Record<string, Json>): HTMLElement {
    const keys = Object.keys(map)
    const rows = keys.map((k) => h('tr', { 'data-key': k },
      h('td.se-key', { title: k }, k),
      h('td.se-val', null, this.scalar(map[k]!, (v) => this.change([{ state: name, key: k, set: v }]), `${name}.${k}`)),
      h('td.se-tools', null, this.editable ? h('button.icon-button.se-del', { type: 'button', title: `Delete ${k}`, onclick: () => void this.change([{ state: name, key: k, delete: true }]) }, h('span.codicon.codicon-close')) : null)))
    // The columns' widths set once, not by the first row: an empty map's first row spans all three.
    const table = h('table.se-map', null, h('colgroup', null, h('col.se-key-col'), h('col'), h('col.se-tools-col')), h('tbody', null, ...rows))
    if (!keys.length) table.append(h('tr', null, h('td.se-empty', { colspan: 3 }, 'empty map')))
    if (this.editable) {
      const key = h('input.se-input.se-new-key', { placeholder: 'key', 'aria-label': `New key of ${name}` })
      const val = h('input.se-input.se-new-val', { placeholder: 'value', 'aria-label': `New value of ${name}` })
      const add = () => {
        if (!key.value.trim()) return key.focus()
        const value = typed(val, () => parseNew(val.value))
        if (value !== undefined) void this.change([{ state: name, key: key.value.trim(), set: value }]).then((ok) => ok && this.typedDone(val))
      }
      val.addEventListener('keydown', (e) => e.key === 'Enter' && add())
      table.append(h('tr.se-add', null, h('td', null, key), h('td', null, val), h('td', null, h('button.icon-button', { type: 'button', title: 'Add this entry', onclick: add }, h('span.codicon.codicon-add')))))
    }
    return table
  }

  private listEditor(name: string, items: Json[], op: 'push' | 'put'): HTMLElement {
    const remove = (i: number) => this.editable
      ? h('button.icon-button.se-del', { type: 'button', title: `Remove item ${i} of ${name}`, onclick: () => void this.change([{ state: name, remove: i }]) }, h('span.codicon.codicon-close'))
      : null
    const list = h('ol.se-list', { start: 0 }, ...items.map((v, i) => h('li', { 'data-index': i }, h('span.se-item', null, preview(v, 120)), remove(i))))
    if (!items.length) list.append(h('li.se-empty', null, op === 'push' ? 'empty queue' : 'empty bag'))
    const box = h('div.se-listbox', null, list)
    if (this.editable) {
      const input = h('input.se-input', { placeholder: op === 'push' ? 'push a value (JSON)' : 'put a value (JSON)', 'aria-label': `${op} to ${name}` })
      const go = () => {
        if (!input.value.trim()) return
        const value = typed(input, () => parseNew(input.value))
        if (value !== undefined) void this.change([op === 'push' ? { state: name, push: value } : { state: name, put: value }]).then((ok) => ok && this.typedDone(input))
      }
      input.addEventListener('keydown', (e) => e.key === 'Enter' && go())
      box.append(h('div.se-row', null, input, h('button.se-btn', { type: 'button', onclick: go }, op)))
    }
    return box
  }

  /** What was typed is in: the input lets go, and the state it changed is shown (no render waits on a focused input). */
  private typedDone(input: HTMLInputElement): void {
    input.value = ''
    input.blur()
    this.render()
  }

  private counterEditor(name: string, n: number): HTMLElement {
    return h('div.se-row.se-counter', null,
      h('span.jt-number.se-number', null, String(n)),
      this.editable ? h('button.se-btn', { type: 'button', title: 'Add −1', onclick: () => void this.change([{ state: name, add: -1 }]) }, '−1') : null,
      this.editable ? h('button.se-btn', { type: 'button', title: 'Add 1', onclick: () => void this.change([{ state: name, add: 1 }]) }, '+1') : null)
  }

  private varEditor(name: string, value: Json): HTMLElement {
    if (value === null || typeof value !== 'object') return h('div.se-row', null, this.scalar(value, (v) => this.change([{ state: name, set: v }]), name))
    const tree = jsonTree(value, name, this.open)
    if (!this.editable) return tree
    const edit = h('button.se-btn.se-json', { type: 'button', title: 'Edit as JSON' }, '{ } edit')
    const box = h('div.se-tree', null, tree, edit)
    edit.addEventListener('click', () => {
      const area = h('textarea.se-input.se-area', { rows: 4, 'aria-label': `${name} as JSON` })
      area.value = JSON.stringify(value, null, 1)
      const save = async () => {
        const v = typed(area, () => finite(JSON.parse(area.value) as Json))
        if (v !== undefined) await this.change([{ state: name, set: v }])
      }
      fill(box, area, h('div.se-row', null, h('button.se-btn', { type: 'button', onclick: () => void save() }, 'Set'), h('button.se-btn', { type: 'button', onclick: () => this.render() }, 'Cancel')))
      area.focus()
    })
    return box
  }

  /** A value shown as text; on the live head a click turns it into an input (Enter sets, Esc cancels). */
  private scalar(value: Json, set: (v: Json) => Promise<boolean>, label: string): HTMLElement {
    const cls = value === null ? 'jt-null' : typeof value === 'string' ? 'jt-string' : typeof value === 'number' ? 'jt-number' : typeof value === 'boolean' ? 'jt-bool' : 'jt-preview'
    const text = typeof value === 'string' ? shownString(value) : preview(value, 80)
    if (!this.editable) return h(`span.${cls}.se-value` as 'span', null, text)
    if (typeof value === 'boolean') {
      return h('button.se-value.se-bool', { type: 'button', 'aria-pressed': String(value), title: `Set ${label} to ${!value}`, onclick: () => void set(!value) }, h('span.se-switch'), String(value))
    }
    const span = h(`button.${cls}.se-value.se-editable` as 'button', { type: 'button', title: `Edit ${label}` }, text)
    span.addEventListener('click', () => {
      const input = h('input.se-input', { 'aria-label': `Edit ${label}`, 'data-edit': label })
      input.value = typeof value === 'string' ? value : JSON.stringify(value)
      let done = false
      const commit = async () => {
        if (done) return
        const v = typed(input, () => parseAs(input.value, value))
        if (v === undefined) return
        done = true
        input.blur()
        if (JSON.stringify(v) !== JSON.stringify(value)) await set(v)
        this.render()
      }
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') void commit()
        if (e.key === 'Escape') {
          done = true
          input.blur()
          this.render()
        }
      })
      input.addEventListener('blur', () => void commit())
      span.replaceWith(input)
      input.focus()
      input.select()
    })
    return span
  }
}

/** An input for something new (a map's key or value, a queue's or bag's item): nothing is committed when it lets go. */
function isDraft(el: HTMLInputElement | HTMLTextAreaElement): el is HTMLInputElement {
  return el instanceof HTMLInputElement && !el.dataset.edit
}

/** Puts `draft` (with its caret) in place of its fresh twin in `body`, by its label, and gives it the focus back. */
function keepDraft(body: HTMLElement, draft: HTMLInputElement): void {
  const twin = body.querySelector<HTMLInputElement>(`input.se-input[aria-label="${CSS.escape(draft.getAttribute('aria-label') ?? '')}"]`)
  if (!twin) return
  const { selectionStart, selectionEnd } = draft
  twin.replaceWith(draft)
  draft.focus()
  draft.setSelectionRange(selectionStart, selectionEnd)
}

/**
 * A new value (a map entry, a queue or bag item) is JSON, read the same way
 * whether the state is empty or not; anything else is refused where it was
 * typed (a bare word taken as text could break an app that expects objects).
 */
function parseNew(text: string): Json {
  let value: Json
  try {
    value = JSON.parse(text) as Json
  } catch (err) {
    const typed = text.trim()
    // An object or a list with a slip in it was meant as JSON: quoting all of it as one text would be the wrong advice.
    const hint = /^[[{]/.test(typed) ? 'names and texts inside need double quotes, as in {"from": "alice"}' : `a text needs quotes, like "${typed.replace(/["\\]/g, '')}"`
    throw new Error(`not JSON (${(err as Error).message}): ${hint}`)
  }
  return finite(value)
}

/** An edited value keeps its type: a number stays a number, a string a string; anything else is JSON. */
function parseAs(text: string, like: Json): Json {
  const t = text.trim()
  if (typeof like === 'number' && t !== '' && !Number.isNaN(Number(t))) return finite(Number(t))
  if (typeof like === 'string') return text
  return parseNew(text)
}

/** State holds plain data: JSON reads 1e999 as Infinity, which no log can keep (it would be stored as null). */
function finite(value: Json): Json {
  const stack: unknown[] = [value]
  while (stack.length) {
    const v = stack.pop()
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${v} is not a finite number: state holds plain data (numbers must be finite)`)
    if (v !== null && typeof v === 'object') stack.push(...Object.values(v))
  }
  return value
}

/** What `read` gives, or undefined with its error shown on the input it came from. */
function typed(input: HTMLInputElement | HTMLTextAreaElement, read: () => Json): Json | undefined {
  try {
    const value = read()
    input.setCustomValidity('')
    return value
  } catch (err) {
    input.setCustomValidity((err as Error).message)
    input.reportValidity()
    return undefined
  }
}
