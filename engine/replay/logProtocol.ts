// The messages of the log link (logLink.ts carries them as frames): what a
// confined engine process asks of the log host, what the host answers, and
// what the launcher sends unasked. Both ends import these types.
import type { Timings } from './history/timings.ts'
import type { SideRecords } from './history/sideRecords.ts'
import type { Resume } from '../runtime/engine.ts'
import type { HttpRequest, HttpResponse } from '../runtime/http.ts'

/** What the host says when the engine process opens the log. */
export interface Opened {
  path: string
  branch: string
  head: number
  /** The seq at which the log next wants a snapshot, and the distance between snapshots. */
  snapshotDue: number
  snapshotEvery: number
  resume: Resume | null
  /** What the launcher asks this process to do (the command's options): passed through, not read here. */
  job: unknown
  /** `loom serve`: there is no log yet (the engine asked without `create`). */
  absent?: true
  /** `loom serve`: the branch's history is damaged, so it takes no events (LogDamageError's fields); resume is null. */
  refused?: { message: string; path: string; damage: unknown[] } | null
  /** A log opened beside the first (a side handle, see LinkedLog.openSide): its number on the link. */
  h?: number
}

export interface StoredCodeItem {
  codeHash: string
  path: string
  code: string
  sources: { id: string; line: number; source: string }[]
}

/**
 * A group commit as it crosses: the events in their canonical encoding, as
 * the log stores them (encoded here, as the engine's thread does in one
 * process: the log host only checks and relays them to its writer thread),
 * and what goes with them.
 */
export interface CommitRequest {
  op: 'commit'
  first: number
  count: number
  /** One encoding per line (canonical JSON has no raw newline). The log host takes them as UTF-8 bytes (FrameReader 'bytes'). */
  texts: string | Uint8Array
  cuts: ([number, number][] | null)[]
  // No kinds: each event's is in its text, where the log's writer reads it (checkEvents).
  /** How long each event ran (profile): beside the log, outside the hash. */
  timings?: Timings
  code: string
  snapshots: [seq: number, data: string][]
  attempts: string[]
  /** Failed tests, errors and latencies found (history/sideRecords.ts): beside the log, outside the hash. */
  side?: SideRecords
  storedCode: StoredCodeItem[]
  cells: [key: string, cell: { code: string; map: string }][]
}

export type Request = { id: number; h?: number } & (
  | { op: 'open'; create?: boolean }
  | { op: 'log'; method: string; args: unknown[] }
  | CommitRequest
  | { op: 'events'; from: number; limit: number | null }
  | { op: 'attempts'; limit: number | null }
  | { op: 'cell'; key: string }
  | { op: 'close' }
  | { op: 'answer'; rid: number; response: HttpResponse }
  | { op: 'ready' }
  | { op: 'checked'; rid: number; failure: unknown }
  | { op: 'result'; value: unknown }
  /** A safe read the confined app waits for: the launcher performs it, if the notebook grants it (its answer: the response). */
  | { op: 'effect'; request: unknown }
)

/** `texts`: a commit's answer carries its events' hashes there, raw (CommitValue). */
export type Reply = { id: number; ok: true; value: unknown; texts?: string } | { id: number; ok: false; error: string; damage?: unknown[]; path?: string; format?: true }

/** What the launcher sends unasked: a saved notebook's new text (`loom run --watch`), or a stop (Ctrl-C, SIGTERM). */
export type Push =
  | { push: 'code'; text: string }
  | { push: 'stop' }
  | { push: 'http'; rid: number; request: HttpRequest; deadlineMs?: number }
  /** The client of relayed request `rid` hung up. */
  | { push: 'cancel'; rid: number }
  /** A replay batch: the stored encodings, one per line (travelling raw), and each event's hash. */
  | { push: 'check'; rid: number; texts: string; hashes: string[] }

/**
 * The answer to a commit: the hash before the first event; each event's hash
 * follows in the reply's raw part (`texts`), 64 hex digits each, one after
 * another — the form events keep them in, so the engine takes each as it is.
 */
export type CommitValue = { parent: string }
