// The timeline reads every range one way: the engine's `timeline` request,
// in bins counted from the log's marks — one bin per event zoomed in — and an
// event it is told of as it commits becomes the same one-event bin
// (engine/protocol/eventBin.ts). These check that a range reads the same
// whichever way it arrives, for every kind of event, on a root and on a fork.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSession } from '../engine/replay/session.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { forkBranch } from '../engine/replay/branches.ts'
import { timeline } from '../engine/host/timeline.ts'
import { eventBin } from '../engine/protocol/eventBin.ts'
import { withDurations } from '../engine/host/profileRequests.ts'
import type { TimelineBin } from '../engine/protocol/messages.ts'
import { notebook } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-timeline-ranges-'))

const APP = {
  app: [
    "const n = state.var('n', 0)",
    'export function start() { n.set(1) }',
    'export function step() {',
    '  const v = n.get() + 1',
    '  n.set(v)',
    "  if (v % 3 === 0) sys.tty.write(`tick ${v}\\n`)",
    "  if (v % 5 === 0) sys.log('fives', v)",
    '  if (v >= 40) sys.halt()',
    '}',
    'export function http(req: { path: string }) { n.set(n.get() + 100); return { status: 200, body: req.path } }',
  ].join('\n'),
}

/** Sums bins' kinds and outputs over a..b: what the window draws of that range. */
function totals(bins: TimelineBin[]): { kinds: Record<string, number>; outputs: number } {
  const kinds: Record<string, number> = {}
  let outputs = 0
  for (const b of bins) {
    for (const [k, c] of Object.entries(b.kinds)) kinds[k] = (kinds[k] ?? 0) + c
    outputs += b.outputs ?? 0
  }
  return { kinds, outputs }
}

test('the timeline shows the same events whichever way a range arrives: one-event bins from the log equal the events as committed, and coarse bins add up to them, on a root and on a fork', async () => {
  const nb = join(dir, 'app.loom.md')
  writeFileSync(nb, notebook(APP))
  const db = join(dir, 'app.loom.db')
  const s = await openSession(nb, { db })
  const told: TimelineBin[] = []
  s.engine.on('event', (e) => told.push(eventBin(e)))
  await s.engine.run({ steps: 10 })
  await s.engine.request({ method: 'GET', path: '/a', query: {}, headers: {}, body: '' })
  s.engine.edit([{ state: 'n', set: 7 } as never])
  await s.engine.request({ method: 'GET', path: '/b', query: {}, headers: {}, body: '' })
  await s.engine.run({ steps: 100, untilIdle: true })
  s.log.close()

  const log = SqliteLog.open(db)
  const head = log.branchInfo('main')!.head
  // With what the log keeps beside each event (a request's latency), as the window reads a page of events.
  const events = withDurations(log, 'main', log.eventsOf('main', 1, head))
  assert.deepEqual(new Set(events.map((e) => e.kind)), new Set(['code', 'start', 'step', 'http', 'edit', 'halt']), 'every kind of event is in the history')
  assert.ok(events.some((e) => e.outputs.tty) && events.some((e) => e.outputs.logs?.length), 'with tty output and sys.log lines')

  // Zoomed in: one bin per event, read from the log's marks, equals each event as the window is told of it when it commits.
  const fine = timeline(log, 'main', 1, head, head)
  assert.deepEqual(fine, events.map(eventBin))
  assert.deepEqual(fine.filter((b) => b.label).map((b) => b.label!.replace(/ · [\d.]+ m?s$/, ' · T')), ['GET /a → 200 · T', 'GET /b → 200 · T'], "an http event's block says its request, answer and latency")
  assert.deepEqual(told, events.filter((e) => e.seq > 1).map(eventBin), 'the notices carry the same bins (all but the code event, committed at open)')
  // Zoomed out: each coarse bin counts exactly the events of its range.
  for (const count of [1, 3, 7, 16]) {
    for (const bin of timeline(log, 'main', 1, head, count)) assert.deepEqual(bin.kinds, totals(events.filter((e) => e.seq >= bin.from && e.seq <= bin.to).map(eventBin)).kinds, `${count} bins: ${bin.from}..${bin.to}`)
  }

  // A fork: its own events and its ancestors' prefix, read the same way.
  forkBranch(log, 'what-if', 'main', 12)
  log.close()
  const s2 = await openSession(nb, { db, branch: 'what-if' })
  await s2.engine.run({ steps: 5 })
  s2.log.close()
  const again = SqliteLog.open(db)
  const forkHead = again.branchInfo('what-if')!.head
  assert.deepEqual(timeline(again, 'what-if', 1, forkHead, forkHead), withDurations(again, 'what-if', again.eventsOf('what-if', 1, forkHead)).map(eventBin))
  assert.deepEqual(timeline(again, 'what-if', 13, forkHead, forkHead - 12), withDurations(again, 'what-if', again.eventsOf('what-if', 13, forkHead - 12)).map(eventBin))
  again.close()
})
