// The host side of the sandbox's API: what `state.*`, `sys.*` and `agent.*`
// do when cell code calls them, always against the running transaction.
import { OP, SYS, type HostApi, type Sandbox } from '../sandbox.ts'
import { VarCell, MapCell, SetCell, QueueCell, BagCell, CounterCell, type Cell, type Store } from '../store.ts'
import type { Transaction, Failure } from '../transaction.ts'
import type { StableRandom } from '../random.ts'
import { canonicalJson, plainValue, ValueError, type Json } from '../values.ts'
import type { SourceLocation, StateKind } from '../event.ts'
import type { TxContext } from './txContext.ts'
import { callerInCell, describeValue, type AppsByFile } from './describeError.ts'
import type { Grants } from '../effects/grants.ts'
import { EFFECTS_STATE, fsRead, httpGet, type Asked, type EffectResponse } from '../effects/request.ts'
import { finishedOutcome, fsWrite, httpSend, pendingAction, type Made } from '../effects/action.ts'

/** What the host API needs of the executor that owns it. */
export interface HostSide {
  readonly sandbox: Sandbox
  readonly store: Store
  readonly config: { env: Record<string, string>; args: string[]; locateWaits?: boolean; effects?: Grants; performsEffects?: boolean }
  readonly random: StableRandom
  readonly ctx: TxContext
  readonly apps: AppsByFile
  /** The last event's seq: an action's id is the seq its transaction commits as, and its number in it. */
  readonly head: number
  /** A copy of host data in the sandbox's realm. */
  inRealm(value: unknown): Json
  /** `state.kind(name, initial)` at a cell's top level: the cell's id. */
  declare(kind: StateKind, name: unknown, initial: unknown): number
  /** `test(name, property)` at a cell's top level. */
  addTest(name: unknown, property: unknown, kind?: unknown, extra?: unknown): void
}

/** The least time (ms) a recorded response counts as fresh, whatever `maxAge` says. */
export const MIN_AGE = 1000

export class CellHost {
  constructor(private readonly exec: HostSide) {}

  /** Where in the notebook the cell code that called into the host is. */
  here(): SourceLocation | null {
    return callerInCell(this.exec.apps)
  }

  fail(tx: Transaction | null, failure: Failure): never {
    if (tx && !tx.failure) tx.failure = failure
    // An abort only unwinds the transaction; its place is already in `failure`, so it skips capturing a stack.
    throw failure.aborted ? this.exec.sandbox.signal(failure.reason) : this.exec.sandbox.error(failure.reason)
  }

  tx(what: string): Transaction {
    const tx = this.exec.ctx.cur
    if (tx) return tx
    throw this.exec.sandbox.error(`${what} can only be used inside a transaction (a method such as step, or a test), not at the top of a cell`)
  }

  write(tx: Transaction, cell: Cell, value: unknown): Json {
    if (tx.readOnly) this.fail(tx, { reason: `a test cannot change state (it wrote '${cell.name}')`, aborted: false, location: this.here() })
    try {
      return plainValue(value)
    } catch (err) {
      if (!(err instanceof ValueError)) throw err
      return this.fail(tx, { reason: `state '${cell.name}': ${err.path ? err.message : err.problem}`, aborted: false, location: this.here() })
    }
  }

  key(tx: Transaction, cell: Cell, key: unknown): string {
    if (typeof key === 'string') return key
    return this.fail(tx, { reason: `map '${cell.name}': keys are strings, got ${describeValue(key)}`, aborted: false, location: this.here() })
  }

  /** A value asked about (`set.has(x)`): plain data, as a write's would be, or the transaction fails there. */
  element(tx: Transaction, cell: Cell, value: unknown): Json {
    try {
      return plainValue(value)
    } catch (err) {
      if (!(err instanceof ValueError)) throw err
      return this.fail(tx, { reason: `set '${cell.name}': ${err.path ? err.message : err.problem}`, aborted: false, location: this.here() })
    }
  }

  /** An abort the API makes on the cell's behalf (an empty queue): a wait, like sys.abort. */
  private wait(tx: Transaction, reason: string): never {
    return this.fail(tx, { reason, aborted: true, location: this.exec.config.locateWaits === false ? null : this.here() })
  }

  api(): HostApi {
    // Pushed: with the realm's prototypes frozen, Array.from or filling by index from here takes a slow path (~1 µs for 20 items).
    // Made at its size: pushed to, it would be grown (and copied) again and again.
    const arr = <T>(items: T[]): T[] => {
      const out = new this.exec.sandbox.realm.Array(items.length) as T[]
      for (let i = 0; i < items.length; i++) out[i] = items[i]!
      return out
    }
    return {
      declare: (kind, name, initial) => this.exec.declare(kind as StateKind, name, initial),
      test: (name, property, kind, extra) => this.exec.addTest(name, property, kind, extra),
      call: (op, id, a, b) => {
        const tx = this.tx('state')
        const cell = this.exec.store.cells[id]!
        switch (op) {
          case OP.varGet: return (cell as VarCell).get(tx)
          case OP.varSet: return (cell as VarCell).set(tx, this.write(tx, cell, a))
          case OP.mapGet: return (cell as MapCell).get(tx, this.key(tx, cell, a))
          case OP.mapHas: return (cell as MapCell).has(tx, this.key(tx, cell, a))
          case OP.mapSet: return (cell as MapCell).set(tx, this.key(tx, cell, a), this.write(tx, cell, b))
          case OP.mapDelete:
            if (tx.readOnly) this.write(tx, cell, null)
            return (cell as MapCell).delete(tx, this.key(tx, cell, a))
          case OP.mapKeys: return arr((cell as MapCell).view(tx).map((e) => e[0]))
          case OP.mapValues: return arr((cell as MapCell).view(tx).map((e) => e[1]))
          case OP.mapEntries: return arr((cell as MapCell).view(tx).map((e) => arr(e)))
          case OP.mapSize: return (cell as MapCell).view(tx).length
          case OP.setHas: return (cell as SetCell).contains(tx, this.element(tx, cell, a))
          case OP.setAdd: return (cell as SetCell).add(tx, this.write(tx, cell, a))
          case OP.setDelete: return (cell as SetCell).remove(tx, tx.readOnly ? this.write(tx, cell, a) : this.element(tx, cell, a))
          case OP.setValues: return arr((cell as SetCell).elements(tx))
          case OP.setSize: return (cell as SetCell).elements(tx).length
          case OP.queuePush: return (cell as QueueCell).push(tx, this.write(tx, cell, a))
          case OP.queueTake: return this.take(tx, cell as QueueCell)
          case OP.queuePeek: return (cell as QueueCell).peek(tx)
          case OP.queueSize: return (cell as QueueCell).size(tx)
          case OP.queueItems: return arr((cell as QueueCell).items(tx))
          case OP.bagPut: return (cell as BagCell).put(tx, this.write(tx, cell, a))
          case OP.bagTake: return this.take(tx, cell as BagCell)
          case OP.bagSize: return (cell as BagCell).size(tx)
          case OP.bagItems: return arr((cell as BagCell).items(tx))
          case OP.counterAdd:
            if (typeof a !== 'number' || !Number.isFinite(a)) this.fail(tx, { reason: `counter '${cell.name}': add(n) takes a finite number, got ${describeValue(a)}`, aborted: false, location: this.here() })
            if (tx.readOnly) this.write(tx, cell, null)
            return (cell as CounterCell).add(tx, a as number)
          case OP.counterGet: return (cell as CounterCell).get(tx)
        }
        throw this.exec.sandbox.error(`unknown state operation ${op}`)
      },
      sys: (op, a, b) => this.sys(op, a, b),
    }
  }

  /** queue.take() / bag.take(): an empty one is a wait; a test may not take. */
  private take(tx: Transaction, cell: QueueCell | BagCell): unknown {
    if (tx.readOnly) this.write(tx, cell, null)
    const v = cell.take(tx)
    return v === undefined ? this.wait(tx, `${cell.kind} '${cell.name}' is empty`) : v
  }

  private sys(op: number, a: unknown, b: unknown): unknown {
    // Configuration may be read while declaring state; everything else is a transaction's.
    if (op === SYS.envGet) {
      if (typeof a !== 'string') throw this.exec.sandbox.error('sys.env.get(key): key is a string')
      return Object.hasOwn(this.exec.config.env, a) ? this.exec.config.env[a] : undefined
    }
    if (op === SYS.args) return Object.freeze(this.exec.sandbox.realm.Array.from(this.exec.config.args))
    const tx = this.tx('sys')
    switch (op) {
      case SYS.fork: {
        if (!Number.isSafeInteger(a) || (a as number) < 1) this.fail(tx, { reason: `sys.fork(n): n is a whole number ≥ 1, got ${describeValue(a)}`, aborted: false, location: this.here() })
        return a === 1 ? 0 : tx.choose(a as number)
      }
      case SYS.random: {
        if (typeof a !== 'number' && typeof a !== 'string') this.fail(tx, { reason: `sys.random(index, n): index is a number or string, got ${describeValue(a)}`, aborted: false, location: this.here() })
        if (!Number.isSafeInteger(b) || (b as number) < 1 || (b as number) > 2 ** 48) this.fail(tx, { reason: `sys.random(index, n): n is a whole number from 1 to 2^48, got ${describeValue(b)}`, aborted: false, location: this.here() })
        return this.exec.random.pick(a as number | string, b as number)
      }
      case SYS.now:
        return tx.time
      case SYS.await: {
        if (typeof a !== 'number' || !Number.isFinite(a)) this.fail(tx, { reason: `sys.time.await(t): t is a time in ms since the epoch, got ${describeValue(a)}`, aborted: false, location: this.here() })
        if (tx.time >= (a as number)) return undefined
        tx.wakeAt = a as number
        return this.wait(tx, `waiting until ${new Date(a as number).toISOString()}`)
      }
      case SYS.ttyWrite:
        if (tx.readOnly) this.write(tx, { name: 'tty' } as Cell, null)
        tx.tty += String(a)
        return undefined
      case SYS.ttyRead: {
        if (!Number.isSafeInteger(a) || (a as number) < 1) this.fail(tx, { reason: `sys.tty.read(n): n is a whole number ≥ 1, got ${describeValue(a)}`, aborted: false, location: this.here() })
        const n = a as number
        const start = tx.ttyRead.length
        if (tx.ttyIn.length - start < n) {
          tx.waitsForInput = true
          return this.wait(tx, `waiting for ${n} character${n === 1 ? '' : 's'} of input`)
        }
        const text = tx.ttyIn.slice(start, start + n)
        tx.ttyRead += text
        return text
      }
      case SYS.abort: {
        const reason = a === undefined ? 'aborted' : typeof a === 'string' ? a : describeValue(a)
        return this.wait(tx, reason)
      }
      case SYS.halt:
        tx.halt = true
        return undefined
      case SYS.ask:
      case SYS.choose:
      case SYS.show:
        return this.agentCall(tx, op, a, b)
      case SYS.httpGet: {
        const o = (b ?? {}) as { headers?: unknown; maxAge?: unknown; timeoutMs?: unknown }
        if (o.maxAge !== undefined && (typeof o.maxAge !== 'number' || !(o.maxAge >= 0))) this.fail(tx, { reason: `sys.http.get(url, { maxAge }): maxAge is a number of ms ≥ 0, got ${describeValue(o.maxAge)}`, aborted: false, location: this.here() })
        let headers: Json | undefined
        try {
          headers = o.headers === undefined ? undefined : plainValue(o.headers)
        } catch (err) {
          if (!(err instanceof ValueError)) throw err
          this.fail(tx, { reason: `sys.http.get(url, { headers }): ${err.message}`, aborted: false, location: this.here() })
        }
        const read = o.timeoutMs === undefined ? this.asked('h', a, headers, () => httpGet(this.exec.config.effects, a, headers)) : httpGet(this.exec.config.effects, a, headers, o.timeoutMs)
        return this.safeRead(tx, read, o.maxAge as number | undefined)
      }
      case SYS.fsRead:
        return this.safeRead(tx, this.asked('f', a, b, () => fsRead(this.exec.config.effects, a, b)), undefined)
      case SYS.httpSend: {
        const request = this.plain(tx, 'sys.http.send(request)', a)
        return this.act(tx, httpSend(this.exec.config.effects, request, b))
      }
      case SYS.fsWrite: {
        const o = b as { path: unknown; data: unknown; options: unknown }
        const data = this.plain(tx, 'sys.fs.write(root, path, data): the data', o.data)
        return this.act(tx, fsWrite(this.exec.config.effects, a, o.path, data, o.options))
      }
      case SYS.effectsResult:
        return this.result(tx, a)
      case SYS.log: {
        if (typeof a !== 'string') this.fail(tx, { reason: `sys.log(channel, message): channel is a string, got ${describeValue(a)}`, aborted: false, location: this.here() })
        let message: Json
        try {
          message = plainValue(b)
        } catch (err) {
          if (!(err instanceof ValueError)) throw err
          return this.fail(tx, { reason: `sys.log: the message: ${err.message}`, aborted: false, location: this.here() })
        }
        ;(tx.logs ??= []).push({ channel: a as string, message })
        return undefined
      }
    }
    throw this.exec.sandbox.error(`unknown sys operation ${op}`)
  }

  /**
   * The checked request for these arguments, remembered: a read reused from the
   * log is asked again and again, and parsing the URL and hashing cost more than the
   * transaction (measured: a step with one reused read ran at a third of the rate).
   */
  private asked(kind: string, a: unknown, b: unknown, check: () => Asked): Asked {
    if (typeof a !== 'string' || (b !== undefined && typeof b !== 'string' && (b === null || typeof b !== 'object'))) return check()
    if (this.grants !== this.exec.config.effects) {
      this.grants = this.exec.config.effects
      this.askedBefore.clear()
    }
    const key = `${kind}\0${a}\0${typeof b === 'string' ? b : JSON.stringify(b) ?? ''}`
    let asked = this.askedBefore.get(key)
    if (!asked) {
      asked = check()
      if (this.askedBefore.size >= 1024) this.askedBefore.clear()
      this.askedBefore.set(key, asked)
    }
    return asked
  }

  private grants: Grants | undefined
  private readonly askedBefore = new Map<string, Asked>()

  /**
   * A safe read: the response an effect event recorded for the same request
   * (younger than maxAge, measured in event time, so replay reads the same),
   * or a wait while the runner performs it. Reading the recorded response is a
   * read of state, so the wait ends when the effect event commits.
   */
  private safeRead(tx: Transaction, asked: Asked, maxAge: number | undefined): unknown {
    if ('denied' in asked) return this.fail(tx, { reason: asked.denied, aborted: false, location: this.here() })
    const cell = this.exec.store.get(EFFECTS_STATE) as MapCell | undefined
    // The state exists wherever the notebook grants effects (the executor makes it with the code).
    const found = cell?.get(tx, asked.hash) as { response?: unknown; at?: unknown } | undefined
    // A value not made by an effect event (a hand edit, a crafted log) is no response: the read is made again.
    const recorded = found && typeof found === 'object' && typeof found.at === 'number' && found.response !== null && typeof found.response === 'object' && !Array.isArray(found.response)
      ? (found as { response: EffectResponse; at: number }) : undefined
    // A maxAge shorter than a read takes to come back would read again for ever: a response is fresh for at least MIN_AGE.
    if (recorded && (maxAge === undefined || tx.time - recorded.at <= Math.max(maxAge, MIN_AGE))) {
      const r = recorded.response
      if ('error' in r) throw this.exec.sandbox.error(`${asked.what}: ${String(r.error)}`)
      return 'text' in r ? r.text : r
    }
    if (tx.readOnly) this.fail(tx, { reason: `${asked.what}: a test reads only responses already recorded`, aborted: false, location: this.here() })
    // A wait either way: the world may answer (live), or nothing here performs it (replay, exploration, a runner without a performer).
    tx.wantsEffect = { request: asked.request, hash: asked.hash }
    return this.wait(tx, `waiting for ${asked.what}${this.exec.config.performsEffects ? '' : ': no response is recorded and this runner performs no effects'}`)
  }

  /** `v` checked as plain data (no functions, cycles, NaN…), or the transaction fails saying where. */
  private plain(tx: Transaction, what: string, v: unknown): Json {
    try {
      return plainValue(v)
    } catch (err) {
      if (!(err instanceof ValueError)) throw err
      return this.fail(tx, { reason: `${what}: ${err.message}`, aborted: false, location: this.here() })
    }
  }

  /**
   * An action (sys.http.send, sys.fs.write): a write to `sys.effects` under its id, so it is
   * an output of the transaction (none if it aborts) that the runner performs once the event is
   * durable. The id is `<seq>.<n>`: the event's seq and its place among the event's actions, so
   * re-executing the event makes the same id.
   */
  private act(tx: Transaction, made: Made): string {
    if ('denied' in made) return this.fail(tx, { reason: made.denied, aborted: false, location: this.here() })
    if (tx.readOnly) this.fail(tx, { reason: `${made.what}: a test cannot act`, aborted: false, location: this.here() })
    const cell = this.exec.store.get(EFFECTS_STATE) as MapCell | undefined
    if (!cell) return this.fail(tx, { reason: `${made.what}: the notebook grants no effects; add \`effects:\` to the front matter`, aborted: false, location: this.here() })
    // Live, the seq is new and so is the id; a model under exploration keeps one head for every world, so an id
    // its history has used already is passed over (a read of state: the same id whenever the event is re-run).
    let id = `${this.exec.head + 1}.${tx.actions++}`
    while (cell.get(tx, id) !== undefined) id = `${this.exec.head + 1}.${tx.actions++}`
    cell.set(tx, id, this.exec.inRealm({ action: made.action }))
    ;(tx.made ??= []).push(id)
    return id
  }

  /**
   * sys.effects.result(id): the outcome of an action, a read of state, so a transaction that
   * waits for it runs again when the outcome event commits.
   */
  private result(tx: Transaction, id: unknown): unknown {
    const what = `sys.effects.result(${typeof id === 'string' ? JSON.stringify(id.slice(0, 40)) : describeValue(id)})`
    if (typeof id !== 'string') return this.fail(tx, { reason: `${what}: the id is a string, as sys.http.send or sys.fs.write returned it`, aborted: false, location: this.here() })
    const effects = this.exec.store.get(EFFECTS_STATE) as MapCell | undefined
    if (!effects) return this.fail(tx, { reason: `${what}: the notebook grants no effects, so no action has an outcome`, aborted: false, location: this.here() })
    const found = effects.get(tx, id)
    const outcome = finishedOutcome(found)
    if (outcome) return outcome
    if (!pendingAction(found)) return this.fail(tx, { reason: `${what}: no action has this id (use the id sys.http.send or sys.fs.write returned)`, aborted: false, location: this.here() })
    if (tx.made?.includes(id)) return this.fail(tx, { reason: `${what}: this transaction made the action; its outcome comes after it commits, so read it in a later transaction (or handle it in effect(result))`, aborted: false, location: this.here() })
    // A test cannot wait: it sees a pending action as having no outcome yet.
    if (tx.readOnly) return null
    tx.waitsForAction = true
    return this.wait(tx, `waiting for the outcome of action ${id}`)
  }

  /** agent.ask / agent.choose / agent.show inside gui(agent). */
  private agentCall(tx: Transaction, op: number, a: unknown, b: unknown): unknown {
    const what = op === SYS.ask ? 'agent.ask(key, default)' : op === SYS.choose ? 'agent.choose(key, options)' : 'agent.show(view)'
    if (tx.kind !== 'gui' || !tx.answers) this.fail(tx, { reason: `${what} is for gui(agent) only`, aborted: false, location: this.here() })
    const plain = (v: unknown, part: string): Json => {
      try {
        return plainValue(v)
      } catch (err) {
        if (!(err instanceof ValueError)) throw err
        return this.fail(tx, { reason: `${what}: ${part}: ${err.message}`, aborted: false, location: this.here() })
      }
    }
    if (op === SYS.show) {
      tx.shown.push(plain(a, 'the view'))
      return undefined
    }
    if (typeof a !== 'string' || !a) this.fail(tx, { reason: `${what}: the key is a non-empty string, got ${describeValue(a)}`, aborted: false, location: this.here() })
    const key = a as string
    if (tx.questions.some((q) => q.key === key)) this.fail(tx, { reason: `${what}: the key '${key}' was asked already; give each question its own key`, aborted: false, location: this.here() })
    const given = Object.hasOwn(tx.answers!, key) ? tx.answers![key]! : undefined
    if (op === SYS.ask) {
      const answer = given !== undefined ? given : plain(b === undefined ? null : b, 'the default')
      tx.questions.push({ key, kind: 'ask', answer })
      return answer
    }
    const options = plain(b, 'the options')
    if (!Array.isArray(options) || options.length === 0) this.fail(tx, { reason: `${what}: options is a non-empty array`, aborted: false, location: this.here() })
    const list = options as Json[]
    const picked = given === undefined ? -1 : list.findIndex((o) => canonicalJson(o) === canonicalJson(given))
    const answer = list[picked < 0 ? 0 : picked]!
    tx.questions.push({ key, kind: 'choose', options: list, answer })
    return answer
  }

}
