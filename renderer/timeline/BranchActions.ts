// What a person does to branches from the timeline's toolbar: fork here,
// promote, rename, delete, export and import. Each acts on the branch of the
// selected moment. A rename is a label (the stored name is in every event's
// hash); a delete archives the branch after asking, saying what happens to
// its events — nothing acknowledged is ever erased.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { BranchView, StatusView } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'
import { plural } from '../words.ts'
import type { SelectedMoment } from './moment.ts'

export interface BranchActionsHost {
  client(): EngineClient | null
  moment(): SelectedMoment | null
  /** A branch as the timeline knows it now (its head follows the stream). */
  branch(name: string): BranchView | undefined
  setBranches(branches: BranchView[]): void
  setStatus(status: StatusView): void
  select(branch: string, seq: number): void
  goLive(): void
  /** Shows the selected moment again (its branch's name changed). */
  refresh(): void
  toast(message: string, kind: 'done' | 'info' | 'error'): void
}

/** The name people see: the label of a renamed branch, else its name. */
export function branchLabel(b: Pick<BranchView, 'name' | 'label'> | undefined, name = ''): string {
  return b?.label ?? b?.name ?? name
}

export class BranchActions {
  readonly forkButton: HTMLButtonElement
  readonly promoteButton: HTMLButtonElement
  readonly renameButton: HTMLButtonElement
  readonly deleteButton: HTMLButtonElement
  readonly exportButton: HTMLButtonElement
  readonly importButton: HTMLButtonElement
  /** The inline forms (fork, rename) and the delete confirmation, placed in the toolbar after the buttons. */
  readonly forms: HTMLElement
  private branches: BranchView[] = []
  private readonly forkForm: HTMLElement
  private readonly forkName: HTMLInputElement
  private readonly renameForm: HTMLElement
  private readonly renameName: HTMLInputElement
  private readonly confirm: HTMLElement
  private readonly confirmText: HTMLElement
  private readonly importInput: HTMLInputElement
  /** The branch the open rename form or confirmation is about. */
  private target: string | null = null

  constructor(private readonly host: BranchActionsHost, btn: (cls: string, label: string, icon: string, title: string, onclick: () => void) => HTMLButtonElement) {
    this.forkButton = btn('tl-fork', 'Fork here', 'git-branch', 'Fork a new branch at the selected moment (F)', () => this.showFork())
    this.promoteButton = btn('tl-promote', 'Promote', 'star-empty', 'Make the selected branch the live one: the app continues from its head (P)', () => void this.promote())
    this.renameButton = btn('tl-rename', '', 'edit', 'Rename the selected branch', () => this.showRename())
    this.deleteButton = btn('tl-delete', '', 'trash', 'Delete the selected branch (it is archived: its events stay in the log)', () => this.askDelete())
    this.exportButton = btn('tl-export', '', 'export', 'Export the selected branch', () => void this.exportBranch())
    this.importButton = btn('tl-import', '', 'cloud-download', 'Import a branch', () => this.importInput.click())
    // Nothing to promote, rename or delete until a branch is selected (update).
    for (const b of [this.promoteButton, this.renameButton, this.deleteButton]) b.disabled = true

    const form = (cls: string, input: HTMLInputElement, ok: string, submit: () => void) => {
      const el = h(`span.tl-inline-form.${cls}` as 'span', { hidden: true }, input,
        h('button.tl-btn.primary', { type: 'button', onclick: submit }, ok),
        h('button.tl-btn', { type: 'button', onclick: () => (el.hidden = true) }, 'Cancel'))
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') submit()
        if (e.key === 'Escape') el.hidden = true
      })
      return el
    }
    this.forkName = h('input.se-input.tl-fork-name', { 'aria-label': 'New branch name' })
    this.forkForm = form('tl-fork-form', this.forkName, 'Fork', () => void this.fork())
    this.renameName = h('input.se-input.tl-rename-name', { 'aria-label': 'New name of the branch' })
    this.renameForm = form('tl-rename-form', this.renameName, 'Rename', () => void this.rename())
    this.confirmText = h('span.tl-confirm-text')
    this.confirm = h('div.tl-confirm', { hidden: true, role: 'alertdialog', 'aria-label': 'Delete branch' },
      h('span.codicon.codicon-warning'), this.confirmText,
      h('span.tl-confirm-buttons', null,
        h('button.tl-btn.danger.tl-delete-yes', { type: 'button', onclick: () => void this.delete() }, 'Delete branch'),
        h('button.tl-btn.tl-delete-no', { type: 'button', onclick: () => this.closeForms() }, 'Cancel')))
    this.confirm.addEventListener('keydown', (e) => e.key === 'Escape' && this.closeForms())
    this.importInput = h('input', { type: 'file', accept: '.jsonl,.json,.txt', hidden: true })
    this.importInput.addEventListener('change', () => void this.importFile())
    this.forms = h('span.tl-forms', null, this.forkForm, this.renameForm, this.confirm, this.importInput)
  }

  setBranches(branches: BranchView[]): void {
    this.branches = branches
    this.update()
  }

  /** Which actions the selected branch allows, and why not (on the disabled button's tooltip). */
  update(): void {
    const m = this.host.moment()
    const b = m ? this.host.branch(m.branch) : undefined
    const why = this.cannotDelete(b)
    // A button this page may not use at all (a guest's role, see ShareUi) stays off whatever is selected.
    const set = (button: HTMLButtonElement, off: boolean, title?: string) => {
      if (button.dataset.refused !== undefined) return
      button.disabled = off
      if (title) button.title = title
    }
    set(this.promoteButton, !b || b.live)
    set(this.renameButton, !b)
    set(this.deleteButton, why !== null, why ?? `Delete branch '${branchLabel(b)}' (it is archived: its events stay in the log)`)
  }

  private cannotDelete(b: BranchView | undefined): string | null {
    if (!b) return 'Select a branch to delete'
    if (b.live) return `'${branchLabel(b)}' is the live branch: promote another to delete it`
    const children = this.branches.filter((c) => c.parent === b.name)
    if (children.length) return `Branches are forked from '${branchLabel(b)}' (${children.map((c) => branchLabel(c)).join(', ')}): delete those first`
    return null
  }

  showFork(): void {
    const m = this.host.moment()
    if (!m) return
    this.closeForms()
    this.forkName.value = this.freeName(`${branchLabel(this.host.branch(m.branch), m.branch)}-${m.seq}`)
    this.forkForm.hidden = false
    this.forkName.focus()
    this.forkName.select()
  }

  /** `base`, or base-2, base-3…: the first no branch has (by name or label). */
  freeName(base: string): string {
    const taken = (n: string) => this.branches.some((b) => b.name === n || b.label === n)
    let n = 1
    while (taken(`${base}${n > 1 ? `-${n}` : ''}`)) n++
    return `${base}${n > 1 ? `-${n}` : ''}`
  }

  private async fork(): Promise<void> {
    const m = this.host.moment()
    const client = this.host.client()
    if (!client || !m) return
    try {
      const b = await client.call('fork', { name: this.forkName.value.trim(), from: m.branch, at: m.seq })
      this.forkForm.hidden = true
      await this.openBranch(b)
      this.host.toast(`Forked ${b.name} from ${branchLabel(this.host.branch(m.branch), m.branch)} at event ${m.seq}. Promote it to run and edit it.`, 'done')
    } catch (err) {
      this.host.toast((err as Error).message, 'error')
    }
  }

  /** Shows branch `b` (new, perhaps) on the timeline, at its head or at `seq`. */
  async openBranch(b: BranchView, seq = b.head): Promise<void> {
    const client = this.host.client()
    if (!client) return
    this.host.setBranches(await client.call('branches', {}))
    this.host.select(b.name, seq)
  }

  async promote(): Promise<void> {
    const m = this.host.moment()
    const client = this.host.client()
    if (!client || !m) return
    try {
      const r = await client.call('promote', { name: m.branch })
      this.host.setStatus(r.status)
      this.host.setBranches(r.branches)
      this.host.goLive()
      this.host.toast(`${branchLabel(this.host.branch(m.branch), m.branch)} is now the live branch.`, 'done')
    } catch (err) {
      this.host.toast((err as Error).message, 'error')
    }
  }

  private showRename(): void {
    const m = this.host.moment()
    if (!m) return
    this.closeForms()
    this.target = m.branch
    this.renameName.value = branchLabel(this.host.branch(m.branch), m.branch)
    this.renameForm.hidden = false
    this.renameName.focus()
    this.renameName.select()
  }

  private async rename(): Promise<void> {
    const client = this.host.client()
    const name = this.target
    const to = this.renameName.value.trim()
    if (!client || !name) return
    const before = branchLabel(this.host.branch(name), name)
    if (to === before) return this.closeForms()
    try {
      const b = await client.call('renameBranch', { name, to })
      this.closeForms()
      this.host.setBranches(await client.call('branches', {}))
      this.host.refresh()
      this.host.toast(`Renamed ${before} to ${branchLabel(b)}.${b.label ? ` Its events keep the name '${b.name}' that their hashes include, so the history still verifies.` : ''}`, 'done')
    } catch (err) {
      this.host.toast((err as Error).message, 'error')
    }
  }

  private askDelete(): void {
    const m = this.host.moment()
    const b = m ? this.host.branch(m.branch) : undefined
    if (!b || this.cannotDelete(b)) return
    this.closeForms()
    this.target = b.name
    const own = b.head - (b.forkedAt ?? 0)
    this.confirmText.textContent = `Delete branch '${branchLabel(b)}'? It is archived, not erased: ${own ? `the log keeps its ${plural('event', own)} and Verify still checks ${own === 1 ? 'it' : 'them'}` : 'it has no events of its own'}. It leaves the timeline; loom branches DB --restore ${branchLabel(b)} brings it back.`
    this.confirm.dataset.branch = b.name
    this.confirm.dataset.events = String(own)
    this.confirm.hidden = false
    this.confirm.querySelector<HTMLButtonElement>('.tl-delete-no')!.focus()
  }

  private async delete(): Promise<void> {
    const client = this.host.client()
    const name = this.target
    if (!client || !name) return
    try {
      const r = await client.call('deleteBranch', { name })
      this.closeForms()
      this.host.setBranches(await client.call('branches', {}))
      this.host.goLive()
      this.host.toast(`Deleted ${branchLabel(r)}: archived${r.events ? ` with its ${plural('event', r.events)}` : ' (it had no events of its own)'}; loom branches DB --restore ${branchLabel(r)} brings it back.`, 'done')
    } catch (err) {
      this.host.toast((err as Error).message, 'error')
    }
  }

  closeForms(): void {
    this.forkForm.hidden = this.renameForm.hidden = this.confirm.hidden = true
    this.target = null
  }

  private async exportBranch(): Promise<void> {
    const m = this.host.moment()
    const client = this.host.client()
    if (!client || !m) return
    try {
      const { text } = await client.call('exportBranch', { branch: m.branch })
      const url = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }))
      const a = h('a', { href: url, download: `${m.branch}.loom.jsonl` })
      document.body.append(a)
      a.click()
      a.remove()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    } catch (err) {
      this.host.toast((err as Error).message, 'error')
    }
  }

  private async importFile(): Promise<void> {
    const file = this.importInput.files?.[0]
    this.importInput.value = ''
    const client = this.host.client()
    if (!file || !client) return
    try {
      const text = await file.text()
      // A branch of the same name is here already (an export of this very log, or a colleague's main): import beside it.
      const named = exportedName(text)
      const name = named && this.branches.some((b) => b.name === named) ? this.freeName(`${named}-imported`) : undefined
      const b = await client.call('importBranch', { text, ...(name ? { name } : {}) })
      await this.openBranch(b)
      this.host.toast(`Imported branch ${b.name}${name ? ` (${named} is taken here)` : ''}: ${plural('event', b.head)}, every hash checked.`, 'done')
    } catch (err) {
      this.host.toast((err as Error).message, 'error')
    }
  }
}

/** The branch an export names in its first line (`loom export` writes a header there), or null. */
function exportedName(text: string): string | null {
  try {
    const end = text.indexOf('\n')
    const header = JSON.parse(end < 0 ? text : text.slice(0, end)) as { branch?: unknown }
    return typeof header.branch === 'string' ? header.branch : null
  } catch {
    return null
  }
}
