// A heap snapshot's bytes in two kinds: the program's values, and what V8 keeps
// to run it (code, feedback, shapes). As an engine runs, V8 keeps optimizing
// more of its functions (those that run once per batch of steps, not once per
// step, get there late): 0.2-0.3 MB more code at 100,000 steps than at 1,000,
// and that was all the heap a long history grew by (bench/durable.ts). Telling
// the two apart says whether the history holds anything, whatever the JIT did.
import { readFileSync } from 'node:fs'

export interface HeapKinds {
  /** The values the program can reach: objects, arrays, strings, numbers, closures and what backs them. */
  objectsMB: number
  /**
   * What V8 keeps to run the program: bytecode, machine code, feedback (V8's type 'code'), object shapes
   * (V8's 'object shape': the maps and descriptors it also makes as optimizing generalizes a field), and the
   * lists optimized code registers on the shapes it depends on (WeakArrayLists: no value of the program is one).
   */
  v8MB: number
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

/**
 * The snapshot's nodes summed by kind. A value the program keeps is counted as an object even when it has a
 * shape of its own: the shape goes to V8's side, the object's bytes stay. Nodes of types 'native' and
 * 'synthetic' are memory outside V8's heap (Node's C++ objects, buffers' bytes) or none: left out, as
 * process.memoryUsage().heapUsed leaves them out.
 */
export function heapKinds(snapshotFile: string): HeapKinds {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(snapshotFile, 'utf8')) as Snapshot
  const fields = snapshot.meta.node_fields
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number]
  const types = snapshot.meta.node_types[0]
  const [code, shape, native, synthetic] = ['code', 'object shape', 'native', 'synthetic'].map((t) => types.indexOf(t))
  let objects = 0
  let v8 = 0
  for (let i = 0; i < nodes.length; i += fields.length) {
    const kind = nodes[i + type]
    if (kind === native || kind === synthetic) continue
    if (kind === code || kind === shape || strings[nodes[i + name]!] === 'system / WeakArrayList') v8 += nodes[i + size]!
    else objects += nodes[i + size]!
  }
  return { objectsMB: objects / 2 ** 20, v8MB: v8 / 2 ** 20 }
}
