// The limit for exploration: the philosophers sample's model written by hand
// in plain TypeScript — its step for each choice of philosopher, its two
// tests — searched breadth first with the same bookkeeping Loom keeps (a
// seen set and a parent link per state, so a trace could be rebuilt).
type Phase = 'thinking' | 'hungry' | 'eating'

interface Table {
  forks: (number | null)[]
  phases: Phase[]
  /** In order of first meal, as Loom's map keeps it. */
  meals: Map<string, number>
}

export interface SearchCount {
  states: number
  transitions: number
  depth: number
}

export function philosophersBfs(n: number, maxStates: number, maxDepth = Infinity): SearchCount {
  const left = (p: number) => p
  const right = (p: number) => (p + 1) % n
  const key = (t: Table) => `${t.forks.join()}|${t.phases.join()}|${[...t.meals].map(([k, v]) => `${k}:${v}`).join()}`
  const holds = (t: Table) =>
    t.phases.every((ph, p) => !(ph === 'eating' && t.phases[right(p)] === 'eating')) &&
    t.phases.every((ph, p) => ph !== 'eating' || (t.forks[left(p)] === p && t.forks[right(p)] === p))

  /** The step with philosopher p chosen: the next table, or null when it waits. */
  const step = (t: Table, p: number): Table | null => {
    const phase = t.phases[p]
    const withPhase = (phase: Phase, forks = t.forks, meals = t.meals): Table => ({ forks, phases: t.phases.map((x, i) => (i === p ? phase : x)), meals })
    if (phase === 'thinking') return withPhase('hungry')
    if (phase === 'eating') {
      const meals = new Map(t.meals)
      meals.set(String(p), (meals.get(String(p)) ?? 0) + 1)
      return withPhase('thinking', t.forks.map((x, i) => (i === left(p) || i === right(p) ? null : x)), meals)
    }
    const first = Math.min(left(p), right(p))
    const second = Math.max(left(p), right(p))
    if (t.forks[first] === null) return { ...t, forks: t.forks.map((x, i) => (i === first ? p : x)) }
    if (t.forks[first] !== p || t.forks[second] !== null) return null
    return withPhase('eating', t.forks.map((x, i) => (i === second ? p : x)))
  }

  const start: Table = { forks: Array(n).fill(null), phases: Array(n).fill('thinking'), meals: new Map() }
  const seen = new Map<string, number>([[key(start), 0]])
  const parent: number[] = [-1]
  let level: { t: Table; id: number }[] = [{ t: start, id: 0 }]
  let transitions = 0
  let depth = 0
  if (!holds(start)) throw new Error('the start breaks a test')
  while (level.length && depth < maxDepth) {
    const next: { t: Table; id: number }[] = []
    for (const { t, id } of level) {
      for (let p = 0; p < n; p++) {
        const u = step(t, p)
        if (!u) continue
        transitions++
        const k = key(u)
        if (seen.has(k)) continue
        if (seen.size >= maxStates) return { states: seen.size, transitions, depth: depth + 1 }
        const uid = parent.length
        seen.set(k, uid)
        parent.push(id)
        if (!holds(u)) throw new Error('a test fails')
        next.push({ t: u, id: uid })
      }
    }
    level = next
    if (level.length) depth++
  }
  return { states: seen.size, transitions, depth }
}
