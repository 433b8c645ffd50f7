// What the engine process may ask of a log over the link: each history
// method (HistoryLog) it may call, with the kinds of its arguments. The log
// host answers these and nothing else; a request outside them ends the link.
import type { SqliteLog } from './sqliteLog.ts'
import { PAGE } from './linkedLog.ts'
import { damageOf } from './linkRefusal.ts'

/** Longest string argument of a history request (branch names, kinds, code hashes); an import's text goes by its own cap. */
const MAX_ARG = 4096
const MAX_IMPORT = 256 * 1024 * 1024

/** A request that breaks the link's rules (not a refusal of something allowed): the engine process goes. */
export class Forbidden extends Error {}

type Arg = 'str' | 'int' | 'page' | 'count' | 'bool' | 'text' | 'name?'
/**
 * Each argument's kind: a value of another type ends the link (LinkedLog never
 * sends one), while a value of the right type out of range is refused — it may
 * come from what a UI asked (a 200 KB branch name, a seq past the end).
 */
export const ARG_KINDS: Record<Arg, { type: (v: unknown) => boolean; range: (v: any) => boolean }> = {
  str: { type: (v) => typeof v === 'string', range: (v: string) => v.length <= MAX_ARG },
  int: { type: (v) => typeof v === 'number', range: (v: number) => Number.isSafeInteger(v) },
  page: { type: (v) => typeof v === 'number', range: (v: number) => Number.isSafeInteger(v) && v >= 1 && v <= PAGE },
  count: { type: (v) => typeof v === 'number', range: (v: number) => Number.isSafeInteger(v) && v >= 1 && v <= 10_000 },
  bool: { type: (v) => typeof v === 'boolean', range: () => true },
  text: { type: (v) => typeof v === 'string', range: (v: string) => v.length <= MAX_IMPORT },
  'name?': { type: (v) => v === null || typeof v === 'string', range: (v: string | null) => v === null || v.length <= MAX_ARG },
}

/** Whether a value is of an argument kind and in its range. */
export const argOk = Object.fromEntries(Object.entries(ARG_KINDS).map(([k, c]) => [k, (v: unknown) => c.type(v) && c.range(v)])) as Record<Arg, (v: unknown) => boolean>

/**
 * What the engine process may ask of a log handle (HistoryLog, engine/replay/linkedLog.ts),
 * each method with the kinds of its arguments. Nothing else is answered: no SQL, no file,
 * no snapshot it computed itself (a fork's snapshot is computed by the log host, makeBranch).
 */
export const HISTORY_METHODS: Record<string, { args: Arg[]; run: (log: SqliteLog, a: any[]) => unknown; changes?: true }> = {
  live: { args: [], run: (l) => l.live },
  branchInfo: { args: ['str'], run: (l, [n]) => l.branchInfo(n) },
  branches: { args: [], run: (l) => l.branches() },
  eventsOf: { args: ['str', 'int', 'page'], run: (l, [b, f, n]) => l.eventsOf(b, f, n) },
  raw: { args: ['str', 'int', 'page'], run: (l, [b, f, n]) => [...l.raw(b, f, f + n - 1)] },
  // Only what a seek applies crosses the link: a seek's pages are a fraction of the events' size.
  writeSets: { args: ['str', 'int', 'page'], run: (l, [b, f, n]) => Array.from(l.writeSets(b, f, f + n - 1), (e) => ({ seq: e.seq, writes: e.writes })) },
  event: { args: ['str', 'int'], run: (l, [b, s]) => l.event(b, s) },
  hashAt: { args: ['str', 'int'], run: (l, [b, s]) => l.hashAt(b, s) },
  lastOfKind: { args: ['str', 'str', 'int'], run: (l, [b, k, s]) => l.lastOfKind(b, k, s) },
  ownerOf: { args: ['str', 'int'], run: (l, [b, s]) => l.ownerOf(b, s) },
  segments: { args: ['str', 'int', 'int'], run: (l, [b, f, t]) => l.segments(b, f, t) },
  snapshotAt: { args: ['str', 'int'], run: (l, [b, s]) => l.snapshotAt(b, s) },
  markCounts: { args: ['str', 'int', 'int', 'count'], run: (l, [b, f, t, n]) => l.markCounts(b, f, t, n) },
  timings: { args: ['str', 'int', 'int'], run: (l, [b, f, t]) => l.timings(b, f, Math.min(t, f + 999)) },
  profile: { args: ['str'], run: (l, [b]) => l.profile(b) },
  latencyList: { args: ['str', 'int', 'int'], run: (l, [b, f, t]) => l.latencyList(b, f, Math.min(t, f + 9999)) },
  failures: { args: ['str', 'int', 'int', 'count'], run: (l, [b, f, t, n]) => l.failures(b, f, t, n) },
  snapshots: { args: ['str'], run: (l, [b]) => [...l.snapshots(b)] },
  codeBlobs: { args: [], run: (l) => [...l.codeBlobs()] },
  damageOf: { args: ['str'], run: (l, [b]) => l.damageOf(b) },
  refusal: { args: [], run: (l) => damageOf(l.refusal()) },
  getCode: { args: ['str'], run: (l, [h]) => l.getCode(h) },
  // A branch to write (writeBranch): forked at (parent, seq), or a root when parent is null.
  makeBranch: { args: ['str', 'name?', 'int', 'bool'], run: (l, [n, p, s, u]) => l.makeBranch(n, p === null ? null : { branch: p, seq: s }, u), changes: true },
  // Only a branch made on this link (see `made`).
  finishBranch: { args: ['str'], run: (l, [n]) => l.finishBranch(n), changes: true },
  promote: { args: ['str'], run: (l, [n]) => l.promote(n), changes: true },
  // Only a branch made on this link (see `made`).
  deleteBranch: { args: ['str'], run: (l, [n]) => l.deleteBranch(n), changes: true },
  // A person's rename and delete: a label and an archive, nothing erased (history/branchNames.ts).
  renameBranch: { args: ['str', 'str'], run: (l, [n, t]) => l.renameBranch(n, t), changes: true },
  archiveBranch: { args: ['str'], run: (l, [n]) => l.archiveBranch(n), changes: true },
  restoreBranch: { args: ['str'], run: (l, [n]) => l.restoreBranch(n), changes: true },
  importText: { args: ['text', 'name?'], run: (l, [t, n]) => l.importText(t, n ?? undefined), changes: true },
}
