// PaxosCommit (tlaplus/Examples, transaction_commit/PaxosCommit.tla) searched
// breadth first by hand in plain TypeScript, written from the TLA+ and not
// from the notebook: the independent count the sample's is checked against
// (the published configuration gives TLC's 1,321,761 distinct states).
import type { SearchCount } from './philosophersBfs.ts'

export interface PaxosConfig {
  rms: number
  acceptors: number
  ballots: number
}

/** Messages are short texts, a state is rmState|aState|sorted msgs: equal texts, equal states. */
export function paxosCommitBfs(c: PaxosConfig, maxStates = Infinity): SearchCount {
  const RM = range(c.rms)
  const Acc = range(c.acceptors)
  const Ballot = range(c.ballots)
  const size = Math.floor(c.acceptors / 2) + 1
  const Majority: number[][] = []
  for (let bits = 0; bits < 2 ** c.acceptors; bits++) {
    const ms = Acc.filter((a) => bits & (1 << a))
    if (ms.length === size) Majority.push(ms)
  }
  type S = { rm: string[]; acc: { mbal: number; bal: number; val: string }[]; msgs: Set<string> }
  const ai = (ins: number, a: number) => ins * c.acceptors + a
  const key = (s: S) => `${s.rm.join()}|${s.acc.map((a) => `${a.mbal}.${a.bal}.${a.val}`).join()}|${[...s.msgs].sort().join()}`
  const send = (s: S, m: string, change: Partial<S> = {}): S => ({ ...s, ...change, msgs: new Set(s.msgs).add(m) })
  const withRm = (s: S, rm: number, v: string): S => ({ ...s, rm: s.rm.map((x, i) => (i === rm ? v : x)) })
  const withAcc = (s: S, i: number, v: S['acc'][number]) => s.acc.map((x, j) => (j === i ? v : x))

  const next = (s: S): S[] => {
    const out: S[] = []
    for (const rm of RM) {
      if (s.rm[rm] === 'working') {
        out.push(send(withRm(s, rm, 'prepared'), `2a ${rm} 0 prepared`))
        out.push(send(withRm(s, rm, 'aborted'), `2a ${rm} 0 aborted`))
      }
      if (s.msgs.has('Commit')) out.push(withRm(s, rm, 'committed'))
      if (s.msgs.has('Abort')) out.push(withRm(s, rm, 'aborted'))
    }
    for (const bal of Ballot.slice(1)) {
      for (const rm of RM) {
        out.push(send(s, `1a ${rm} ${bal}`))
        if (s.msgs.has(`2a ${rm} ${bal} prepared`) || s.msgs.has(`2a ${rm} ${bal} aborted`)) continue
        for (const MS of Majority) {
          const mset = [...s.msgs].map((m) => m.split(' ')).filter((m) => m[0] === '1b' && m[1] === `${rm}` && m[2] === `${bal}` && MS.includes(Number(m[5])))
          if (!MS.every((a) => mset.some((m) => Number(m[5]) === a))) continue
          const maxbal = Math.max(-1, ...mset.map((m) => Number(m[3])))
          const val = maxbal === -1 ? 'aborted' : mset.find((m) => Number(m[3]) === maxbal)![4]
          out.push(send(s, `2a ${rm} ${bal} ${val}`))
        }
      }
    }
    const decided = (rm: number, v: string) => Ballot.some((b) => Majority.some((MS) => MS.every((a) => s.msgs.has(`2b ${a} ${rm} ${b} ${v}`))))
    if (RM.every((rm) => decided(rm, 'prepared'))) out.push(send(s, 'Commit'))
    if (RM.some((rm) => decided(rm, 'aborted'))) out.push(send(s, 'Abort'))
    for (const a of Acc) {
      for (const text of s.msgs) {
        const m = text.split(' ')
        const ins = Number(m[1])
        const bal = Number(m[2])
        const st = s.acc[ai(ins, a)]!
        if (m[0] === '1a' && st.mbal < bal) {
          out.push(send(s, `1b ${ins} ${bal} ${st.bal} ${st.val} ${a}`, { acc: withAcc(s, ai(ins, a), { ...st, mbal: bal }) }))
        } else if (m[0] === '2a' && st.mbal <= bal) {
          out.push(send(s, `2b ${a} ${ins} ${bal} ${m[3]}`, { acc: withAcc(s, ai(ins, a), { mbal: bal, bal, val: m[3]! }) }))
        }
      }
    }
    return out
  }

  const start: S = { rm: RM.map(() => 'working'), acc: RM.flatMap(() => Acc.map(() => ({ mbal: 0, bal: -1, val: 'none' }))), msgs: new Set() }
  const seen = new Set<string>([key(start)])
  let level = [start]
  let transitions = 0
  let depth = 0
  while (level.length) {
    const found: S[] = []
    for (const s of level) {
      for (const t of next(s)) {
        transitions++
        const k = key(t)
        if (seen.has(k)) continue
        if (seen.size >= maxStates) return { states: seen.size, transitions, depth: depth + 1 }
        seen.add(k)
        found.push(t)
      }
    }
    level = found
    if (level.length) depth++
  }
  return { states: seen.size, transitions, depth }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}
