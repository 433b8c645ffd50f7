// The host's side of a shared document: after people stop typing for a
// moment it hands the merged notebook to the engine, which live-codes the
// app with it (the file is written only when the owner saves: DESIGN §8,
// the person who shares owns the files), and tells everyone the compile
// problems with who last changed each line — in the host's presence
// (awareness field `loomHost`), so every guest sees it, view guests too.
// A change made through the engine protocol instead (editCell from a page
// or a tool that does not speak Yjs) is taken into the document, so the next
// hand-over keeps it rather than writing over it. Junk a guest puts into the
// document (cellSchema.ts) is taken out again and reported; it never
// reaches the engine, and nothing a guest sends can make a hand-over throw.
import { basename } from 'node:path'
import * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import { ProtocolError, type EngineClient } from '../protocol/client.ts'
import type { HostPresence, NotebookView, LoomError, SharedProblem } from '../protocol/messages.ts'
import { loomError } from '../protocol/loomError.ts'
import { cellsOf, followText, notebookText } from './notebookDoc.ts'
import { junkBlocks } from './cellSchema.ts'
import { LineAuthors } from './LineAuthors.ts'
import { frontMatterOf } from '../runtime/notebook.ts'
import { FRONT_MATTER_IS_THE_OWNERS } from '../host/HostNotebook.ts'

export type { HostPresence, SharedProblem }

export interface ShareHostOptions {
  /** Quiet time before saving (default 300 ms). */
  debounceMs?: number
  nameOf: (origin: unknown, tr: Y.Transaction) => string
  say?: (line: string) => void
  /** The notebook's text as the engine has it (default: the document's): its front matter is the one the document keeps. */
  engineText?: string
  /** Tells whoever made a change (a transaction's origin: their sync connection) that part of it was not taken. */
  tell?: (origin: unknown, message: string) => void
}

/** The origin of the host's own repairs of the document. */
const REPAIR = 'loom host: shape check'

export class ShareHost {
  readonly authors: LineAuthors
  private timer: NodeJS.Timeout | null = null
  private saving: Promise<void> = Promise.resolve()
  private lastText: string
  /** The text a hand-over has sent to the engine and not yet heard back about: its own notice is no news. */
  private inFlight: string | null = null
  private readonly offNotebook: () => void
  private closed = false
  private readonly onUpdate = () => this.schedule()
  private readonly onTransaction = (tr: Y.Transaction) => {
    // What came from outside this process (a page, a guest, a --sync server) may have touched the front matter.
    if (!tr.local) queueMicrotask(() => this.keepFrontMatter(tr))
    // Only the array of blocks or a block's own fields can hold junk; typing changes neither.
    const cells = cellsOf(this.doc)
    if (tr.origin === REPAIR || ![...tr.changed.keys()].some((t) => t === cells || t.parent === cells)) return
    queueMicrotask(() => this.removeJunk(tr))
  }
  /**
   * The front matter as the engine has it — the settings and the effects the
   * owner's file grants. No page edits it in a shared session; one that does
   * (a guest's client of their own) has it put back, and the engine refuses a
   * hand-over that changes it anyway (`asGuest`).
   */
  private front: string | null
  presence: HostPresence = { problems: [], appliedAt: null }

  constructor(private readonly doc: Y.Doc, private readonly awareness: Awareness, private readonly engine: EngineClient, private readonly options: ShareHostOptions) {
    this.authors = new LineAuthors(doc, options.nameOf)
    this.lastText = notebookText(doc)
    // A --sync room may hold an older document: the front matter is still the engine's.
    this.front = frontMatterOf(options.engineText ?? this.lastText)?.text ?? null
    doc.on('update', this.onUpdate)
    doc.on('afterTransaction', this.onTransaction)
    this.offNotebook = engine.on('notebook', ({ notebook }) => this.engineChanged(notebook))
    this.publish()
  }

  private engineChanged(nb: NotebookView): void {
    const text = nb.text
    if (this.closed || nb.parseError || text === this.lastText || text === this.inFlight || text === notebookText(this.doc)) return
    try {
      followText(this.doc, text, nb.path, 'engine')
      this.front = frontMatterOf(text)?.text ?? null
    } catch (err) {
      this.options.say?.(`a change to the notebook made through the engine could not be taken into the shared document: ${(err as Error).message}`)
    }
  }

  /** Takes blocks that do not have the document's shape out of it, and says so to the owner and to whoever put them there. */
  private removeJunk(tr: Y.Transaction): void {
    if (this.closed) return
    const junk = junkBlocks(cellsOf(this.doc) as Y.Array<unknown>)
    if (!junk.length) return
    this.doc.transact(() => {
      for (const { index } of [...junk].reverse()) cellsOf(this.doc).delete(index, 1)
    }, REPAIR)
    const what = junk.map((j) => `block ${j.index + 1} ${j.problem}`).join('; ')
    const who = this.options.nameOf(tr.origin, tr)
    this.options.say?.(`removed from the shared notebook what ${who} put there that is not a block of it: ${what}`)
    this.options.tell?.(tr.origin, `the shared notebook took out what is not a block of it: ${what}`)
  }

  /** Puts back the engine's front matter where a change from outside replaced, removed or added one, and says so to whoever made it. */
  private keepFrontMatter(tr: Y.Transaction): void {
    if (this.closed) return
    const text = notebookText(this.doc)
    const found = frontMatterOf(text)
    if (!found?.unclosed && (found?.text ?? null) === this.front) return
    // Without one of its own, the notebook's text must not begin one: a blank line first makes it a rule in the prose.
    const fixed = this.front === null ? '\n' + text : found && !found.unclosed ? this.front + text.slice(found.text.length) : this.front + '\n' + text
    try {
      followText(this.doc, fixed, '<shared>', REPAIR)
    } catch {
      // The rest does not parse yet (a fence left open): the engine refuses the hand-over (asGuest) until it does, then this runs again.
      return
    }
    this.options.say?.(`put back the front matter that ${this.options.nameOf(tr.origin, tr)} changed in the shared notebook`)
    this.options.tell?.(tr.origin, FRONT_MATTER_IS_THE_OWNERS)
  }

  private schedule(): void {
    if (this.closed) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      void this.flush()
    }, this.options.debounceMs ?? 300)
  }

  /** Hands the document to the engine now (after any hand-over under way); resolves when the running code and the problems are up to date. */
  flush(): Promise<void> {
    // A hand-over that fails for a reason nobody foresaw is said where loom runs; it must not end the process.
    this.saving = this.saving.then(() => this.apply()).catch((err: Error) => this.options.say?.(`the shared notebook could not be applied: ${err?.stack ?? String(err)}`))
    return this.saving
  }

  /** The document's text becomes the engine's notebook and live-codes the app (liveCode.ts), as a cell edit does; the file waits for Save. */
  private async apply(): Promise<void> {
    const text = notebookText(this.doc)
    if (text === this.lastText || this.closed) return
    let problems: LoomError[]
    try {
      this.inFlight = text
      // Everything in the document came from pages: as a guest's edit, it cannot change the front matter.
      const result = await this.engine.call('editNotebook', { text, asGuest: true })
      // A text that does not parse (an unclosed fence…) is not taken: the engine keeps its last good text.
      if (!result.ok && result.problems.some((p) => p.code === 'parse')) this.options.say?.(`the shared notebook does not parse: ${result.problems[0]!.message}`)
      else this.lastText = text
      problems = result.ok ? [] : result.problems
      this.presence.appliedAt = Date.now()
    } catch (err) {
      problems = [err instanceof ProtocolError ? err.error : loomError('internal', (err as Error).message)]
      this.options.say?.(`the shared notebook could not be applied: ${(err as Error).message}`)
    } finally {
      this.inFlight = null
    }
    // Every guest sees the presence: the notebook by its file name, never the host's folders.
    this.presence.problems = problems.map((p) => ({
      ...p,
      ...(p.where?.file ? { where: { ...p.where, file: basename(p.where.file) } } : {}),
      author: p.where?.cell && p.where.line ? this.authors.authorOf(p.where.cell, p.where.line) : null,
    }))
    this.publish()
  }

  private publish(): void {
    this.awareness.setLocalState({ ...(this.awareness.getLocalState() ?? {}), name: 'host', loomHost: this.presence })
  }

  /** The document's text as the engine last took it. */
  get appliedText(): string {
    return this.lastText
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.flush()
    this.closed = true
    this.doc.off('update', this.onUpdate)
    this.doc.off('afterTransaction', this.onTransaction)
    this.offNotebook()
    this.authors.close()
  }
}
