// Damage found when a log is opened: each branch's newest group commit checked
// against the hash chain, and every branch's head against the heads record (a
// lost or truncated WAL leaves the log behind what was acknowledged). Nothing
// is cut or rewritten: SQLite commits are atomic, so a bad chunk is damage,
// never a torn write. `loom replay --verify` checks everything else.
import { chainHash } from './history/hashChain.ts'
import { LogDamageError, UnreadableLogError, type Damage, type LogFormatError } from './logErrors.ts'
import { headsPath } from './dbPath.ts'
import type { HeadsRead } from './headsFile.ts'
import type { SqliteLog } from './sqliteLog.ts'

export function damageAtOpen(log: SqliteLog, heads: HeadsRead, headsFile: string): Damage[] {
  const found: Damage[] = []
  for (const b of log.branches()) {
    const chunk = log.newestChunk(b.name)
    if (!chunk) continue
    const d = checkChain(log, b.name, chunk.first, chunk.last)
    if (d) found.push(d)
  }
  if (heads.state === 'unreadable') {
    found.push({ code: 'heads-damaged', branch: null, seq: 0, message: `the record of acknowledged events (${headsFile}) cannot be read: ${heads.why}; acknowledged events cannot be checked against it` })
  }
  if (heads.state !== 'ok') return found
  const byId = log.branchesById()
  for (const s of heads.damaged) {
    const name = byId.get(s.id)?.name
    found.push({ code: 'heads-damaged', branch: name ?? null, seq: 0, message: `the record of acknowledged events (${headsFile}) is damaged for ${name ? `branch '${name}'` : `branch id ${s.id}`}: ${s.why}` })
  }
  for (const h of heads.heads) {
    const b = byId.get(h.id)
    if (!b) {
      found.push({ code: 'missing-events', branch: h.name, seq: 1, to: h.seq, message: `branch '${h.name}': events up to ${h.seq} were acknowledged (record in ${headsFile}) but the branch is missing from the log — the WAL file was lost or truncated` })
      continue
    }
    // A slot left by a deleted branch whose id was given to a new one: not this branch's record.
    if (!sameName(b.name, h.name) || b.created !== h.created) continue
    if (h.seq > b.head) {
      const from = b.head + 1
      found.push({ code: 'missing-events', branch: b.name, seq: from, to: h.seq, message: `branch '${b.name}': ${from === h.seq ? `event ${from} was` : `events ${from}..${h.seq} were`} acknowledged (record in ${headsFile}) but ${from === h.seq ? 'is' : 'are'} missing from the log — the WAL file was lost or truncated` })
      continue
    }
    let stored: string | null
    try {
      stored = h.seq > b.forkSeq ? log.hashAt(b.name, h.seq) : null
    } catch {
      stored = null
    }
    if (stored !== null && stored !== h.hash) {
      found.push({ code: 'ack-mismatch', branch: b.name, seq: h.seq, message: `branch '${b.name}': event ${h.seq} is not the event that was acknowledged (record in ${headsFile}): the log was replaced or rewritten` })
    }
  }
  return found
}

function sameName(name: string, recorded: string): boolean {
  return name === recorded || (recorded.includes('~') && name.startsWith(recorded.slice(0, recorded.indexOf('~'))))
}

/** Checks events first..last of a branch (its own) against the hash chain; the first damage, or null. */
export function checkChain(log: SqliteLog, branch: string, first: number, last: number): Damage | null {
  let parent: string
  try {
    parent = log.hashAt(branch, first - 1)
  } catch (err) {
    return unreadable(branch, first, last, err)
  }
  let seq = first
  try {
    for (const raw of log.raw(branch, first, last)) {
      seq = raw.seq
      if (chainHash(parent, raw.body) !== raw.hash) {
        return { code: 'hash-mismatch', branch, seq: raw.seq, message: `branch '${branch}': event ${raw.seq} does not match its hash: the log was changed after it was written` }
      }
      parent = raw.hash
    }
  } catch (err) {
    return unreadable(branch, seq, last, err)
  }
  return null
}

function unreadable(branch: string, seq: number, last: number, err: unknown): Damage {
  if (err instanceof LogDamageError && err.damage[0]) return err.damage[0]
  return { code: 'unreadable-chunk', branch, seq, to: last, message: `branch '${branch}': events ${seq}..${last} cannot be read: ${(err as Error).message}` }
}

/** The damage that lies in `branch`'s history: its own events (and acknowledged ones missing), and its ancestors' up to where it forked. */
export function damageOn(log: SqliteLog, branch: string, damage: Damage[]): Damage[] {
  if (!damage.length) return []
  const head = log.branchInfo(branch)?.head ?? 0
  const pieces = log.segments(branch, 1, Math.max(head, 1))
  return damage.filter((d) => d.branch === null || d.branch === branch || pieces.some(([owner, , to]) => owner === d.branch && d.seq <= to))
}

/** Why events may not be appended to `branch`, with how to continue; null when its history is sound. */
export function refusal(log: SqliteLog, branch: string, damage: Damage[]): LogDamageError | null {
  const on = damageOn(log, branch, damage)
  if (!on.length) return null
  const first = on[0]!
  if (first.branch === null || first.code === 'heads-damaged') {
    return new LogDamageError(`${log.path}: ${first.message}. Loom will not add events to branch '${branch}' until it can record them: move the record aside (Loom then starts a new one) and run again; loom replay ${log.path} --verify checks the events themselves`, log.path, on)
  }
  const lastGood = Math.max(0, Math.min(...on.map((d) => d.seq - 1)))
  return new LogDamageError(
    `${log.path}: branch '${branch}' is damaged, so Loom will not add events to it: ${on.map((d) => d.message).join('; ')}. ` +
      `To continue from the last sound event: loom fork ${log.path} --from ${branch} --at ${lastGood} --name repaired, then run with --branch repaired ` +
      `(loom replay ${log.path} --branch ${branch} --verify lists what is wrong)`,
    log.path,
    on,
  )
}

/**
 * A log that cannot be read as one, while its heads record names acknowledged
 * events: the history was there and is gone (its WAL lost or truncated early) —
 * damage, named, rather than "not a Loom log".
 */
export function lostHistory(path: string, heads: HeadsRead, err: LogFormatError): LogFormatError {
  const acked = heads.state === 'ok' ? heads.heads.filter((h) => h.seq > 0) : []
  if (!(err instanceof UnreadableLogError) || !acked.length) return err
  const file = headsPath(path)
  // The cause is one of two, and what SQLite said tells them apart: verify names both, with its words.
  const damage: Damage[] = acked.map((h) => ({ code: 'missing-events', branch: h.name, seq: 1, to: h.seq, message: `branch '${h.name}': events 1..${h.seq} were acknowledged (record in ${file}) but cannot be read from the log — the WAL file was lost or truncated, or the file is damaged (${err.message})` }))
  return new LogDamageError(`${damage.map((d) => d.message).join('; ')} (if the log was removed on purpose, remove ${file} as well to start a new one)`, path, damage)
}
