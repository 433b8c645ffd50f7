// Plain data: the only values state may hold. Validation freezes a value in
// place, so what a transaction wrote can never change behind the log's back.
import { types } from 'node:util'
import type { Json } from './json.ts'

export type { Json }

/** Why a value is not plain data, with the path inside it (`.a[2].b`). */
export class ValueError extends Error {
  constructor(readonly path: string, readonly problem: string) {
    super(`${problem}${path ? ` at ${path}` : ''}`)
  }
}

/** A value nested deeper than MAX_DEPTH: a caller that knows what the value was for says so in its own words. */
export class TooDeepError extends ValueError {}

// Values already checked (and frozen) by a store: re-writing them costs nothing.
const checked = new WeakSet<object>()

/**
 * The prototypes a plain object or array may have. Values are made in sandbox
 * contexts as well as on the host, so each realm registers its intrinsics.
 */
// Weak, so that a finished sandbox's realm can be collected.
const objectProtos = new WeakSet<object>([Object.prototype])
const arrayProtos = new WeakSet<object>([Array.prototype])

export function registerRealm(objectProto: object, arrayProto: object): void {
  objectProtos.add(objectProto)
  arrayProtos.add(arrayProto)
}

/**
 * Checks that `value` is plain data and deep-freezes it. Returns the value to
 * store (`-0` becomes `0`, since the log could not tell them apart).
 * Throws ValueError naming the path of the first offending part.
 */
export function plainValue(value: unknown, path = ''): Json {
  switch (typeof value) {
    case 'object':
      if (value === null) return null
      if (!checked.has(value)) checkObject(value, { up: null, key: path }, [])
      return value as Json
    default:
      return primitive(value, { up: null, key: path })
  }
}

/**
 * Where inside a value the checker is, as a chain built only for nested
 * objects; the path text is made only when there is an error to report.
 */
interface At {
  /** null at the root, whose key is the caller's path text. */
  up: At | null
  key: string | number
}

function render(at: At): string {
  const { up, key } = at
  if (!up) return String(key)
  return render(up) + (typeof key === 'number' ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`)
}

function child(up: At, key: string | number): At {
  return { up, key }
}

function primitive(value: unknown, at: At): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      if (!Number.isFinite(value)) throw new ValueError(render(at), `${value} is not plain data (numbers must be finite)`)
      return value === 0 ? 0 : value
    case 'object':
      if (value === null) return null
      break
    case 'undefined':
      throw new ValueError(render(at), 'undefined is not plain data (use null, or leave the key out)')
    case 'function':
      throw new ValueError(render(at), 'a function is not plain data')
  }
  throw new ValueError(render(at), `a ${typeof value} is not plain data`)
}

/**
 * Deeper than this is refused where it is written, naming the state: past it, the recursive steps after the
 * write (encoding, hashing, the log, the window) would end in a bare "Maximum call stack size exceeded".
 */
export const MAX_DEPTH = 1000

function checkObject(value: object, at: At, stack: object[]): void {
  if (stack.length >= MAX_DEPTH) throw new TooDeepError(`${render(at).slice(0, 80)}…`, `a value nested more than ${MAX_DEPTH} levels deep is not plain data (keep state flatter: a list of items rather than items inside items)`)
  if (stack.includes(value)) throw new ValueError(render(at), 'a cycle is not plain data')
  if (types.isProxy(value)) throw new ValueError(render(at), 'a Proxy is not plain data')
  const proto = Object.getPrototypeOf(value)
  const isArray = Array.isArray(value)
  if (isArray ? !arrayProtos.has(proto) : proto !== null && !objectProtos.has(proto)) {
    const name = describeProto(proto)
    throw new ValueError(render(at), `${name} is not plain data (only null, booleans, finite numbers, strings, arrays and plain objects)`)
  }
  // A Map given a plain prototype is still a Map: what it holds is in internal slots.
  const slots = hiddenSlots(value)
  if (slots) throw new ValueError(render(at), `${slots} is not plain data, whatever its prototype (only null, booleans, finite numbers, strings, arrays and plain objects)`)
  if (Object.getOwnPropertySymbols(value).length > 0) throw new ValueError(render(at), 'a symbol key is not plain data')
  stack.push(value)
  if (isArray) {
    const array = value as unknown[]
    // `length` is the one extra own property an array has.
    if (Object.getOwnPropertyNames(value).length !== array.length + 1) throw new ValueError(render(at), 'an array with holes or extra properties is not plain data')
    for (let i = 0; i < array.length; i++) checkEntry(value, i, at, stack)
  } else {
    for (const key of Object.getOwnPropertyNames(value)) checkEntry(value, key, at, stack)
  }
  stack.pop()
  Object.freeze(value)
  checked.add(value)
}

/** Checks one property: a plain data property holding plain data (`-0` is stored as 0). */
function checkEntry(owner: object, key: string | number, at: At, stack: object[]): void {
  const desc = Object.getOwnPropertyDescriptor(owner, key)
  if (!desc || desc.get || desc.set) throw new ValueError(render(child(at, key)), 'a getter or setter is not plain data')
  if (!desc.enumerable) throw new ValueError(render(child(at, key)), 'a hidden (non-enumerable) property is not plain data')
  const item: unknown = desc.value
  if (typeof item === 'object' && item !== null) {
    if (!checked.has(item)) checkObject(item, child(at, key), stack)
  } else if (typeof item !== 'string' && typeof item !== 'boolean') {
    const fixed = primitive(item, child(at, key))
    if (!Object.is(fixed, item)) (owner as Record<string | number, unknown>)[key] = fixed
  }
}

/**
 * What an object keeps in internal slots, which JSON cannot see (a Map whose
 * prototype was set to Object.prototype would be logged as {}); null for an
 * ordinary object or array.
 */
function hiddenSlots(value: object): string | null {
  if (types.isMap(value) || types.isWeakMap(value)) return 'a Map'
  if (types.isSet(value) || types.isWeakSet(value)) return 'a Set'
  if (types.isDate(value)) return 'a Date'
  if (types.isRegExp(value)) return 'a RegExp'
  if (types.isBoxedPrimitive(value)) return 'a boxed primitive'
  if (types.isAnyArrayBuffer(value) || types.isArrayBufferView(value)) return 'binary data'
  if (types.isPromise(value)) return 'a Promise'
  if (types.isNativeError(value)) return 'an Error'
  if (types.isArgumentsObject(value)) return 'an arguments object'
  if (types.isGeneratorObject(value) || types.isMapIterator(value) || types.isSetIterator(value)) return 'an iterator'
  if (types.isModuleNamespaceObject(value) || types.isExternal(value)) return 'a host object'
  return null
}

function describeProto(proto: unknown): string {
  try {
    const ctor = (proto as { constructor?: { name?: unknown } } | null)?.constructor
    const name = typeof ctor?.name === 'string' && ctor.name ? ctor.name : 'an object with a custom prototype'
    return /^[A-Z]/.test(name) ? `a ${name}` : name
  } catch {
    return 'an object with a custom prototype'
  }
}

/** A host copy of plain data made in another realm (the sandbox's), for the protocol, the CLI and messages. */
export function plainCopy<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T)
}

/** Marks a value that came from a trusted source (the log) as already checked. */
export function trustValue<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !checked.has(value)) {
    for (const child of Object.values(value)) trustValue(child)
    Object.freeze(value)
    checked.add(value)
  }
  return value
}

// Objects (deep) whose keys are already in sorted order: JSON.stringify encodes them canonically.
const sortedDeep = new WeakSet<object>()

function isSortedDeep(value: object): boolean {
  if (sortedDeep.has(value)) return true
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object' && item !== null && !isSortedDeep(item)) return false
  } else {
    let prev = ''
    let first = true
    for (const key in value) {
      if (!first && key <= prev) return false
      prev = key
      first = false
      const item = (value as Record<string, unknown>)[key]
      if (typeof item === 'object' && item !== null && !isSortedDeep(item)) return false
    }
  }
  if (Object.isFrozen(value)) sortedDeep.add(value)
  return true
}

/** JSON with object keys sorted: equal values always encode to equal strings. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return value === undefined ? 'null' : JSON.stringify(value)
  if (isSortedDeep(value)) return JSON.stringify(value)
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i])
    return out + ']'
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  let out = '{'
  let first = true
  for (const key of keys) {
    if (record[key] === undefined) continue
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(record[key])
    first = false
  }
  return out + '}'
}

// Values in state are frozen, so a value's canonical text never changes: remembered by identity.
const canonicalTexts = new WeakMap<object, string>()

/** canonicalJson of a value held in state, computed once per object. */
export function canonicalText(value: Json): string {
  if (typeof value !== 'object' || value === null) return canonicalJson(value)
  let text = canonicalTexts.get(value)
  if (text === undefined) canonicalTexts.set(value, (text = canonicalJson(value)))
  return text
}
