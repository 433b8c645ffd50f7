// Symmetry reduction (TLC's SYMMETRY): values declared with test.symmetric
// can be permuted, and states equal up to a permutation are one state.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { notebook } from './helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const dir = mkdtempSync(join(tmpdir(), 'loom-symmetry-'))
const file = (name: string, cells: Record<string, string>) => {
  const path = join(dir, name)
  writeFileSync(path, notebook(cells))
  return path
}
const json = (args: string[]) => {
  const r = loom(['explore', ...args, '--json'])
  assert.ok(r.stdout, r.stderr)
  return JSON.parse(r.stdout)
}

// n identical processes, each in one of k local states; a step sets any one to any state.
// Every one of the k^n assignments is reachable; up to renaming the processes, a state is how
// many processes are in each local state: a multiset, C(n+k-1, k-1) of them.
const processes = (n: number, k: number, symmetric: boolean, extra = '') => file(`p${n}k${k}${symmetric}${extra ? 'x' : ''}.loom.md`, {
  s: `const P = ${JSON.stringify(Array.from({ length: n }, (_, i) => `p${i + 1}`))}
const local = state.map<number>('local', Object.fromEntries(P.map((p) => [p, 0])))
${symmetric ? "test.symmetric('processes', P)" : ''}
export function step() {
  const p = P[sys.fork(P.length)]!
  local.set(p, sys.fork(${k}))
}
${extra}`,
})

const choose = (n: number, r: number): number => (r === 0 ? 1 : (choose(n - 1, r - 1) * n) / r)

test('n identical processes in k local states: k^n states, and C(n+k-1, k-1) up to a permutation of the processes, on one thread and on two', () => {
  for (const [n, k] of [[3, 3], [4, 3], [3, 4]] as const) {
    assert.equal(json([processes(n, k, false), '--no-deadlock']).states, k ** n)
    for (const workers of ['1', '2']) {
      const r = json([processes(n, k, true), '--workers', workers])
      assert.deepEqual([r.states, r.exhausted, r.violations], [choose(n + k - 1, k - 1), true, []], `n=${n} k=${k} --workers ${workers}`)
    }
  }
})

test('a state.set of symmetric values: the subsets of three names are 8 states, and 4 up to renaming them (by size)', () => {
  const joined = (symmetric: boolean) => file(`joined${symmetric}.loom.md`, {
    s: `const P = ['ann', 'bob', 'cy']
const joined = state.set<string>('joined')
${symmetric ? "test.symmetric('people', P)" : ''}
export function step() {
  const p = P[sys.fork(P.length)]!
  if (joined.has(p)) sys.abort('already in')
  joined.add(p)
}`,
  })
  for (const workers of ['1', '2']) {
    assert.equal(json([joined(false), '--no-deadlock', '--workers', workers]).states, 8)
    assert.equal(json([joined(true), '--no-deadlock', '--workers', workers]).states, 4)
  }
})

test('TCommit with its RMs declared symmetric (--env SYMMETRY=RM): 13 states, one per multiset of RM states, instead of 34', () => {
  assert.equal(json(['samples/tcommit.loom.md', '--no-deadlock']).states, 34)
  assert.equal(json(['samples/tcommit.loom.md', '--no-deadlock', '--env', 'SYMMETRY=RM']).states, 13)
})

test('a violation found under symmetry has a real trace: it is the shortest, and saved as a branch it replays and verifies', () => {
  const nb = processes(3, 3, true, "test('no two processes are in state 2', () => ['p1', 'p2', 'p3'].filter((p) => local.get(p) === 2).length < 2)")
  const db = join(dir, 'sym.loom.db')
  const r = json([nb, '--save-branch', 'two', '--db', db])
  assert.equal(r.violations[0].test, 'no two processes are in state 2')
  assert.equal(r.violations[0].trace.length, 2)
  const verify = loom(['replay', db, '--branch', 'two', '--verify'])
  assert.equal(verify.status, 0, verify.stdout + verify.stderr)
  const state = JSON.parse(loom(['state', db, '--branch', 'two', '--json']).stdout)
  assert.equal(Object.values(state.local as Record<string, number>).filter((v) => v === 2).length, 2, 'the state at its head is the violating one')
})

test('test.symmetric refuses what it cannot permute: fewer than two values, repeats, non-strings, requests from clients()', () => {
  for (const [decl, says] of [
    ["test.symmetric('x', ['a'])", /test\.symmetric\(name, values\): a name and an array of at least two distinct strings/],
    ["test.symmetric('x', ['a', 'a'])", /at least two distinct strings/],
    ["test.symmetric('x', [1, 2])", /at least two distinct strings/],
    ["test.symmetric('x', null)", /at least two distinct strings/],
    ["test.symmetric('x', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])", /test\.symmetric\('x', …\): the values declared symmetric have 40,320 permutations in all, more than the 5,040 exploration tries for each state; declare fewer/],
  ] as const) {
    const r = loom(['explore', file(`bad${decl.length}${decl.charCodeAt(22)}.loom.md`, { s: `const v = state.var('v', 0)\n${decl}\nexport function step() { v.set(1) }` })])
    assert.equal(r.status, 2, decl + r.stdout)
    assert.match(r.stderr, says)
  }
  const clients = file('clients.loom.md', {
    s: `const v = state.var('v', 'a')
test.symmetric('names', ['a', 'b'])
export function http() { v.set('b'); return { status: 200, body: '' } }
export function clients() { return { method: 'POST', path: '/' } }`,
  })
  const r = loom(['explore', clients])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /test\.symmetric\('names', …\): exploration permutes the values of state, not the requests clients\(\) sends/)
  assert.equal(loom(['test', clients]).status, 0, 'loom test and run ignore it')
})
