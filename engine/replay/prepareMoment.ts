// Exploring from a moment of a log needs only a little of the log, read once
// as plain data, so a confined process with no log to read can explore too (DESIGN §9).
import { LoadError } from '../runtime/executor.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import type { EventRecord } from '../runtime/event.ts'
import { seekStore, type Moment } from './seek.ts'
import type { HistoryLog } from './historyLog.ts'
import { recordedAfter, type RecordedEffect, type RecordedInput } from './recordedInputs.ts'

/** What exploring from a moment of a log needs of the log, read once (plain data: it crosses to a confined process). */
export interface PreparedMoment extends Moment {
  /** The event at the moment, and the last code event up to it. */
  last: EventRecord | null
  code: EventRecord | null
  /** Whether `start` committed by then. */
  started: boolean
  state: StoreSnapshot
  /** The clock at the moment: its event's time, or at event 0 the first event's. */
  time: number
  /** The inputs the branch recorded after the moment, which exploration delivers; what it leaves out, in words. */
  inputs: RecordedInput[]
  /** The responses effect events recorded after the moment: exploration offers them as answers besides the faults. */
  effects?: RecordedEffect[]
  left: string[]
}

/** Reads what Model.create needs of a moment of `log`. Throws LoadError for a moment the log does not have. */
export function prepareMoment(log: HistoryLog, from: Moment): PreparedMoment {
  const info = log.branchInfo(from.branch)
  if (!info) throw new LoadError(`${log.path}: there is no branch '${from.branch}'`)
  // Event 0 is the branch's start, before its first event: the notebook's code from a fresh state, with every input the branch recorded.
  if (!Number.isSafeInteger(from.seq) || from.seq < 0 || from.seq > info.head) {
    throw new LoadError(`${log.path}: branch '${from.branch}' has events 0..${info.head}; there is no event ${from.seq} to explore from`)
  }
  const last = from.seq === 0 ? null : log.event(from.branch, from.seq)
  const codeSeq = from.seq === 0 ? null : log.lastOfKind(from.branch, 'code', from.seq)
  const code = codeSeq === null ? null : log.event(from.branch, codeSeq)
  const started = from.seq > 0 && log.lastOfKind(from.branch, 'start', from.seq) !== null
  const { inputs, effects, left } = recordedAfter(log, from.branch, from.seq, info.head)
  const time = last?.time ?? (info.head ? log.event(from.branch, 1)?.time : undefined) ?? 0
  return { branch: from.branch, seq: from.seq, last, code, started, state: seekStore(log, from).serialize(), time, inputs, effects, left }
}
