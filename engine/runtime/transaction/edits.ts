// Changes made by hand to state (the projectional editor, an undo): applied
// inside the running `edit` transaction, checked as a cell's writes are.
import { VarCell, MapCell, SetCell, QueueCell, BagCell, CounterCell, type Cell, type Store } from '../store.ts'
import type { Transaction } from '../transaction.ts'
import { canonicalJson, type Json } from '../values.ts'
import type { CellHost } from './hostApi.ts'
import type { StateEdit } from '../../protocol/messages.ts'
import { EFFECTS_STATE } from '../effects/request.ts'
import { ACTION_ID, finishedOutcome, pendingAction } from '../effects/action.ts'

/** One change made by hand to one state (an `edit` event): the protocol's, with any value (refused unless plain data). */
export type Edit = StateEdit<unknown>

/**
 * Applies hand-made changes inside the running (edit) transaction. Values
 * are rebuilt in the sandbox's realm, as if a cell had written them.
 */
function noState(store: Store, name: string): string {
  const names = store.cells.map((c) => c.name)
  return `there is no state '${name}'${names.length ? `; the states are ${names.join(', ')}` : ''}`
}

export function applyEdits(host: CellHost, store: Store, inRealm: (v: unknown, trusted: boolean) => Json, changes: Edit[], expect?: Record<string, unknown>): void {
  const tx = host.tx('edit')
  const copy = (v: unknown) => inRealm(v, false)
  // An undo puts back what an edit changed, and must not overwrite what changed after it.
  for (const [name, value] of Object.entries(expect ?? {})) {
    const cell = store.get(name)
    if (!cell) host.fail(tx, { reason: noState(store, name), aborted: false, location: null })
    if (canonicalJson(cell.value()) !== canonicalJson(value)) host.fail(tx, { reason: `state '${name}' changed since that edit: undoing it would overwrite the change`, aborted: false, location: cell.declaredAt })
  }
  for (const c of changes) {
    const cell = store.get(c.state)
    if (!cell) host.fail(tx, { reason: noState(store, c.state), aborted: false, location: null })
    // At the cell that declares the state: where the editor shows the refusal.
    const wrong = (what: string) => host.fail(tx, { reason: `state '${c.state}' is a ${cell.kind}: ${what}`, aborted: false, location: cell.declaredAt })
    if ('set' in c) {
      if (c.state === EFFECTS_STATE) guardActions(host, tx, cell, c.key, c.set, false)
      if (c.key === undefined) replace(host, tx, cell, copy(c.set), wrong)
      else if (cell instanceof MapCell) cell.set(tx, host.key(tx, cell, c.key), host.write(tx, cell, copy(c.set)))
      else wrong('it has no keys')
    } else if ('remove' in c) {
      if (!(cell instanceof QueueCell || cell instanceof BagCell)) wrong('only a queue or bag item can be removed')
      else if (!Number.isSafeInteger(c.remove) || c.remove < 0 || !cell.removeAt(tx, c.remove)) wrong(`it has no item ${String(c.remove)} (it holds ${cell.items(tx).length})`)
    } else if ('delete' in c) {
      if (c.state === EFFECTS_STATE) guardActions(host, tx, cell, c.key, undefined, true)
      if (cell instanceof MapCell) cell.delete(tx, host.key(tx, cell, c.key))
      else wrong('only a map entry can be deleted')
    } else if ('push' in c) {
      if (cell instanceof QueueCell) cell.push(tx, host.write(tx, cell, copy(c.push)))
      else wrong('only a queue takes push')
    } else if ('put' in c) {
      if (cell instanceof BagCell) cell.put(tx, host.write(tx, cell, copy(c.put)))
      else wrong('only a bag takes put')
    } else if ('add' in c) {
      if (cell instanceof CounterCell && Number.isFinite(c.add)) cell.add(tx, c.add)
      else wrong('only a counter takes add (a finite number)')
    }
  }
}

/**
 * A hand edit cannot make, change or remove an action's entry in sys.effects: actions come from cells, where
 * the grants were checked as they ran (the runner would perform a made one), and a performed one happened in
 * another system, whose outcome a later transaction reads by its id. A read's response stays editable
 * (docs/effects.md). Putting an entry back exactly as it is committed changes nothing.
 */
function guardActions(host: CellHost, tx: Transaction, cell: Cell, key: string | undefined, value: unknown, remove: boolean): void {
  const now = (cell.value() ?? {}) as Record<string, Json>
  const given = key !== undefined ? { [key]: remove ? undefined : value } : value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
  // A whole-state edit leaves out what it does not name: those entries are removed too.
  const keys = key !== undefined ? [key] : [...new Set([...Object.keys(now), ...Object.keys(given)])]
  for (const k of keys) {
    const before = Object.hasOwn(now, k) ? now[k] : undefined
    const after = Object.hasOwn(given, k) ? given[k] : undefined
    if (!isAction(k, before) && !isAction(k, after)) continue
    if (before !== undefined && after !== undefined && canonicalJson(before) === canonicalJson(after as Json)) continue
    const what = before === undefined ? 'make' : after === undefined ? 'remove' : 'change'
    host.fail(tx, { reason: `state '${EFFECTS_STATE}': an edit cannot ${what} an action ('${String(k).slice(0, 40)}'); actions come from cells (sys.http.send, sys.fs.write) and their outcomes from the runner`, aborted: false, location: null })
  }
}

/** An action's entry: under an action's id, or holding an action or its outcome. */
function isAction(key: string, entry: unknown): boolean {
  return entry !== undefined && (ACTION_ID.test(key) || pendingAction(entry) !== null || finishedOutcome(entry) !== null)
}

/** A hand edit of a whole state: it holds `value` instead (checked as a cell's write would be). */
function replace(host: CellHost, tx: Transaction, cell: Cell, value: unknown, wrong: (what: string) => never): void {
  if (cell instanceof VarCell) return cell.set(tx, host.write(tx, cell, value))
  if (cell instanceof CounterCell) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return wrong('its value is a finite number')
    return cell.add(tx, value - cell.get(tx))
  }
  const plain = host.write(tx, cell, value)
  if (cell instanceof SetCell) {
    if (!Array.isArray(plain)) return wrong('its value is a list of elements')
    const keep = new Set(plain.map((v) => canonicalJson(v)))
    for (const v of cell.elements(tx)) if (!keep.has(canonicalJson(v))) cell.remove(tx, v)
    for (const v of plain) cell.add(tx, v)
    return
  }
  if (cell instanceof MapCell) {
    if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) return wrong('its value is an object of entries')
    for (const [key] of cell.view(tx)) if (!Object.hasOwn(plain, key)) cell.delete(tx, key)
    for (const [key, v] of Object.entries(plain)) cell.set(tx, key, v)
    return
  }
  if (!Array.isArray(plain)) return wrong('its value is a list of items')
  if (cell instanceof QueueCell || cell instanceof BagCell) cell.replace(tx, plain)
}
