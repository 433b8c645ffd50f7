// Edit propagation in a shared session: how long a keystroke takes to reach
// another guest through the sync server on loopback, with 2 and with 20
// guests connected (a section of `npm run bench`).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { serve } from '../engine/host/serve.ts'
import { cellsOf } from '../engine/share/notebookDoc.ts'

export interface ShareResult {
  clients: number
  edits: number
  p50Ms: number
  p99Ms: number
}

export async function measureShare(clientCounts = [2, 20], edits = 300): Promise<ShareResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-share-'))
  const notebook = join(dir, 'counter.loom.md')
  writeFileSync(notebook, readFileSync('samples/counter.loom.md', 'utf8'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html>\n')
  const s = await serve({ notebook, port: 0, rendererDir: dir, share: { host: '127.0.0.1', debounceMs: 300 } })
  const out: ShareResult[] = []
  try {
    for (const n of clientCounts) {
      const guests = Array.from({ length: n }, () => {
        const doc = new Y.Doc()
        const provider = new WebsocketProvider(`ws://127.0.0.1:${s.share!.port}/sync`, 'notebook', doc, { params: { token: s.share!.tokens.edit }, disableBc: true, WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket })
        return { doc, provider }
      })
      await waitFor(() => guests.every((g) => g.provider.synced && cellsOf(g.doc).length > 0))
      const prose = (d: Y.Doc) => cellsOf(d).toArray().find((m) => m.get('kind') === 'prose')!.get('text') as Y.Text
      const [writer, reader] = [guests[0]!, guests[n - 1]!]
      const times: number[] = []
      for (let i = 0; i < edits; i++) {
        const mark = `·${i}·`
        const t0 = performance.now()
        prose(writer.doc).insert(0, mark)
        await waitFor(() => prose(reader.doc).toString().startsWith(mark))
        times.push(performance.now() - t0)
      }
      times.sort((a, b) => a - b)
      out.push({ clients: n, edits, p50Ms: times[Math.floor(edits * 0.5)]!, p99Ms: times[Math.min(edits - 1, Math.floor(edits * 0.99))]! })
      // The provider's awareness keeps a timer of its own, which would keep `npm run bench` from exiting.
      for (const g of guests) {
        g.provider.destroy()
        g.provider.awareness.destroy()
      }
    }
  } finally {
    await s.close()
  }
  return out
}

export function shareTable(results: ShareResult[]): string {
  const rows = results.map((r) => `| ${r.clients} | ${r.edits} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} |${r.clients >= 20 ? (r.p99Ms < 50 ? ' ✓ under 50 ms' : ' ✗ over 50 ms') : ''}`)
  return ['| guests | edits | p50 ms | p99 ms |', '|---|---|---|---|', ...rows].join('\n')
}

async function waitFor(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error('an edit did not arrive within 10 s')
    await new Promise<void>((r) => setImmediate(r))
  }
}
