// Deep freezing inside a vm context, shared by the app's sandbox and the REPL's
// context: plain source text, so importing it runs nothing in either.

/**
 * In-context source of `freeze(o)`: freezes an object, everything reachable
 * from its properties and its prototype chain, once each (`seen`). Shared by
 * every context Loom makes (the app's sandbox, the REPL's).
 */
export const DEEP_FREEZE = `const seen = new Set();
  const freeze = (o) => {
    if ((typeof o !== "object" && typeof o !== "function") || o === null || seen.has(o)) return;
    seen.add(o);
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d && "value" in d) freeze(d.value);
      else if (d) { freeze(d.get); freeze(d.set); }
    }
    freeze(Object.getPrototypeOf(o));
    Object.freeze(o);
  };`
