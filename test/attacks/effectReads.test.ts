// Safe reads under attack from the other side: a server that drips its answer,
// grants and paths spelled the ways people (and attackers) spell them. Each
// read is performed for real, on loopback or in a temporary folder.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { performEffect } from '../../engine/runtime/effects/perform.ts'
import { parseGrants, type Grants } from '../../engine/runtime/effects/grants.ts'
import { fsRead, httpGet } from '../../engine/runtime/effects/request.ts'
import { grantedPerformer } from '../../engine/runtime/effects/grantedPerformer.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-effect-reads-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** A loopback server: `/drip` answers 200 and then one byte every 50 ms, for ever; anything else answers 'rate 1.25'. */
async function server(): Promise<{ port: number; close: () => void }> {
  const dripping = new Set<ServerResponse>()
  const s = createServer((req, res) => {
    if (req.url !== '/drip') return void res.end('rate 1.25')
    res.writeHead(200)
    dripping.add(res)
    const t = setInterval(() => res.write('x'), 50)
    res.on('close', () => (clearInterval(t), dripping.delete(res)))
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return { port: (s.address() as AddressInfo).port, close: () => (dripping.forEach((r) => r.destroy()), s.close()) }
}

function grants(fm: unknown): Grants {
  const g = parseGrants(fm)
  assert.equal(typeof g, 'object', String(g))
  return g as Grants
}

test('attack: a server that drips its answer a byte at a time cannot hold a read past its time limit', async () => {
  const srv = await server()
  const asked = httpGet(grants({ http: ['http://127.0.0.1:*'] }), `http://127.0.0.1:${srv.port}/drip`, undefined)
  assert.ok('request' in asked)
  // Every byte renews an idle timeout; the limit is on the whole read. Bounded here, so a read held for ever fails the test.
  const held = new Promise((r) => setTimeout(() => r('still reading after 15 s'), 15_000).unref())
  const answer = await Promise.race([performEffect({ ...asked.request, timeoutMs: 1000 } as typeof asked.request, dir), held]).finally(srv.close)
  assert.deepEqual(answer, { error: 'no complete answer within 1000 ms' })
})

test('a grant spelled the way a URL may spell its host (2130706433, 127.1, [0:0:0:0:0:0:0:1], port 08080, an IDN) grants what the URL reads', async () => {
  const srv = await server()
  try {
    for (const host of ['2130706433', '127.1', '0x7f.0.0.1']) {
      const asked = httpGet(grants({ http: [`http://${host}:${srv.port}`] }), `http://${host}:${srv.port}/`, undefined)
      assert.ok('request' in asked, `${host}: ${'denied' in asked ? asked.denied : ''}`)
      const answer = await performEffect(asked.request, dir)
      assert.deepEqual(['status' in answer && answer.status, 'body' in answer && answer.body], [200, 'rate 1.25'])
    }
  } finally {
    srv.close()
  }
  assert.ok('request' in httpGet(grants({ http: ['http://127.0.0.1:08080'] }), 'http://127.0.0.1:8080/', undefined))
  assert.ok('request' in httpGet(grants({ http: ['http://[0:0:0:0:0:0:0:1]:8080'] }), 'http://[::1]:8080/', undefined))
  assert.ok('request' in httpGet(grants({ http: ['https://bücher.example'] }), 'https://xn--bcher-kva.example/', undefined))
  // Still one origin each: a name is not an address, another port is another origin.
  assert.match((httpGet(grants({ http: ['http://2130706433:8080'] }), 'http://localhost:8080/', undefined) as { denied: string }).denied, /origin http:\/\/localhost:8080 is not granted/)
  assert.match((httpGet(grants({ http: ['http://127.1:8080'] }), 'http://127.0.0.1:8081/', undefined) as { denied: string }).denied, /origin http:\/\/127\.0\.0\.1:8081 is not granted/)
  assert.equal(typeof parseGrants({ http: ['http://127.0.0.1:99999'] }), 'string', 'a port past 65535 is no origin')
  assert.equal(typeof parseGrants({ http: ['http://127.0.0.1:080800'] }), 'string', 'nor is a port of six digits')
})

test('a file root at / reads the files under it, and a path that names the root itself says so at the cell', async () => {
  writeFileSync(join(dir, 'under-root.txt'), 'found')
  const all = grants({ fs: { all: { path: '/' } } })
  const asked = fsRead(all, 'all', join(dir, 'under-root.txt').slice(1))
  assert.ok('request' in asked)
  assert.deepEqual(await performEffect(asked.request, dir), { text: 'found' })
  for (const path of ['.', './', './/.'])
    assert.equal((fsRead(all, 'all', path) as { denied: string }).denied, `sys.fs.read("all", ${JSON.stringify(path)}): the path names the root itself; name a file inside the root 'all'`)
})

test('a read the launcher refuses (the saved file grants less than the running code) names the call once and says where the grant is read', async () => {
  const nb = join(dir, 'granted.loom.md')
  writeFileSync(nb, "---\neffects: { http: ['http://127.0.0.1:1'] }\n---\n")
  const performer = grantedPerformer(nb, "---\neffects: { http: ['http://127.0.0.1:1'] }\n---\n", async () => {})
  await assert.rejects(performer.perform({ kind: 'http.get', url: 'http://127.0.0.1:2/', headers: {} }), {
    message: "the origin http://127.0.0.1:2 is not granted; add it to `effects.http` in the front matter (as the notebook's file grants it)",
  })
})
