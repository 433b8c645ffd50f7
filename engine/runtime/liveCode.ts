// The one live-coding route (DESIGN §4): a new notebook text, whoever made
// it — a cell edited in the UI, a shared session's document, a file saved
// under `loom run --watch` — is compiled, loaded as a `code` event (its
// switch() first) and announced by the engine; or refused with its errors
// while the old code keeps running. Text that compiles to the running code
// (prose, comments, types) changes nothing and is no error.
import type { Engine } from './engine.ts'
import type { EditResult } from '../protocol/messages.ts'

export async function liveCode(engine: Engine, text: string): Promise<EditResult> {
  const r = await engine.replaceCode(text)
  if (r.ok) return { ok: true, codeHash: r.event.codeHash, seq: r.event.seq }
  if (r.errors.length === 1 && r.errors[0]!.code === 'unchanged') return { ok: true, codeHash: engine.codeHash, seq: null }
  return r.waiting ? { ok: false, problems: r.errors, waiting: true } : { ok: false, problems: r.errors }
}
