// A heap snapshot's bytes in two kinds: the program's objects, and the code V8
// keeps for it. As an engine runs, V8 keeps optimizing more of its functions
// (those that run once per batch of steps, not once per step, get there late):
// 0.2-0.3 MB more code at 100,000 steps than at 1,000, and that was all the
// heap a long history grew by (bench/durable.ts). Telling the two apart says
// whether the history holds anything, whatever the JIT did meanwhile.
import { readFileSync } from 'node:fs'

export interface HeapKinds {
  /** Everything the program can reach: objects, arrays, strings, closures, their shapes. */
  objectsMB: number
  /** Bytecode, machine code, feedback and the lists optimized code registers on the shapes it depends on. */
  codeMB: number
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

/**
 * The snapshot's nodes summed by kind: those of V8's type 'code', and its WeakArrayLists, which hold no value
 * of the program (each shape's list of the optimized code that depends on it, the lists of maps and scripts
 * code keeps), count as code. Nodes of types 'native' and 'synthetic' are memory outside V8's heap (Node's
 * own C++ objects, buffers' bytes) or none: left out, as process.memoryUsage().heapUsed leaves them out.
 */
export function heapKinds(snapshotFile: string): HeapKinds {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(snapshotFile, 'utf8')) as Snapshot
  const fields = snapshot.meta.node_fields
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number]
  const types = snapshot.meta.node_types[0]
  const [code, native, synthetic] = ['code', 'native', 'synthetic'].map((t) => types.indexOf(t))
  let objects = 0
  let compiled = 0
  for (let i = 0; i < nodes.length; i += fields.length) {
    const kind = nodes[i + type]
    if (kind === native || kind === synthetic) continue
    if (kind === code || strings[nodes[i + name]!] === 'system / WeakArrayList') compiled += nodes[i + size]!
    else objects += nodes[i + size]!
  }
  return { objectsMB: objects / 2 ** 20, codeMB: compiled / 2 ** 20 }
}
