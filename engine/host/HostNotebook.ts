// The notebook as the engine host has it: its text (what Save writes, byte
// for byte, and what the UI and a shared session's document edit), its cells
// when it parses, and its problems. Every change of text goes through edit(),
// which live-codes the app (runtime/liveCode.ts); only save() writes a file.
import { readFile } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import type { Engine } from '../runtime/engine.ts'
import { decodeNotebook, parseNotebook, NotebookError, type Notebook } from '../runtime/notebook.ts'
import { liveCode } from '../runtime/liveCode.ts'
import { LoomFailure, type LoomError } from '../protocol/loomError.ts'
import type { EditResult, NotebookView, Result, UnsavedCode } from '../protocol/messages.ts'
import { cellViews } from './notebookCells.ts'
import { Refusal } from './problems.ts'
import { writeAtomically } from './saveNotebook.ts'

/** What the notebook needs of the host that runs it. */
export interface NotebookHost {
  /** The running app; null while the notebook's code has never loaded. */
  engine(): Engine | null
  /** Starts the app with `text`; throws a LoomFailure when its code does not load. */
  startEngine(text: string): Promise<void>
  /** The notebook (its text, problems or path) changed: tell every UI. */
  changed(): void
  /** Who writes the file, when not this process (a confined engine process writes no file: its supervisor does, and only that notebook). */
  write?: (text: string) => Promise<void>
}

/** Why a guest's change to the front matter is not taken (by the engine, and by the shared document: ShareHost). */
export const FRONT_MATTER_IS_THE_OWNERS = "the front matter (the notebook's settings and the effects it grants) is the owner's: a guest's edit may not change it; ask the person who shares the session"

export class HostNotebook {
  path: string
  /** The notebook as the UI has it: what Save writes. It may hold a broken edit the engine refused. */
  text = ''
  model: Notebook | null = null
  parseError: LoomError | null = null
  /** The last problems of the running code (or of a refused edit), each at its cell and line. */
  problems: LoomError[] = []
  /** The file's bytes as Loom last read or wrote them: a save will not silently overwrite anything else (another editor's change). */
  private onDisk: Buffer | null = null
  /** Code the app ran before this open that the file lacks (unsavedCode.ts), until it is restored or the notebook saved. */
  unsaved: UnsavedCode | null = null

  constructor(path: string, private readonly host: NotebookHost) {
    this.path = resolve(path)
  }

  /**
   * Reads the file: its text as well as it decodes (never written back while it is not UTF-8), its cells when it parses.
   * `unsaved`: the text the UIs had instead (an engine restarted after a crash), which Save will write.
   */
  async read(unsaved?: string): Promise<void> {
    const bytes = await readFile(this.path)
    this.onDisk = bytes
    this.text = unsaved ?? bytes.toString('utf8')
    try {
      this.model = parseNotebook(unsaved ?? decodeNotebook(bytes, this.path), this.path)
    } catch (err) {
      if (!(err instanceof NotebookError)) throw err
      this.parseError = err.error
    }
  }

  view(): NotebookView {
    return { path: this.path, text: this.text, cells: this.model ? cellViews(this.model) : [], parseError: this.parseError, problems: this.problems, ...(this.unsaved ? { unsaved: this.unsaved } : {}) }
  }

  /** Why the app does not run while its notebook keeps it from starting, as the status says it. */
  whyNotRunning(): string {
    if (this.parseError) return `the notebook does not parse${this.parseError.where?.fileLine ? ` (line ${this.parseError.where.fileLine})` : ''}: ${this.parseError.message}`
    const history = this.historyProblem()
    return history ? `its log cannot be extended: ${history.message}` : `the notebook does not compile: ${this.problems[0]?.message ?? 'see its problems'}`
  }

  /** The refusal of a request that needs the app, while the notebook keeps it from starting. */
  notRunnable(): Refusal {
    if (this.parseError) return new Refusal(`the notebook does not parse: ${this.parseError.message}`, this.parseError.where)
    const history = this.historyProblem()
    if (history) return new Refusal(`its log cannot be extended: ${history.message}`, history.where, 'history')
    const first = this.problems[0]
    return new Refusal(`the notebook does not compile: ${first?.message ?? 'see its problems'}; fix it and the app starts`, first?.where)
  }

  /** Code that compiles, on a log that cannot take its events: then the log, not the notebook, is what to fix. */
  private historyProblem(): LoomError | undefined {
    return this.problems.find((p) => p.code === 'history')
  }

  editable(): Notebook {
    if (!this.model) throw new Refusal(`the notebook does not parse, so its cells cannot be edited here: ${this.parseError?.message ?? ''}; fix it in a text editor and open it again`, this.parseError?.where)
    return this.model
  }

  /**
   * Applies an edit made on the notebook's text (a cell's, or a shared
   * document's whole); a text that does not parse changes nothing. A guest's
   * edit (`asGuest`) may not change the front matter: its settings and the
   * effects it grants are the owner's (DESIGN §3a, §8).
   */
  async edit(make: () => string, asGuest = false): Promise<EditResult> {
    let text: string
    let model: Notebook
    try {
      text = make()
      model = parseNotebook(text, this.path)
    } catch (err) {
      if (err instanceof NotebookError) return { ok: false, problems: err.errors }
      throw err
    }
    if (asGuest && model.frontMatter !== (this.model ? this.model.frontMatter : undefined)) throw new Refusal(FRONT_MATTER_IS_THE_OWNERS)
    return this.adopt(text, model)
  }

  /**
   * Makes `text` the notebook and live-codes the running app with it. The
   * text is kept even when its code is refused (it is what the user typed);
   * the app keeps running the last code that worked.
   */
  private async adopt(text: string, model: Notebook): Promise<EditResult> {
    if (text === this.unsaved?.text) this.unsaved = null
    this.text = text
    this.model = model
    this.parseError = null
    const result = await this.liveCode(text)
    this.problems = result.ok ? [] : result.problems
    this.host.changed()
    return result
  }

  /** Live-codes the running app with `text`; with no app yet (its code was broken), starts it. */
  private async liveCode(text: string): Promise<EditResult> {
    const engine = this.host.engine()
    if (engine) return liveCode(engine, text)
    try {
      await this.host.startEngine(text)
    } catch (err) {
      if (err instanceof LoomFailure) return { ok: false, problems: err.errors }
      throw err
    }
    const started = this.host.engine()!
    return { ok: true, codeHash: started.codeHash, seq: started.head }
  }

  /** Writes the notebook: atomically, so a crash mid-save leaves the old file or the new one, never half. */
  async save(text: string | undefined, path: string | undefined, overwrite = false): Promise<Result<'save'>> {
    if (text === undefined && this.parseError) {
      throw new Refusal(`the notebook does not parse, so Loom will not overwrite it: ${this.parseError.message}; fix it in a text editor`, this.parseError.where)
    }
    const target = path === undefined ? this.path : resolve(path)
    if (target === this.path && !overwrite) await this.refuseIfChangedOnDisk()
    if (text !== undefined && text !== this.text) {
      let model: Notebook
      try {
        model = parseNotebook(text, this.path)
      } catch (err) {
        if (err instanceof NotebookError) throw new Refusal(`not saved: ${err.error.message}`, err.error.where, 'parse')
        throw err
      }
      await this.adopt(text, model)
    }
    if (this.host.write) {
      // Confined (DESIGN §9): the supervisor writes this notebook, and no other file.
      if (target !== this.path) throw new Refusal(`not saved to ${target}: this engine may write only its own notebook (it runs confined); save it here, then copy the file`)
      await this.host.write(this.text)
    } else await writeAtomically(target, this.text)
    this.onDisk = Buffer.from(this.text, 'utf8')
    this.unsaved = null
    if (target !== this.path) {
      this.path = target
      this.host.changed()
    }
    return { path: target, bytes: Buffer.byteLength(this.text) }
  }

  /** Someone else wrote the file since Loom read or saved it: saving now would throw their change away unseen. */
  private async refuseIfChangedOnDisk(): Promise<void> {
    // A file that is gone has nothing to lose: the save writes it again.
    const now = await readFile(this.path).catch(() => null)
    if (!now || !this.onDisk || now.equals(this.onDisk)) return
    throw new Refusal(`${basename(this.path)} changed on disk since Loom read or saved it (another editor?); saving would overwrite that change, so the file is left as it is. Save anyway to replace it with this notebook, or copy what you need from the file first`, { file: this.path }, 'changedOnDisk')
  }
}
