// What a notebook declares for exploration alone (test.symmetric,
// test.eventually, test.leadsTo, test.fair), checked before anything is
// explored: a declaration exploration cannot honour is refused at its line,
// with what to do, rather than giving a verdict it does not mean.
import { LoadError, type AppVersion } from '../runtime/executor.ts'
import { METHODS, type MethodName } from '../runtime/compile.ts'
import { whereAt } from '../protocol/loomError.ts'
import { MAX_PERMUTATIONS } from './symmetry.ts'

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1))

/** Moves treated fairly in one exploration: one bit each per edge of the state graph. */
export const MAX_FAIR = 30

/** Throws LoadError at the first declaration exploration cannot honour. */
export function checkDeclarations(path: string, version: AppVersion, recordedInputs: boolean): void {
  const orders = version.explore.symmetric.reduce((n, s) => n * factorial(s.values.length), 1)
  if (orders > MAX_PERMUTATIONS) {
    const last = version.explore.symmetric.at(-1)!
    throw new LoadError(`test.symmetric('${last.name}', …): the values declared symmetric have ${orders.toLocaleString('en')} permutations in all, more than the ${MAX_PERMUTATIONS.toLocaleString('en')} exploration tries for each state; declare fewer`, whereAt(path, last.at))
  }
  const tooMany = version.explore.liveness[15]
  if (tooMany) throw new LoadError(`test.${tooMany.kind}('${tooMany.name}', …): at most 15 liveness properties are checked in one exploration`, whereAt(path, tooMany.at))
  // Inputs are not permuted: a request naming r1 is not one naming r2. Nor is a cycle found among orbits a cycle of states.
  const symmetric = version.explore.symmetric[0]
  if (symmetric && version.explore.liveness.length) {
    throw new LoadError(`test.symmetric('${symmetric.name}', …): liveness properties (test.eventually, test.leadsTo) are not checked under symmetry, whose cycles of orbits need not be cycles of states; declare one or the other`, whereAt(path, symmetric.at))
  }
  const fair = version.explore.fair
  if (symmetric && fair.length) {
    throw new LoadError(`test.fair('${fair[0]!.name}', …): fairness is judged on cycles of states, and under test.symmetric('${symmetric.name}', …) exploration finds cycles of orbits; declare one or the other`, whereAt(path, fair[0]!.at))
  }
  for (const f of fair) {
    const has = (METHODS as readonly string[]).includes(f.method) && f.method !== 'clients' && version.methods[f.method as MethodName]
    if (!has) {
      const exported = METHODS.filter((m) => m !== 'clients' && version.methods[m]).map((m) => `${m}()`)
      throw new LoadError(`test.fair('${f.name}', '${f.method}', …): the notebook has no ${f.method}() for a fair run to take${exported.length ? `; its moves are ${exported.join(', ')}` : ''}`, whereAt(path, f.at))
    }
  }
  if (fair.length > MAX_FAIR) throw new LoadError(`test.fair('${fair[MAX_FAIR]!.name}', …): at most ${MAX_FAIR} moves are treated fairly in one exploration`, whereAt(path, fair[MAX_FAIR]!.at))
  if (symmetric && (version.methods.clients || recordedInputs)) {
    throw new LoadError(`test.symmetric('${symmetric.name}', …): exploration permutes the values of state, not the requests clients() sends or the inputs a log recorded; explore without it`, whereAt(path, symmetric.at))
  }
}
