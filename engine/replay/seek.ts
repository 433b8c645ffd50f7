// Time travel: the state as it was after any event of any branch — one
// snapshot load plus at most K write sets — and the difference between two
// moments. Reads only the log, so the live branch keeps running meanwhile.
import { Store } from '../runtime/store.ts'
import { canonicalJson, type Json } from '../runtime/values.ts'
import type { StateKind } from '../runtime/event.ts'
import type { HistoryLog } from './historyLog.ts'
import type { Resume } from '../runtime/engine.ts'
import type { StoreSnapshot } from '../runtime/store.ts'

import type { Moment } from '../protocol/messages.ts'

export type { Moment }

/**
 * The store as it was right after event `seq` of `branch`. `load` brings each
 * value into the realm that will use it (the sandbox's, for re-execution).
 */
export function seekStore(log: HistoryLog, at: Moment, load?: (v: Json) => Json, snap = nearestSnapshot(log, at)): Store {
  const store = snap ? Store.from(snap.state, load) : new Store()
  const from = (snap?.seq ?? 0) + 1
  for (const e of log.writeSets(at.branch, from, at.seq)) store.apply(load ? e.writes.map((w) => importWrite(w, load)) : e.writes, e.seq)
  return store
}

/**
 * The nearest-snapshot rule, the one place it is written: the latest sound
 * snapshot at or before `at` on the branch that holds that moment, else on
 * its ancestors at the points they were forked from; null when there is none
 * (a seek then starts from the initial state).
 */
export function nearestSnapshot(log: HistoryLog, at: Moment): { seq: number; state: StoreSnapshot } | null {
  const info = log.branchInfo(at.branch)
  if (!info) throw new Error(`there is no branch '${at.branch}'`)
  if (!Number.isSafeInteger(at.seq) || at.seq < 0 || at.seq > info.head) {
    throw new Error(`branch '${at.branch}' has events 1..${info.head}; there is no event ${at.seq}`)
  }
  let holder = log.ownerOf(at.branch, at.seq)
  let snap = log.snapshotAt(holder, at.seq)
  while (!snap) {
    const b = log.branchInfo(holder)!
    if (b.parent === null) break
    holder = log.ownerOf(b.parent, b.forkSeq)
    snap = log.snapshotAt(holder, b.forkSeq)
  }
  return snap
}

function importWrite<W extends { op: string }>(w: W, load: (v: Json) => Json): W {
  const x = w as unknown as Record<string, Json>
  if ('value' in x && w.op !== 'add') return { ...w, value: load(x.value!) }
  if (w.op === 'queue') return { ...w, push: load(x.push!) }
  if (w.op === 'bag') return { ...w, put: load(x.put!) }
  return w
}

export type State = Record<string, { kind: StateKind; value: Json }>

/** The state as it was right after event `seq` of `branch`, as plain data by name. */
export function seek(log: HistoryLog, at: Moment): State {
  return seekStore(log, at).values()
}

export type Change =
  | { state: string; change: 'added'; kind: StateKind; after: Json }
  | { state: string; change: 'removed'; kind: StateKind; before: Json }
  | { state: string; change: 'changed'; kind: StateKind; before: Json; after: Json; keys?: { key: string; before: Json | null; after: Json | null }[] }

/** What changed between two moments (of the same or different branches): per state, and per key for maps. */
export function diff(log: HistoryLog, a: Moment, b: Moment): Change[] {
  return diffStates(seek(log, a), seek(log, b))
}

export function diffStates(before: State, after: State): Change[] {
  const out: Change[] = []
  // Names and keys are the app's own strings: only what an object holds itself counts ('constructor' or 'toString' is a key like any other).
  const own = <T>(o: Record<string, T>, k: string): T | undefined => (Object.hasOwn(o, k) ? o[k] : undefined)
  for (const [name, x] of Object.entries(before)) {
    const y = own(after, name)
    if (!y) out.push({ state: name, change: 'removed', kind: x.kind, before: x.value })
    else if (canonicalJson(x.value) !== canonicalJson(y.value)) {
      const change: Change = { state: name, change: 'changed', kind: y.kind, before: x.value, after: y.value }
      if (x.kind === 'map' && y.kind === 'map') {
        const bx = x.value as Record<string, Json>
        const by = y.value as Record<string, Json>
        change.keys = [...new Set([...Object.keys(bx), ...Object.keys(by)])]
          .filter((k) => canonicalJson(own(bx, k) ?? null) !== canonicalJson(own(by, k) ?? null) || Object.hasOwn(bx, k) !== Object.hasOwn(by, k))
          .map((key) => ({ key, before: own(bx, key) ?? null, after: own(by, key) ?? null }))
      }
      out.push(change)
    }
  }
  for (const [name, y] of Object.entries(after)) if (!own(before, name)) out.push({ state: name, change: 'added', kind: y.kind, after: y.value })
  return out
}

/** Where the log's branch stands, or undefined for an empty history. */
export function resumeFrom(log: HistoryLog): Resume | undefined {
  // Nothing is added to a damaged branch: the refusal says how to continue from its last sound event.
  const refused = log.refusal()
  if (refused) throw refused
  const head = log.head
  if (head === 0) return undefined
  const last = log.event(log.branch, head)!
  const codeSeq = log.lastOfKind(log.branch, 'code', head)
  const code = codeSeq ? log.event(log.branch, codeSeq) : null
  if (!code) throw new Error(`${log.path}: branch '${log.branch}' has events but no code event`)
  return {
    state: seekStore(log, { branch: log.branch, seq: head }).serialize(),
    last,
    code,
    started: log.lastOfKind(log.branch, 'start', head) !== null,
  }
}
