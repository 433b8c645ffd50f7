// The counter's logic without Loom: a plain JS loop (the limit), a Redux store,
// and a Redux store recording history with @redux-devtools/instrument.
import { legacy_createStore, type Reducer } from 'redux'
import { instrument } from '@redux-devtools/instrument'

interface Counter {
  count: number
}
type Step = { type: 'step' }

const STEP: Step = { type: 'step' }

const counter: Reducer<Counter, Step, Counter | undefined> = (state = { count: 0 }, action) =>
  action.type === 'step' ? { count: state.count + 1 } : state

function check(kind: string, count: number, n: number): void {
  if (count !== n) throw new Error(`${kind}: expected the count to reach ${n}, it is ${count}`)
}

/** Escapes the loop's result so V8 cannot drop the loop as dead code. */
export let sink = 0

/** `n` increments of a state object's count; returns the milliseconds taken. */
export function plainLoop(n: number): number {
  const state: Counter = { count: 0 }
  const t0 = performance.now()
  for (let i = 0; i < n; i++) state.count = state.count + 1
  const ms = performance.now() - t0
  sink = state.count
  check('plain loop', state.count, n)
  return ms
}

/** `n` dispatches to a fresh Redux store without a recorder; returns the milliseconds taken. */
export function redux(n: number): number {
  const store = legacy_createStore(counter)
  const t0 = performance.now()
  for (let i = 0; i < n; i++) store.dispatch(STEP)
  const ms = performance.now() - t0
  check('redux', store.getState().count, n)
  return ms
}

/**
 * `n` dispatches to a fresh Redux store with the DevTools recorder keeping the
 * last `maxAge` actions, or every action when `maxAge` is undefined (the
 * recorder's own default); returns the milliseconds taken.
 */
export function instrumented(n: number, maxAge: number | undefined): number {
  const enhancer = instrument<Counter, Step>(undefined, maxAge === undefined ? {} : { maxAge })
  const store = legacy_createStore(counter, enhancer)
  const t0 = performance.now()
  for (let i = 0; i < n; i++) store.dispatch(STEP)
  const ms = performance.now() - t0
  check('redux + instrument', (store.getState() as Counter).count, n)
  const kept = store.liftedStore.getState().stagedActionIds.length - 1
  const expected = maxAge === undefined ? n : Math.min(n, maxAge - 1)
  if (kept !== expected) throw new Error(`redux + instrument: expected ${expected} recorded actions, found ${kept}`)
  return ms
}
