// In-context source of the predicate query (`loom query`): the REPL's
// read-only views moved from event to event. Text goes in (a batch of events
// and what each changed), text comes out (the matches), so nothing of the
// host ever reaches the expression. Plain source: importing it runs nothing.

/**
 * Runs inside the REPL's setup (evaluate.ts), where `states`, `views`,
 * `makeView`, `bind`, `bindings`, `parse`, `stringify`, `describe` and `G`
 * are in scope. Defines `__loomPredicate(f)` (once: the compiled
 * expression), `__loomQuery(batchText)` (or `__loomQuery(null)` for the batch
 * given to `feed`, which the setup returns to the evaluator before any expression
 * has run) and `__loomAt()` (the event being evaluated, asked after a time-out).
 */
export const QUERY_SETUP = `
  let predicate = null, at = 0, fed = null;
  const own = Object.prototype.hasOwnProperty;
  const setKey = (o, k, v) => Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  // An update: [0, name, kind, value] (the whole value), [1, name, key, value] (a map key set), [2, name, key] (deleted).
  const update = (u) => {
    const name = u[1];
    if (u[0] === 0) {
      if (own.call(states, name)) {
        states[name].value = u[3];
        return;
      }
      setKey(states, name, { kind: u[2], value: u[3] });
      views[name] = makeView(name);
      bind(name, views[name]);
      for (const local of keys(bindings)) if (bindings[local] === name) bind(local, views[name]);
      return;
    }
    if (!own.call(states, name)) return;
    const value = states[name].value;
    // A key written to a state that is not a map (a log changed by hand): the store kept its value, so does the view.
    if (value === null || typeof value !== "object" || Array.isArray(value)) return;
    if (u[0] === 1) setKey(value, u[2], u[3]);
    else delete value[u[2]];
  };
  const eventOf = (r) => {
    const o = r.outputs || {};
    const wrote = [];
    for (const w of r.writes || []) if (!wrote.includes(w.state)) wrote.push(w.state);
    const e = { seq: r.seq, branch: r.branch, kind: r.kind, method: r.method, time: r.time, input: r.input, choices: r.choices || [], wrote, tty: o.tty === undefined ? null : o.tty, logs: o.logs || [], http: null };
    if (r.kind === "http" && r.input && typeof r.input === "object") {
      const res = o.http && typeof o.http === "object" ? o.http : {};
      e.http = { method: r.input.method, path: r.input.path, query: r.input.query, body: r.input.body, status: res.status === undefined ? null : res.status, response: res.body === undefined ? null : res.body };
    }
    return e;
  };
  // Where in the expression it threw: the first frame of the 'query' script.
  const whereOf = (e) => {
    try {
      const m = /query:(\\d+):(\\d+)/.exec(toText(e && e.stack));
      return m ? [+m[1], +m[2]] : null;
    } catch { return null; }
  };
  const MAX_VALUE = 2000;
  const shown = (v) => {
    if (typeof v === "bigint") return toText(v);
    if (typeof v === "function") return "(a function)";
    let text;
    try { text = stringify(v); } catch (e) { return "(a value that cannot be shown: " + describe(e) + ")"; }
    if (text === undefined) return null;
    return text.length > MAX_VALUE ? text.slice(0, MAX_VALUE) + "… (" + text.length + " characters)" : parse(text);
  };
  const query = (text) => {
    const batch = parse(text === null ? fed : text);
    fed = null;
    const matches = [], errors = [];
    let count = 0, errorCount = 0, stopped = false;
    for (const item of batch.events) {
      const r = item[0];
      for (const u of item[1]) update(u);
      at = r.seq;
      let value;
      try {
        value = predicate(eventOf(r));
      } catch (e) {
        errorCount++;
        if (errors.length < batch.keepErrors) {
          const said = describe(e);
          errors.push([r.seq, said.length > 500 ? said.slice(0, 500) + "…" : said, whereOf(e)]);
        }
        continue;
      }
      if (!value) continue;
      count++;
      if (matches.length < batch.keep) matches.push([r.seq, value === true ? null : shown(value)]);
      if (batch.first) { stopped = true; break; }
    }
    return stringify({ matches, count, errors, errorCount, stopped });
  };
  const hidden = (name, value) => Object.defineProperty(G, name, { value, writable: false, enumerable: false, configurable: false });
  hidden("__loomPredicate", (f) => { if (predicate === null && typeof f === "function") predicate = f; });
  hidden("__loomQuery", query);
  hidden("__loomAt", () => at);
  // Called by the evaluator with a primitive string, never by the expression: the batch goes in
  // without the evaluator writing to the context's global (an accessor put there would run outside the limit).
  const feed = (text) => { fed = text; };
`
