// Symmetry reduction (TLC's SYMMETRY): values a notebook declares
// interchangeable with test.symmetric — resource managers r1, r2, r3 — may be
// permuted without changing what the app can do, so states equal up to such
// a permutation are one state. A state's key is its orbit's representative:
// the least, cell by cell in canonical text, of its images under every
// permutation. Text order, not numbering, so every thread picks the same one.
import { canonicalJson, type Json } from '../runtime/values.ts'
import type { StateKind } from '../runtime/event.ts'

/** More permutations than this are refused: each new state's key costs one image per permutation. */
export const MAX_PERMUTATIONS = 5040

/** Numbers for canonical texts (worldKeys.ts Texts). */
interface TextNumbers {
  number(text: string): number
  text(n: number): string
}

export class Symmetry {
  /** Every renaming of the declared values (the identity among them). */
  private readonly renamings: Map<string, string>[]
  /** Per cell: its text's number → the numbers of its images, one per renaming. */
  private readonly images: Map<number, number[]>[]

  constructor(groups: readonly (readonly string[])[], private readonly kinds: readonly StateKind[], private readonly texts: TextNumbers) {
    let renamings: Map<string, string>[] = [new Map()]
    for (const values of groups) {
      const next: Map<string, string>[] = []
      for (const order of permutations(values.length)) {
        for (const r of renamings) {
          const m = new Map(r)
          values.forEach((v, i) => m.set(v, values[order[i]!]!))
          next.push(m)
        }
        if (next.length > MAX_PERMUTATIONS) throw new RangeError(`test.symmetric: the values declared symmetric have more than ${MAX_PERMUTATIONS} permutations; declare fewer`)
      }
      renamings = next
    }
    this.renamings = renamings
    this.images = kinds.map(() => new Map())
  }

  get permutations(): number {
    return this.renamings.length
  }

  /** The representative of the orbit of a state whose cells have these text numbers. */
  representative(cells: readonly number[]): number[] {
    const n = cells.length
    const all = cells.map((k, i) => this.imagesOf(i, k))
    let best = 0
    for (let p = 1; p < this.renamings.length; p++) {
      for (let i = 0; i < n; i++) {
        const a = all[i]![p]!
        const b = all[i]![best]!
        if (a === b) continue
        if (this.texts.text(a) < this.texts.text(b)) best = p
        break
      }
    }
    return all.map((images) => images[best]!)
  }

  private imagesOf(cell: number, key: number): number[] {
    const cache = this.images[cell]!
    let images = cache.get(key)
    if (!images) {
      const value = parseCell(this.kinds[cell]!, this.texts.text(key))
      images = this.renamings.map((r) => this.texts.number(normal(this.kinds[cell]!, rename(value, r))))
      cache.set(key, images)
    }
    return images
  }
}

/** A cell's canonical text as a value (a map's text ends its last entry with a comma; a set's is `<a,b,>`, read as the list of its elements). */
function parseCell(kind: StateKind, text: string): Json {
  if (kind === 'set') return JSON.parse('[' + text.slice(1, -1).replace(/,$/, '') + ']') as Json
  return JSON.parse(kind === 'map' ? text.replace(/,}$/, '}') : text) as Json
}

/**
 * The text of an image: a map's keys sorted (a renamed map's keys would
 * otherwise keep the order of the names they replaced: under symmetry, key
 * order is no part of a state), a bag's items in canonical order, as the bag
 * keeps them; everything else as it is.
 */
function normal(kind: StateKind, value: Json): string {
  if (kind === 'bag' && Array.isArray(value)) return '[' + value.map(canonicalJson).sort().join(',') + ']'
  // A set's text as state.set makes it: its elements' texts in order, each with a comma.
  if (kind === 'set' && Array.isArray(value)) return '<' + value.map((v) => canonicalJson(v) + ',').sort().join('') + '>'
  return canonicalJson(value)
}

/** The value with every declared string — as a value or as a key — renamed. */
function rename(value: Json, r: Map<string, string>): Json {
  if (typeof value === 'string') return r.get(value) ?? value
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((v) => rename(v, r))
  const out: Record<string, Json> = {}
  for (const [k, v] of Object.entries(value)) out[r.get(k) ?? k] = rename(v, r)
  return out
}

/** Every order of 0..n-1. */
function permutations(n: number): number[][] {
  if (n === 0) return [[]]
  const out: number[][] = []
  for (const rest of permutations(n - 1)) for (let i = 0; i <= rest.length; i++) out.push([...rest.slice(0, i), n - 1, ...rest.slice(i)])
  return out
}
