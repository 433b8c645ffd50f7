// What a vm context must not have, shared by the app's sandbox and the
// REPL's context: plain source text, so importing it runs nothing in either.

/**
 * In-context source that takes away what runs code outside every time limit
 * (a FinalizationRegistry callback runs later, from the host's event loop)
 * or blocks the thread (Atomics.wait), and gc(), which a context made while
 * the engine takes its own collector (heapRoom.ts) is born with; where `G`
 * and `instead(what, use)` are in scope.
 */
export const NO_GC_OBSERVERS = `
  G.WeakRef = instead("WeakRef", "it observes garbage collection, which replay cannot repeat");
  G.FinalizationRegistry = instead("FinalizationRegistry", "it observes garbage collection, which replay cannot repeat");
  G.SharedArrayBuffer = instead("SharedArrayBuffer", "state lives in state.* cells");
  G.gc = instead("gc()", "garbage collection is the engine's");
  G.Atomics = undefined;
  G.WebAssembly = undefined;`
