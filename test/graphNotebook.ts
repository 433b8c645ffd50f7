// The notebook the state graph tests draw, known by hand: n counts to 3
// (answer 0; at 3 nothing moves), flag flips (answer 1) — 8 states, 12 moves
// between them, two deadlocks (n = 3) — and flagged at n = 2 breaks the test,
// 3 moves from the start: n = 1, n = 2, flag.
export const FLAGS = `const n = state.var('n', 0)
const flag = state.var('flag', false)
export function step() {
  if (n.get() >= 3) sys.abort('done')
  if (sys.fork(2) === 0) n.set(n.get() + 1)
  else flag.set(!flag.get())
}
test('never flagged at 2', () => !(flag.get() && n.get() === 2))`
