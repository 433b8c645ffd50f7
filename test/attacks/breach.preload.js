// Tests only: the assume-breach switch (DESIGN §9). Imported by a confined
// engine process before its entry, and only when the launcher itself was
// started with LOOM_TEST_BREACH=1 from a source checkout (engineLaunch.ts
// testBreach): a notebook or a log cannot turn it on. It plays a broken
// node:vm sandbox: every context the engine creates gets `__breach`, the
// engine process's own `process` and `require`, so cell code can try what an
// escaped attacker would, under the process's real confinement.
import vm from 'node:vm'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const createContext = vm.createContext
vm.createContext = function (object, options) {
  const context = createContext.call(this, object, options)
  // A getter made in the context: the sandbox freezes every object reachable from its global,
  // which the host's `process` must not be (the getter's closure is not walked).
  const define = vm.runInContext('(reach) => Object.defineProperty(globalThis, "__breach", { get: () => reach() })', context)
  define(() => ({ process, require }))
  return context
}
