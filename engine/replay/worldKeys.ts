// How exploration tells worlds apart without comparing text: each cell's
// canonical text gets a number, and a world's list of numbers gets one too.

/**
 * Numbers for tuples of numbers, a pair at a time: (flags, cell 0) → t1,
 * (t1, cell 1) → t2, … so a world's key is one small number and looking it
 * up hashes no text.
 */
export class Tuples {
  private readonly pairs = new Map<number, Map<number, number>>()
  private count = 4 // 0..3 are the flags
  pair(a: number, b: number): number {
    let inner = this.pairs.get(a)
    if (!inner) this.pairs.set(a, (inner = new Map()))
    let n = inner.get(b)
    if (n === undefined) inner.set(b, (n = this.count++))
    return n
  }
}

/** Numbers for canonical texts: worlds compare and hash short lists of numbers, not long texts. */
export class Texts {
  private readonly numbers = new Map<string, number>()
  private readonly hashes: number[] = []
  private readonly texts: string[] = []
  number(text: string): number {
    let n = this.numbers.get(text)
    if (n === undefined) {
      this.numbers.set(text, (n = this.numbers.size))
      this.hashes.push(hashText(text))
      this.texts.push(text)
    }
    return n
  }
  text(n: number): string {
    return this.texts[n]!
  }
  /** The text's hash (FNV-1a): equal texts hash equally in every thread. */
  hash(n: number): number {
    return this.hashes[n]!
  }
}

function hashText(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}
