// Time travel as the timeline's reducer sees it: selecting, moving, live
// mode, and heads that move under the selection.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { START, travel, type TimeTravel, type TravelAction } from '../renderer/timeline/timeTravel.ts'

const heads: Record<string, number> = { main: 10, try: 6 }
const run = (actions: TravelAction[], from: TimeTravel = START) => actions.reduce((s, a) => travel(s, a, (b) => heads[b]), from)

test('following, new events select the live head; a moment a person chose in the past stops following and stays put', () => {
  let s = run([{ type: 'heads', live: 'main' }])
  assert.deepEqual(s.selected, { branch: 'main', seq: 10, live: true })
  s = run([{ type: 'select', branch: 'main', seq: 4, byUser: true }], s)
  assert.equal(s.follow, false)
  heads.main = 12
  s = run([{ type: 'heads' }], s)
  assert.deepEqual(s.selected, { branch: 'main', seq: 4, live: false }, 'the chosen moment does not move')
  heads.main = 10
})

test('arrows move along the branch within its events; Home goes to its start; End on the live branch is live mode again', () => {
  let s = run([{ type: 'heads', live: 'main' }, { type: 'select', branch: 'try', seq: 5, byUser: true }])
  s = run([{ type: 'move', by: 1 }, { type: 'move', by: 1 }], s)
  assert.equal(s.selected!.seq, 6, 'not past the head')
  s = run([{ type: 'move', by: 'home' }], s)
  assert.equal(s.selected!.seq, 0)
  s = run([{ type: 'move', by: 'end' }], s)
  assert.deepEqual([s.selected, s.follow], [{ branch: 'try', seq: 6, live: false }, false], 'End on another branch: its head, not live mode')
  s = run([{ type: 'select', branch: 'main', seq: 3, byUser: true }, { type: 'move', by: 'end' }], s)
  assert.deepEqual([s.selected, s.follow], [{ branch: 'main', seq: 10, live: true }, true])
})

test('after a promote, live mode follows the new live branch; a branch that is not there selects nothing', () => {
  let s = run([{ type: 'heads', live: 'main' }, { type: 'heads', live: 'try' }])
  assert.deepEqual(s.selected, { branch: 'try', seq: 6, live: true })
  const before = s
  s = run([{ type: 'select', branch: 'gone', seq: 1, byUser: true }], s)
  assert.equal(s, before)
})
